"""Gaussian kernels on bitstrings and the exact MMD, using the kernel's product structure.

The kernel of bandwidth ``sigma`` is the Gaussian kernel on the Euclidean distance
between bit vectors, ``k(x, y) = exp(-||x - y||^2 / (2 sigma^2))``; for bits
``||x - y||^2`` is the Hamming distance, so
``k(x, y) = prod_i exp(-[x_i != y_i] / (2 sigma^2))``: the ``2^n x 2^n`` kernel
matrix is the n-fold Kronecker power of ``[[1, e], [e, 1]]`` with
``e = exp(-1 / (2 sigma^2))``. A mixture of bandwidths averages the kernels, so
``k(x, x) = 1``. (Liu & Wang's code writes ``exp(-d^2 / (2 sigma))``; their
``sigma`` is our ``sigma**2``.)

Applying the kernel to a vector costs ``O(n 2^n)`` per bandwidth and never
builds the matrix. With three or more bandwidths it goes through the Walsh-Hadamard
basis instead, where every ``K_e`` is diagonal: with ``H`` the unnormalised
transform (``H H = 2^n I``), ``K_e = H diag(lambda_e) H / 2^n`` and
``lambda_e(k) = (1 + e)^(n - |k|) (1 - e)^|k|`` (``|k|`` the popcount of ``k``), so the
mixture costs two transforms (four passes over the vector) whatever the number of
bandwidths, against two passes per bandwidth by Kronecker factors.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numba import get_num_threads, njit

from .limits import MAX_DENSE_QUBITS
from .runtime import in_shares

from .bits import bits_to_index, unique_counts

__all__ = [
    "kernel_factor",
    "apply_kernel",
    "mmd2_exact",
    "mmd2_exact_grad",
    "hamming_distances",
    "kernel_from_hamming",
    "DENSE_MAX_BITS",
    "mmd2_from_counts",
    "mmd2_samples",
    "mmd2_samples_vs_probs",
]

#: Largest number of bits for which the sample MMD may use dense ``2**n`` histograms.
DENSE_MAX_BITS = MAX_DENSE_QUBITS
# Entries of one kernel block (rows x columns) in the distinct-row path: ~32 MiB of float64.
_BLOCK_ENTRIES = 1 << 22


def kernel_factor(sigma: float) -> float:
    """Off-diagonal entry ``exp(-1 / (2 sigma^2))`` of the one-bit kernel."""
    if sigma <= 0:
        raise ValueError(f"kernel bandwidth must be > 0, got {sigma}")
    return float(np.exp(-1.0 / (2.0 * sigma**2)))


def apply_kernel(vec: np.ndarray, sigmas: Sequence[float], scale: float = 1.0) -> np.ndarray:
    """``scale * K @ vec`` for the mixture kernel over ``n`` bits, ``vec`` of length ``2**n``."""
    vec = np.ascontiguousarray(vec, dtype=np.float64)
    n = int(round(np.log2(vec.size)))
    if 2**n != vec.size:
        raise ValueError(f"vector length {vec.size} is not a power of two")
    return _apply_mixture(vec, sigmas, n, float(scale))


# From this many bandwidths the Walsh-Hadamard route (four passes) beats the Kronecker one (two per bandwidth).
_TRANSFORM_MIN_BANDWIDTHS = 3


def _apply_mixture(vec: np.ndarray, sigmas: Sequence[float], n: int, scale: float) -> np.ndarray:
    """``scale * K vec`` for the mixture kernel of ``sigmas``, by the cheaper of the two routes."""
    factors = [kernel_factor(s) for s in sigmas]
    if len(factors) >= _TRANSFORM_MIN_BANDWIDTHS:
        return _kernel_by_transform(vec, factors, n, scale / len(factors))
    out = np.zeros_like(vec)
    _kernel_sum(vec, factors, n, out)
    out /= len(factors)
    return out if scale == 1.0 else out * scale


# Bits below _LOW_BITS are applied chunk by chunk (2^_LOW_BITS amplitudes, in L1/L2); the bits above,
# on tiles of _TILE_COLS contiguous columns times every value of the high bits.
_LOW_BITS = 13
_TILE_COLS = 256
# From this many bits the tiles and chunks are shared among numba.get_num_threads() threads
# (handing work to a thread costs ~50 us; a 2^18 vector takes ~5 ms per bandwidth).
_PARALLEL_MIN_BITS = 18


@njit(cache=True, inline="always")
def _butterflies(w, e, half):
    """(a, b) <- (a + e b, b + e a) for the pairs (i, i + half) of w, i with bit ``half`` clear."""
    for b0 in range(0, w.size, 2 * half):
        for j in range(b0, b0 + half):
            a = w[j]
            b = w[j + half]
            w[j] = a + e * b
            w[j + half] = b + e * a


@njit(cache=True, inline="always")
def _low_butterflies(w, e, out):
    """Bits 1 then 0 of w (as :func:`_butterflies`) on each quad, adding the result to out."""
    for q in range(0, w.size, 4):
        x0 = w[q]
        x1 = w[q + 1]
        x2 = w[q + 2]
        x3 = w[q + 3]
        y0 = x0 + e * x2
        y2 = x2 + e * x0
        y1 = x1 + e * x3
        y3 = x3 + e * x1
        out[q] += y0 + e * y1
        out[q + 1] += y1 + e * y0
        out[q + 2] += y2 + e * y3
        out[q + 3] += y3 + e * y2


@njit(cache=True, inline="always")
def _wht_butterflies(w, half):
    """(a, b) <- (a + b, a - b) for the pairs (i, i + half) of w, i with bit ``half`` clear."""
    for b0 in range(0, w.size, 2 * half):
        for j in range(b0, b0 + half):
            a = w[j]
            b = w[j + half]
            w[j] = a + b
            w[j + half] = a - b


@njit(cache=True, nogil=True)
def _high_tiles(vec, e, n, work, t0, t1, buf, transform=False):
    """Bits n - 1 down to _LOW_BITS of K_e vec (or, with ``transform``, of the Walsh-Hadamard
    transform of vec) into work, tiles t0..t1.

    A tile is _TILE_COLS contiguous low indices times every value of the high bits, copied
    into ``buf`` and kept in cache through all the high bits.
    """
    low = min(n, _LOW_BITS)
    nhigh = 1 << (n - low)
    cols = 1 << low
    tile = min(_TILE_COLS, cols)
    for c0 in range(t0 * tile, t1 * tile, tile):
        for h in range(nhigh):
            buf[h * tile:(h + 1) * tile] = vec[h * cols + c0:h * cols + c0 + tile]
        bit = nhigh >> 1
        while bit >= 1:
            if transform:
                _wht_butterflies(buf, bit * tile)
            else:
                _butterflies(buf, e, bit * tile)
            bit >>= 1
        for h in range(nhigh):
            work[h * cols + c0:h * cols + c0 + tile] = buf[h * tile:(h + 1) * tile]


@njit(cache=True, nogil=True)
def _low_chunks(work, e, n, out, h0, h1):
    """Bits below _LOW_BITS of ``work`` (in place), chunks h0..h1 of 2^_LOW_BITS entries, the result added to out."""
    cols = 1 << min(n, _LOW_BITS)
    for h in range(h0, h1):
        chunk = work[h * cols:(h + 1) * cols]
        dst = out[h * cols:(h + 1) * cols]
        bit = cols >> 1
        while bit >= 4 or (bit >= 1 and cols < 4):
            _butterflies(chunk, e, bit)
            bit >>= 1
        if cols < 4:
            for j in range(cols):
                dst[j] += chunk[j]
        else:
            _low_butterflies(chunk, e, dst)


@njit(cache=True, nogil=True)
def _wht_low_chunks(work, n, scale, out, h0, h1):
    """Bits below _LOW_BITS of the transform (in place in ``work``), chunks h0..h1; then
    ``out[i] = work[i] * scale[popcount(i)]``."""
    cols = 1 << min(n, _LOW_BITS)
    ones_low = np.empty(cols, dtype=np.int64)
    for j in range(cols):
        c = 0
        x = j
        while x:
            c += x & 1
            x >>= 1
        ones_low[j] = c
    for h in range(h0, h1):
        chunk = work[h * cols:(h + 1) * cols]
        bit = cols >> 1
        while bit >= 1:
            _wht_butterflies(chunk, bit)
            bit >>= 1
        c = 0
        x = h
        while x:
            c += x & 1
            x >>= 1
        dst = out[h * cols:(h + 1) * cols]
        for j in range(cols):
            dst[j] = chunk[j] * scale[c + ones_low[j]]


def _kernel_spectrum(factors: Sequence[float], n: int, scale: float) -> np.ndarray:
    """``scale / 2^n * sum_e (1 + e)^(n - k) (1 - e)^k`` for k = 0..n: the mixture's eigenvalues by popcount, over 2^n."""
    k = np.arange(n + 1, dtype=np.float64)
    total = sum((1.0 + e) ** (n - k) * (1.0 - e) ** k for e in map(float, factors))
    return total * (scale / 2.0**n)


def _passes_layout(n: int) -> tuple[int, int, int, np.ndarray]:
    """Chunks of the low pass, tiles of the high pass, threads and one tile buffer per thread, for 2^n entries."""
    low = min(n, _LOW_BITS)
    nhigh = 1 << (n - low)
    tiles = (1 << low) // min(_TILE_COLS, 1 << low)
    workers = max(1, get_num_threads()) if n >= _PARALLEL_MIN_BITS else 1
    return nhigh, tiles, workers, np.empty((workers, nhigh * min(_TILE_COLS, 1 << low)))


def _kernel_by_transform(vec: np.ndarray, factors: Sequence[float], n: int, scale: float) -> np.ndarray:
    """``scale * sum_e K_e vec`` through the Walsh-Hadamard basis (four passes over the vector)."""
    nhigh, tiles, workers, bufs = _passes_layout(n)
    work = np.empty_like(vec)
    out = np.empty_like(vec)
    for source, weights in ((vec, _kernel_spectrum(factors, n, scale)), (out, np.ones(n + 1))):
        in_shares(lambda lo, hi, w: _high_tiles(source, 0.0, n, work, lo, hi, bufs[w], True), tiles, workers)
        in_shares(lambda lo, hi, w: _wht_low_chunks(work, n, weights, out, lo, hi), nhigh, workers)
    return out


def _kernel_sum(vec: np.ndarray, factors: Sequence[float], n: int, out: np.ndarray) -> None:
    """out += sum over e in factors of K_e vec, K_e the n-fold Kronecker power of [[1, e], [e, 1]].

    Bits are applied from the top (bit n - 1) down, each pair as ``(a + e b, b + e a)``: the
    same operations in the same order per element as the axis loop of numpy reshapes, so the
    result is bit-for-bit that of the unblocked version, with any number of threads. High bits
    (>= _LOW_BITS) go tile by tile (:func:`_high_tiles`), low bits chunk by chunk
    (:func:`_low_chunks`); from _PARALLEL_MIN_BITS bits both are shared among threads.
    """
    nhigh, tiles, workers, bufs = _passes_layout(n)
    work = np.empty_like(vec)
    for e in factors:
        e = float(e)
        in_shares(lambda lo, hi, w: _high_tiles(vec, e, n, work, lo, hi, bufs[w]), tiles, workers)
        in_shares(lambda lo, hi, w: _low_chunks(work, e, n, out, lo, hi), nhigh, workers)


def mmd2_exact(p: np.ndarray, q: np.ndarray, sigmas: Sequence[float]) -> float:
    """Squared MMD between two probability vectors under the mixture kernel."""
    d = np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)
    return float(max(d @ apply_kernel(d, sigmas), 0.0))


def mmd2_exact_grad(p: np.ndarray, q: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Gradient of :func:`mmd2_exact` with respect to ``p``: ``2 K (p - q)``.

    As a diagonal observable, its expectation's parameter gradient is the loss
    gradient of a Born machine at the current ``p``.
    """
    d = np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)
    return apply_kernel(d, sigmas, scale=2.0)


def hamming_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between rows of ``x`` [N, n] and ``y`` [M, n]."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    # |x - y|_1 for bits = x.1 + y.1 - 2 x.y
    d = x.sum(1)[:, None] + y.sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.rint(d).astype(np.int32)


def kernel_from_hamming(dist: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Mixture-kernel values for an array of Hamming distances."""
    dist = np.asarray(dist, dtype=np.float64)
    return sum(np.exp(-dist / (2.0 * s**2)) for s in sigmas) / len(sigmas)


# Unbiased squared MMD between sample sets (used by training with shots and by evaluation).


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


def mmd2_samples_vs_probs(samples: np.ndarray, q: np.ndarray, sigmas: Sequence[float]) -> float:
    """Unbiased squared MMD between samples of p and an exact probability vector ``q`` (dense, n <= 20)."""
    samples = _as_rows(samples, "samples")
    n = samples.shape[1]
    if n > DENSE_MAX_BITS:
        raise ValueError(f"dense MMD refuses 2^{n} histograms (max {DENSE_MAX_BITS} bits)")
    big_n = samples.shape[0]
    if big_n < 2:
        raise ValueError("the unbiased MMD needs at least 2 samples")
    c = np.bincount(bits_to_index(samples), minlength=2**n).astype(np.float64)
    q = np.asarray(q, dtype=np.float64)
    kc, kq = apply_kernel(c, sigmas), apply_kernel(q, sigmas)
    return float((c @ kc - big_n) / (big_n * (big_n - 1)) - 2.0 * (c @ kq) / big_n + q @ kq)
