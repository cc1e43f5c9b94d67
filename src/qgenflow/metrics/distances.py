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
from ..kernels import apply_kernel, hamming_distances, kernel_from_hamming, mmd2_exact

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

#: Largest number of bits for which the sample MMD may use dense ``2**n`` histograms.
DENSE_MAX_BITS = 20
# Entries of one kernel block (rows x columns) in the distinct-row path: ~32 MiB of float64.
_BLOCK_ENTRIES = 1 << 22


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


# --------------------------------------------------------------------------- sample MMD


def _as_rows(rows: np.ndarray, name: str) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [rows, n_bits] array, got shape {rows.shape}")
    return rows.astype(np.uint8, copy=False)


def _as_count_batch(counts: np.ndarray, n_rows: int, name: str) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[None, :] if counts.ndim == 1 else counts
    if counts.ndim != 2 or counts.shape[1] != n_rows:
        raise ValueError(f"{name} must have shape [{n_rows}] or [batch, {n_rows}], got {counts.shape}")
    return counts


def _dense_forms(
    x_rows: np.ndarray, x_w: np.ndarray, y_rows: np.ndarray, y_w: np.ndarray, sigmas: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x'Kx``, ``y'Ky``, ``x'Ky`` per batch row and bandwidth, via dense histograms."""
    size = 2 ** x_rows.shape[1]
    ix, iy = bits_to_index(x_rows), bits_to_index(y_rows)
    shape = (x_w.shape[0], len(sigmas))
    xx, yy, xy = np.empty(shape), np.empty(shape), np.empty(shape)
    for b in range(x_w.shape[0]):
        vx = np.bincount(ix, weights=x_w[b], minlength=size)
        vy = np.bincount(iy, weights=y_w[b], minlength=size)
        for s, sigma in enumerate(sigmas):
            kx = apply_kernel(vx, [sigma])
            ky = apply_kernel(vy, [sigma])
            xx[b, s] = vx @ kx
            yy[b, s] = vy @ ky
            xy[b, s] = vy @ kx
    return xx, yy, xy


def _block_forms(
    a_rows: np.ndarray, a_w: np.ndarray, b_rows: np.ndarray, b_w: np.ndarray, sigmas: Sequence[float]
) -> np.ndarray:
    """``a_w[r]' K b_w[r]`` per batch row ``r`` and bandwidth, from kernel blocks between rows."""
    n = a_rows.shape[1]
    # Hamming distances are integers 0..n: one kernel table per bandwidth.
    tables = [kernel_from_hamming(np.arange(n + 1), [sigma]) for sigma in sigmas]
    out = np.zeros((a_w.shape[0], len(sigmas)))
    b_wt = np.ascontiguousarray(b_w.T)
    chunk = max(1, _BLOCK_ENTRIES // max(b_rows.shape[0], 1))
    for start in range(0, a_rows.shape[0], chunk):
        stop = min(start + chunk, a_rows.shape[0])
        dist = hamming_distances(a_rows[start:stop], b_rows)
        a_chunk = a_w[:, start:stop]
        for s, table in enumerate(tables):
            out[:, s] += np.einsum("rc,cr->r", a_chunk, table[dist] @ b_wt)
    return out


def _choose_method(n: int, kx: int, ky: int) -> str:
    # Dense costs ~n 2^n per histogram and bandwidth; blocks cost ~(kx + ky)^2.
    if n <= DENSE_MAX_BITS and n * 2**n <= (kx + ky) ** 2:
        return "dense"
    return "distinct"


def mmd2_from_counts(
    x_rows: np.ndarray,
    x_counts: np.ndarray,
    y_rows: np.ndarray,
    y_counts: np.ndarray,
    sigmas: Sequence[float],
    *,
    per_sigma: bool = False,
    method: str = "auto",
) -> float | np.ndarray:
    """Unbiased (U-statistic) squared MMD between two sample sets given as counts.

    With ``N = sum(x_counts)`` and ``k(x, x) = 1``::

        MMD^2_u = (cx'K cx - N) / (N(N-1)) + (cy'K cy - M) / (M(M-1)) - 2 cx'K cy / (N M)

    Args:
        x_rows, y_rows: bitstrings ``[Kx, n]`` and ``[Ky, n]`` (normally distinct rows).
        x_counts, y_counts: how often each row occurs, ``[K]`` or a batch ``[B, K]``
            (e.g. bootstrap replicates); a batch shares one pass over kernel blocks.
        sigmas: kernel bandwidths; the result is the mixture (mean) over them.
        per_sigma: return one value per bandwidth (last axis) instead of the mixture.
        method: ``"dense"`` (histograms of length ``2**n``, product-structure kernel;
            ``n <= DENSE_MAX_BITS``), ``"distinct"`` (chunked kernel blocks between
            rows) or ``"auto"`` (dense when ``n <= DENSE_MAX_BITS`` and cheaper).

    Returns:
        A float, or an array of shape ``[B]``, ``[S]`` or ``[B, S]``. It can be
        slightly negative, being unbiased.
    """
    x_rows, y_rows = _as_rows(x_rows, "x_rows"), _as_rows(y_rows, "y_rows")
    if x_rows.shape[1] != y_rows.shape[1]:
        raise ValueError(f"sample sets differ in bit count: {x_rows.shape[1]} vs {y_rows.shape[1]}")
    if len(sigmas) == 0:
        raise ValueError("at least one kernel bandwidth is needed")
    batched = np.ndim(x_counts) == 2 or np.ndim(y_counts) == 2
    x_w = _as_count_batch(x_counts, x_rows.shape[0], "x_counts")
    y_w = _as_count_batch(y_counts, y_rows.shape[0], "y_counts")
    if x_w.shape[0] != y_w.shape[0]:
        x_w, y_w = np.broadcast_arrays(x_w, y_w)
    n_x, n_y = x_w.sum(axis=1, keepdims=True), y_w.sum(axis=1, keepdims=True)
    if np.any(n_x < 2) or np.any(n_y < 2):
        raise ValueError("the unbiased MMD needs at least 2 samples on each side")
    n_bits = x_rows.shape[1]
    if method == "auto":
        method = _choose_method(n_bits, x_rows.shape[0], y_rows.shape[0])
    if method == "dense":
        if n_bits > DENSE_MAX_BITS:
            raise ValueError(f"dense MMD refuses 2^{n_bits} histograms (max {DENSE_MAX_BITS} bits)")
        xx, yy, xy = _dense_forms(x_rows, x_w, y_rows, y_w, sigmas)
    elif method == "distinct":
        xx = _block_forms(x_rows, x_w, x_rows, x_w, sigmas)
        yy = _block_forms(y_rows, y_w, y_rows, y_w, sigmas)
        xy = _block_forms(x_rows, x_w, y_rows, y_w, sigmas)
    else:
        raise ValueError(f"method must be 'auto', 'dense' or 'distinct', got {method!r}")
    mmd = (xx - n_x) / (n_x * (n_x - 1)) + (yy - n_y) / (n_y * (n_y - 1)) - 2.0 * xy / (n_x * n_y)
    out = mmd if per_sigma else mmd.mean(axis=1)
    if batched:
        return out
    return out[0] if per_sigma else float(out[0])


def mmd2_samples(x: np.ndarray, y: np.ndarray, sigmas: Sequence[float], *, method: str = "auto") -> float:
    """Unbiased estimate of the squared MMD between the distributions of samples ``x`` and ``y``."""
    x_rows, x_counts = unique_counts(_as_rows(x, "x"))
    y_rows, y_counts = unique_counts(_as_rows(y, "y"))
    return mmd2_from_counts(x_rows, x_counts, y_rows, y_counts, sigmas, method=method)


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
