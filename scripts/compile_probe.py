"""Does torch.compile pay here? (issue 19) The update's forward + loss + backward at
``sb3_matched``'s sizes (one seed, CartPole, n_steps 5), eager against ``torch.compile`` (CPU
inductor), at 1, 8 and 64 envs: the compiled first call (compiling included) and the time per
call after 50 warm-up calls (500 timed; not alternated, so run it on a quiet machine).

    python scripts/compile_probe.py

Measured 2026-12-06 on this 2-core machine with other jobs beside it: eager 477 / 533 / 978 us
per call at 1 / 8 / 64 envs, compiled 518 / 537 / 1104 us, its first call 24.3 s (6.2 s more
for the 8-env shape): no gain to pay 24 s of compiling for, so the hot path stays eager.
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
from a2c_lab.bench.runners import compose  # noqa: E402
from a2c_lab.training.networks import ActorCritic  # noqa: E402

torch.set_num_threads(1)
cfg = compose(["experiment=sb3_matched"])


def make():
    return ActorCritic(4, 2, cfg.network, init_seeds=[0])


def loss_fn(model, obs, actions, adv, targets):
    logits, values = model(obs)
    logp = torch.log_softmax(logits, -1).gather(-1, actions[..., None]).squeeze(-1)
    return (-(logp * adv).mean(1) + 0.5 * (values - targets).square().mean(1)).sum()


for n in (1, 8, 64):
    rows = 5 * n
    obs = torch.randn(1, rows, 4); actions = torch.randint(0, 2, (1, rows)); adv = torch.randn(1, rows); targets = torch.randn(1, rows)
    res = {}
    for kind in ("eager", "compiled"):
        model = make()
        f = loss_fn if kind == "eager" else torch.compile(loss_fn)
        t = time.perf_counter(); f(model, obs, actions, adv, targets).backward(); first = time.perf_counter() - t
        for _ in range(50): f(model, obs, actions, adv, targets).backward()
        t = time.perf_counter()
        for _ in range(500):
            model.zero_grad(set_to_none=True); f(model, obs, actions, adv, targets).backward()
        res[kind] = ((time.perf_counter() - t) / 500 * 1e6, first)
    print(f"{n} envs: eager {res['eager'][0]:.0f} us/call; compiled {res['compiled'][0]:.0f} us/call, first call (compile) {res['compiled'][1]:.1f} s", flush=True)
