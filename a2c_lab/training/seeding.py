"""Every random stream of a run, derived from its seed alone.

``numpy.random.SeedSequence(seed).spawn`` gives independent children: no two seeds share a
stream, and a seed's streams do not depend on which other seeds train beside it in a group or
at which position. (Seeding env i with ``seed + i`` made seeds 0 and 1 share 7 of their 8 env
streams.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    train_envs: np.random.SeedSequence  # the training envs' reset seeds
    eval_envs: np.random.SeedSequence  # the greedy evaluation envs' reset seeds
    init: int  # torch seed of the initial weights
    acting: np.random.SeedSequence  # the action sampler's numpy generator


def streams(seed: int) -> Streams:
    train_envs, eval_envs, init, acting = np.random.SeedSequence(seed).spawn(4)
    return Streams(train_envs, eval_envs, int(init.generate_state(1, np.uint64)[0] >> 1), acting)


def env_seeds(sequence: np.random.SeedSequence, count: int) -> list[int]:
    """``count`` reset seeds from a stream, the same ones every time it is asked."""
    return [int(s) for s in sequence.generate_state(count)]


def segment_stream(sequence: np.random.SeedSequence, segment: int) -> np.random.SeedSequence:
    """The stream of a run's ``segment``: the stream itself for the first (0), else its child
    number ``segment``, so a resumed run's envs restart from reset seeds of their own, the same
    whichever group resumes it."""
    if segment == 0:
        return sequence
    return np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, segment),
                                  pool_size=sequence.pool_size)
