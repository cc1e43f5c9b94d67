"""Bars-and-stripes: every grid whose rows are all constant or whose columns are.

Bits are the grid read row-major: bit ``r * cols + c`` is cell (r, c).
BAS(m, n) has ``2^m + 2^n - 2`` distinct patterns (the blank and full grids are
both bars and stripes); the target is uniform over them.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

import numpy as np

from ..bits import bits_to_index, sample_from_probs
from .base import Target

__all__ = ["bas_patterns", "make_bars_and_stripes"]


def bas_patterns(rows: int, cols: int) -> np.ndarray:
    """All distinct bars-and-stripes patterns as [P, rows*cols] uint8, sorted by index."""
    patterns = []
    for row_bits in itertools.product((0, 1), repeat=rows):  # stripes: constant rows
        patterns.append(np.repeat(np.array(row_bits, dtype=np.uint8)[:, None], cols, axis=1))
    for col_bits in itertools.product((0, 1), repeat=cols):  # bars: constant columns
        patterns.append(np.repeat(np.array(col_bits, dtype=np.uint8)[None, :], rows, axis=0))
    flat = np.unique(np.stack([p.reshape(-1) for p in patterns]), axis=0)
    return flat[np.argsort(bits_to_index(flat))]


def make_bars_and_stripes(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Uniform target over BAS(rows, cols); ``spec`` has ``rows``, ``cols``, ``n_samples``."""
    rows, cols = int(spec["rows"]), int(spec["cols"])
    patterns = bas_patterns(rows, cols)
    n = rows * cols
    probs = np.zeros(2**n)
    probs[bits_to_index(patterns)] = 1.0 / len(patterns)
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    return Target(
        n_qubits=n,
        samples=samples,
        probs=probs,
        extra={"patterns": patterns},
        attrs={"rows": rows, "cols": cols, "support_size": len(patterns)},
    )
