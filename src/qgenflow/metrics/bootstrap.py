"""Bootstrap errors for sample-based metrics, resampling counts instead of rows.

Drawing ``N`` samples with replacement from a set of ``N`` samples is a
multinomial draw of ``N`` over its distinct rows, with probabilities equal to
their observed frequencies. Resampling counts costs ``O(distinct rows)`` per
replicate and lets a statistic reuse structure computed once for the rows
(dense indices, kernel blocks) across a whole batch of replicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["BootstrapResult", "resample_counts", "bootstrap"]

log = logging.getLogger(__name__)

# Count entries held at once across all sides of one batch of replicates (~64 MiB of float64).
_BATCH_ENTRIES = 1 << 23


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap distribution of a statistic: standard error and 95% percentile interval.

    ``stderr``, ``low`` and ``high`` have the statistic's shape; ``replicates`` has
    a leading axis over resamples.
    """

    stderr: np.ndarray
    low: np.ndarray
    high: np.ndarray
    replicates: np.ndarray


def resample_counts(counts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` bootstrap replicates ``[size, K]`` of a count vector ``[K]``, each summing to ``counts.sum()``."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    total = int(counts.sum())
    if total == 0:
        raise ValueError("cannot resample an empty sample set")
    return rng.multinomial(total, counts / total, size=size)


def bootstrap(
    stat_fn: Callable[..., np.ndarray],
    counts: Sequence[np.ndarray],
    n_resamples: int,
    rng: np.random.Generator,
    *,
    batch_size: int | None = None,
) -> BootstrapResult:
    """Bootstrap a statistic of one or more independent sample sets given as counts.

    Every sample set is resampled independently (a multinomial draw over its
    distinct rows) in each replicate.

    Args:
        stat_fn: called as ``stat_fn(c_1, ..., c_k)`` with one ``[b, K_i]`` array of
            replicate counts per sample set; returns ``[b]`` or ``[b, m]`` values.
        counts: the observed count vectors ``[K_i]``, one per sample set.
        n_resamples: number of bootstrap replicates (>= 2).
        rng: the generator all draws come from (pass a seeded one).
        batch_size: replicates per call of ``stat_fn``; by default as many as fit
            a fixed memory budget.

    Returns:
        The standard deviation of the replicates (ddof=1) and their 2.5/97.5 percentiles.
    """
    if n_resamples < 2:
        raise ValueError(f"n_resamples must be >= 2, got {n_resamples}")
    if not counts:
        raise ValueError("bootstrap needs at least one count vector")
    counts = [np.asarray(c, dtype=np.int64).reshape(-1) for c in counts]
    if batch_size is None:
        width = sum(c.size for c in counts)
        batch_size = max(1, _BATCH_ENTRIES // max(width, 1))
    batch_size = min(batch_size, n_resamples)
    chunks = []
    for start in range(0, n_resamples, batch_size):
        size = min(batch_size, n_resamples - start)
        draws = [resample_counts(c, size, rng) for c in counts]
        values = np.asarray(stat_fn(*draws), dtype=np.float64)
        if values.shape[:1] != (size,):
            raise ValueError(f"stat_fn returned shape {values.shape} for a batch of {size} replicates")
        chunks.append(values)
    replicates = np.concatenate(chunks, axis=0)
    low, high = np.percentile(replicates, [2.5, 97.5], axis=0)
    log.debug("bootstrap: %d replicates in batches of %d", n_resamples, batch_size)
    return BootstrapResult(stderr=replicates.std(axis=0, ddof=1), low=low, high=high, replicates=replicates)
