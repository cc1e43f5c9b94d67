"""Seeded random streams, one per purpose, so stages never share or reuse draws."""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "make_rng"]

STREAMS = {
    "target": 0,
    "model_init": 1,
    "model_sample": 2,
    "evaluation": 3,
    "holdout": 4,
    "reference": 5,
    # Initial IQP angles of the Z-string estimator (data-informed start plus noise).
    "estimator_init": 102,
}


def make_rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator for ``stream`` (a key of :data:`STREAMS`) under ``seed``."""
    return np.random.default_rng([int(seed), STREAMS[stream]])
