"""Uniform distribution over all n-bit strings (the tutorial's 3-bit example)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..bits import sample_from_probs
from .base import Target

__all__ = ["make_uniform"]


def make_uniform(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Uniform target; ``spec`` has ``n_bits`` and ``n_samples``."""
    n = int(spec["n_bits"])
    probs = np.full(2**n, 1.0 / 2**n)
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    return Target(n_qubits=n, samples=samples, probs=probs, attrs={"support_size": 2**n})
