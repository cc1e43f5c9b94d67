"""Distances between distributions over bitstrings.

Exact metrics take two big-endian probability vectors of length ``2**n``;
sample-based estimators take sample sets ``[N, n]`` of ``uint8`` bits, or the
same information as *counts*: distinct rows and how often each occurs. The
counts form is what the bootstrap resamples (see :mod:`qgenflow.metrics.bootstrap`).

The MMD here is always the **squared** MMD under the Gaussian mixture kernel of
:mod:`qgenflow.kernels` (the Liu & Wang loss convention). The kernel is never
built as a ``2^n x 2^n`` matrix: dense histograms use its product structure
(:func:`qgenflow.kernels.apply_kernel`), larger problems use kernel blocks
between distinct rows, a chunk at a time.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..bits import bits_to_index, unique_counts
from ..kernels import DENSE_MAX_BITS, _as_rows, mmd2_exact, mmd2_from_counts, mmd2_samples

__all__ = [
    "DENSE_MAX_BITS",
    "mmd2_probs",
    "kl_divergence",
    "total_variation",
    "classical_fidelity",
    "mmd2_samples",
    "mmd2_from_counts",
    "pool_rows",
    "tv_from_counts",
    "total_variation_samples",
    "kl_smoothed_from_counts",
    "kl_smoothed_samples",
]

log = logging.getLogger(__name__)



# --------------------------------------------------------------------------- exact


def _prob_pair(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    if p.shape != q.shape:
        raise ValueError(f"probability vectors differ in length: {p.size} vs {q.size}")
    return p, q


def mmd2_probs(p: np.ndarray, q: np.ndarray, sigmas: Sequence[float]) -> float:
    """Exact squared MMD between two probability vectors under the mixture kernel over ``sigmas``."""
    p, q = _prob_pair(p, q)
    return mmd2_exact(p, q, sigmas)


def kl_divergence(p_target: np.ndarray, q_model: np.ndarray, eps: float = 1e-12) -> float:
    """KL(target || model) in nats, with ``q_model`` floored at ``eps`` so it stays finite.

    Terms with ``p_target == 0`` contribute nothing.
    """
    p, q = _prob_pair(p_target, q_model)
    mask = p > 0
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(np.maximum(q[mask], eps)))))


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance ``0.5 * sum |p - q|`` (0 = equal, 1 = disjoint supports)."""
    p, q = _prob_pair(p, q)
    return float(0.5 * np.abs(p - q).sum())


def classical_fidelity(p: np.ndarray, q: np.ndarray) -> float:
    """Classical (Bhattacharyya) fidelity ``(sum sqrt(p q))^2`` (1 = equal distributions)."""
    p, q = _prob_pair(p, q)
    return float(np.sum(np.sqrt(np.clip(p, 0.0, None) * np.clip(q, 0.0, None))) ** 2)


# --------------------------------------------------------------------------- sample TV and KL


def pool_rows(x_rows: np.ndarray, y_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of both sets, and where each row of ``x_rows`` / ``y_rows`` sits among them.

    Returns:
        ``(rows, x_index, y_index)`` with ``rows[x_index] == x_rows``.
    """
    x_rows, y_rows = _as_rows(x_rows, "x_rows"), _as_rows(y_rows, "y_rows")
    rows, inverse = np.unique(np.concatenate([x_rows, y_rows]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return rows, inverse[: x_rows.shape[0]], inverse[x_rows.shape[0] :]


def tv_from_counts(x_counts: np.ndarray, y_counts: np.ndarray) -> float | np.ndarray:
    """Total variation between two histograms given as counts over the same rows (``[K]`` or ``[B, K]``).

    Bitstrings absent from both sets contribute 0, so this equals the TV of the
    dense ``2**n`` empirical histograms.
    """
    x_w = np.asarray(x_counts, dtype=np.float64)
    y_w = np.asarray(y_counts, dtype=np.float64)
    tv = 0.5 * np.abs(x_w / x_w.sum(-1, keepdims=True) - y_w / y_w.sum(-1, keepdims=True)).sum(-1)
    return float(tv) if np.ndim(tv) == 0 else tv


def total_variation_samples(x: np.ndarray, y: np.ndarray) -> float:
    """Total variation between the empirical distributions of two sample sets."""
    x_rows, x_counts = unique_counts(_as_rows(x, "x"))
    y_rows, y_counts = unique_counts(_as_rows(y, "y"))
    rows, ix, iy = pool_rows(x_rows, y_rows)
    cx = np.zeros(rows.shape[0])
    cy = np.zeros(rows.shape[0])
    cx[ix] = x_counts
    cy[iy] = y_counts
    return tv_from_counts(cx, cy)


def kl_smoothed_from_counts(
    p_target: np.ndarray, model_index: np.ndarray, model_counts: np.ndarray, pseudo_count: float = 0.5
) -> float | np.ndarray:
    """KL(target || smoothed model histogram), the model given as counts at distinct indices.

    The model histogram gets ``pseudo_count`` added to every one of the ``2**n``
    bitstrings, ``q(z) = (c(z) + a) / (M + a 2^n)``, so the divergence is finite
    even where the model drew no sample. It is a biased, consistent estimator of
    KL(target || model); the bias shrinks as ``M`` grows past ``2**n``.

    Args:
        p_target: exact target probabilities, length ``2**n``.
        model_index: big-endian indices of the distinct model bitstrings ``[K]``.
        model_counts: counts at those indices, ``[K]`` or a batch ``[B, K]``.
        pseudo_count: additive smoothing ``a`` per bitstring (> 0).
    """
    if pseudo_count <= 0:
        raise ValueError(f"pseudo_count must be > 0, got {pseudo_count}")
    p = np.asarray(p_target, dtype=np.float64).reshape(-1)
    index = np.asarray(model_index, dtype=np.int64)
    if np.unique(index).size != index.size:
        raise ValueError("model_index must hold distinct bitstrings")
    counts = np.asarray(model_counts, dtype=np.float64)
    mask = p > 0
    neg_entropy = float(np.sum(p[mask] * np.log(p[mask])))
    p_total = float(p.sum())
    p_seen = p[index]
    norm = np.log(counts.sum(-1) + pseudo_count * p.size)
    # -sum_z p(z) log q(z), split into bitstrings the model drew and the rest (count 0).
    cross = (
        -(np.log(counts + pseudo_count) @ p_seen)
        - (p_total - float(p_seen.sum())) * np.log(pseudo_count)
        + p_total * norm
    )
    kl = neg_entropy + cross
    return float(kl) if np.ndim(kl) == 0 else kl


def kl_smoothed_samples(p_target: np.ndarray, model_samples: np.ndarray, pseudo_count: float = 0.5) -> float:
    """KL(target || model histogram smoothed with ``pseudo_count`` per bitstring), from model samples."""
    rows, counts = unique_counts(_as_rows(model_samples, "model_samples"))
    return kl_smoothed_from_counts(p_target, bits_to_index(rows), counts, pseudo_count)
