"""Seeded random streams, one per purpose, so stages never share or reuse draws.

Every generator in qgenflow comes from :func:`make_rng` with a stream named here;
a stream's number never changes (results depend on it), and no two purposes share one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "make_rng"]

STREAMS = {
    "target": 0,
    "model_init": 1,
    "model_sample": 2,
    "evaluation": 3,  # bootstrap resamples of the metrics
    "holdout": 4,
    "reference": 5,
    "iqp_circuit": 11,  # a target's IQP circuit, under its circuit_seed
    "estimator_steps": 101,  # per-step Z-string and sample draws of the IQP estimator (with the step)
    "estimator_init": 102,  # initial IQP angles of the estimator (data-informed start plus noise)
}


def make_rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    """An independent generator for ``stream`` (a key of :data:`STREAMS`) under ``seed``.

    ``more`` refines the stream (e.g. a step number): ``[seed, stream, *more]`` seeds it.
    """
    return np.random.default_rng([int(seed), STREAMS[stream], *(int(x) for x in more)])
