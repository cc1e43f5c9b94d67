"""Kernels of the IQP estimator's dense weight-2 path (:mod:`qgenflow.train.iqp_estimator`).

With every (or most) weight-2 generators present, the phase of string ``a`` needs the
field ``W_i = sum_k Theta_ik s_k`` only on the qubits ``i`` some string of the batch
touches (the batch's *rows* ``U``, about ``n_ops * E|a|`` of them), so a step is two
matrix products of size ``|U| x n x n_z`` (forward ``Theta[U] @ S``, backward
``dW @ S^T``) instead of ``n x n x n_z``, and ``Theta`` is never built as an ``[n, n]``
matrix. Two pieces here:

* :func:`gather_rows` and :func:`scatter_rows`: the rows of ``Theta`` (and the weight-1
  angles) on ``U`` from the flat parameter vector, and the gradient back, in numba on
  the host. The parameter vector (50 million entries at n = 10,000) never enters JAX:
  no copy to the device per step and no scatter of the ``|U| x n`` cotangent by XLA,
  which was measured at 0.5 s of a 1.5 s step at n = 10,000 (this pair of loops:
  about 0.1 s). The gradient of generator ``{i, k}`` is ``D[pos i, k] + D[pos k, i]``;
  :func:`scatter_rows` adds the first term for ``k > i`` and the second for ``k < i`` in
  two passes, so every parameter is written by one row per pass and the rows can be
  shared among threads without races.
* :func:`pm1_matmul`: ``A @ S`` for the constant matrix ``S`` of signs, whose backward
  product reads a row-major copy of ``S^T`` (XLA's product with a transposed operand is
  2-3x slower on CPU). A bfloat16 three-term split (``A = hi + mid + lo``, exact times
  +-1, float32 accumulation) was tried on an AMX CPU and measured slower than float32
  in the whole step, so products stay in the computation's dtype.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from numba import get_num_threads, njit

from ..runtime import in_shares

__all__ = ["gather_rows", "pm1_matmul", "scatter_all_pairs", "scatter_rows"]


# ---------------------------------------------------------------------- +-1 products
@jax.custom_vjp
def pm1_matmul(a: jax.Array, s: jax.Array, s_t: jax.Array) -> jax.Array:
    """``a @ s`` for a constant ``s`` (not differentiated); ``s_t`` is ``s`` transposed, as its own row-major buffer."""
    return jnp.dot(a, s, precision=jax.lax.Precision.HIGHEST)


def _pm1_fwd(a, s, s_t):
    return pm1_matmul(a, s, s_t), s_t


def _pm1_bwd(s_t, ct):
    return jnp.dot(ct, s_t, precision=jax.lax.Precision.HIGHEST), None, None


pm1_matmul.defvjp(_pm1_fwd, _pm1_bwd)


# ---------------------------------------------------------------------- gathers from the parameters
@njit(cache=True, nogil=True)
def _gather_rows(theta, tab, h_tab, rows, out_rows, out_h, r0, r1):
    n_params = theta.size
    for r in range(r0, r1):
        i = rows[r]
        p = h_tab[i]
        out_h[r] = theta[p] if p < n_params else 0.0
        row = tab[i]
        dst = out_rows[r]
        for k in range(row.size):
            p = row[k]
            dst[k] = theta[p] if p < n_params else 0.0


@njit(cache=True, nogil=True)
def _scatter_rows(d_rows, d_h, tab, h_tab, rows, grad, upper, r0, r1):
    n_params = grad.size
    for r in range(r0, r1):
        i = rows[r]
        row = tab[i]
        src = d_rows[r]
        if upper:
            p = h_tab[i]
            if p < n_params:
                grad[p] += d_h[r]
            lo, hi = i + 1, row.size
        else:
            lo, hi = 0, i
        for k in range(lo, hi):
            p = row[k]
            if p < n_params:
                grad[p] += src[k]


@njit(cache=True, nogil=True)
def _transpose_tiles(src, dst, b0, b1, tile):
    """dst[c, r] = src[r, c] for column tiles b0..b1 (tile x tile blocks stay in cache)."""
    rows, cols = src.shape[0], dst.shape[0]
    for b in range(b0, b1):
        c0 = b * tile
        c1 = min(c0 + tile, cols)
        for r0 in range(0, rows, tile):
            r1 = min(r0 + tile, rows)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    dst[c, r] = src[r, c]


@njit(cache=True, nogil=True)
def _scatter_all_pairs(d_rows, d_cols, rows, pos, base, grad, k0, k1):
    n, m = d_cols.shape[0], rows.size
    for k in range(k0, k1):
        start = base + k * (2 * n - k - 1) // 2  # generator {k, k + 1}
        r = pos[k]
        if r < m:
            src = d_rows[r]
            for j in range(n - 1 - k):
                grad[start + j] = src[k + 1 + j]
        else:
            for j in range(n - 1 - k):
                grad[start + j] = 0.0
        col = d_cols[k]  # D[:, k] over the rows
        for t in range(m):
            i = rows[t]
            if k < i < n:  # padding rows are n
                grad[start + i - k - 1] += col[t]


def _workers(rows: np.ndarray, width: int) -> int:
    """Threads for a pass over ``rows`` x ``width`` entries: one below ~1M (a hand-off costs ~50 us)."""
    return max(1, get_num_threads()) if rows.size * width >= 1 << 20 else 1


def gather_rows(theta: np.ndarray, tab: np.ndarray, h_tab: np.ndarray, rows: np.ndarray, dtype) -> tuple:
    """Weight-1 angles ``h[rows]`` [m] and the rows ``Theta[rows]`` [m, n + 1] of the parameter vector.

    Args:
        theta: float64 [G] parameters.
        tab: int32 [n + 1, n + 1], the parameter of generator ``{i, k}`` (``G`` where none;
            row and column ``n`` are padding).
        h_tab: int32 [n + 1], the parameter of generator ``{i}`` (``G`` where none).
        rows: int32 [m] qubits (``n`` = padding, reads zeros).
        dtype: floating type of the outputs.
    """
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    out_rows = np.empty((rows.size, tab.shape[1]), dtype=dtype)
    out_h = np.empty(rows.size, dtype=dtype)
    in_shares(lambda lo, hi, w: _gather_rows(theta, tab, h_tab, rows, out_rows, out_h, lo, hi), rows.size,
              _workers(rows, tab.shape[1]))
    return out_h, out_rows


def scatter_all_pairs(d_rows: np.ndarray, d_h: np.ndarray, h_tab: np.ndarray, rows: np.ndarray, pos: np.ndarray,
                      base: int, grad: np.ndarray) -> None:
    """As :func:`scatter_rows` when the weight-2 parameters are every pair ``{i < k}``, in order from ``base``.

    One pass writes the pair block in parameter order (no separate zeroing, no scattered
    writes out of cache): block ``{k, .}`` is row ``k`` of ``D`` right of the diagonal
    plus column ``k`` of ``D`` (read as a row of ``D^T``, transposed tile by tile) at the
    batch's rows. The additions are those of :func:`scatter_rows`, in the same order, so
    the results are bit-identical. Weight-1 parameters are set from ``d_h`` (zero off
    the rows); ``grad`` may be uninitialised.
    """
    n, m = pos.size, rows.size
    d_rows = np.ascontiguousarray(d_rows)
    workers = _workers(rows, n)
    tile = 64
    d_cols = np.empty((n, m), dtype=d_rows.dtype)
    in_shares(lambda lo, hi, w: _transpose_tiles(d_rows, d_cols, lo, hi, tile), -(-n // tile), workers)
    # Shares of equal work: block k costs (n - 1 - k) writes and m reads.
    cost = np.cumsum(np.arange(n - 1, -1, -1, dtype=np.float64) + m)
    parts = 64 * workers
    edges = np.searchsorted(cost, cost[-1] * np.arange(parts + 1) / parts).clip(0, n)
    edges[0], edges[-1] = 0, n
    in_shares(lambda lo, hi, w: _scatter_all_pairs(d_rows, d_cols, rows, pos, base, grad, edges[lo], edges[hi]),
              parts, workers)
    singles = h_tab[:n][h_tab[:n] < grad.size]
    grad[singles] = 0.0
    valid = rows < n
    hp = h_tab[rows[valid]]
    keep = hp < grad.size
    grad[hp[keep]] = np.asarray(d_h, dtype=np.float64)[valid][keep]


def scatter_rows(d_rows: np.ndarray, d_h: np.ndarray, tab: np.ndarray, h_tab: np.ndarray, rows: np.ndarray,
                 grad: np.ndarray) -> None:
    """Add the gradient of :func:`gather_rows`'s outputs (cotangents ``d_h``, ``d_rows``) to ``grad`` [G].

    ``rows`` must be distinct qubits (padding ``n`` aside), as the batch's rows are.
    """
    d_rows = np.ascontiguousarray(d_rows)
    d_h = np.ascontiguousarray(d_h)
    workers = _workers(rows, tab.shape[1])
    for upper in (True, False):
        in_shares(lambda lo, hi, w: _scatter_rows(d_rows, d_h, tab, h_tab, rows, grad, upper, lo, hi), rows.size,
                  workers)
