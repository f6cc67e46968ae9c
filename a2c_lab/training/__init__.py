"""The A2C core, S seeds of one config at once: seed, build, collect -> estimate -> update.

==============  ===================================================================
module          job
==============  ===================================================================
trainer         ``train`` / ``train_group``: set-up, resume, the loop on one screen
seed_runs       each seed's tracker, history, checkpoints and result; which still train
preflight       what is refused before a run starts (task, backend, device, processes)
seeding         every random stream of a seed, from ``SeedSequence(seed)``
envs            the only module that knows gymnasium's API
rollout         named [T, S, N] tensors and the collector
networks        one stacked network for S seeds (acting and learning)
distributions   Categorical or diagonal Gaussian, decided from the action space
normalization   per-seed observation and reward normalisation (VecNormalize's defaults)
policy          what model.pt holds, and ``load_policy`` (a run folder -> obs -> action)
advantages      td / nstep / gae, pure functions on [T, ...] tensors
agents          the update: losses per seed, per-seed clipping, ``torch.optim``
evaluation      greedy evaluation of one seed
==============  ===================================================================

Imports: ``a2c_lab.config``, ``a2c_lab.validation`` and ``a2c_lab.runs`` (it writes every file through the run-folder
side: tracking, checkpoints, status); never ``sweeps``, ``analysis`` or Hydra itself
(``tests/test_layout.py`` holds these rules).
"""
