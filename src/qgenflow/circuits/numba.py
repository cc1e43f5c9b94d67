"""Exact adjoint gradients of diagonal observables, with in-place numba kernels.

:class:`FastAdjointRunner` is a :class:`~qgenflow.circuits.Runner` like
:class:`~qgenflow.circuits.CircuitRunner` (``probs``, ``diagonal_grad``, ``samples``) plus ``supports(ops)``. It exists
because lightning's adjoint differentiates ``expval(SparseHamiltonian)`` by copying
the statevector and applying each generator to the copy (~10x a forward pass at 20
qubits). Here a gradient is one forward pass and one backward sweep:

    psi = U_N ... U_1 |0>,   lam = diag * psi,
    for k = N..1:  grad_k = 2 Im <lam| G_k |psi>   (U_k = exp(-i theta_k G_k))
                   psi <- U_k^dag psi,  lam <- U_k^dag lam

with the inner product accumulated inside the pass that un-applies the gate to both
vectors (no copies). Consecutive one-qubit gates on the same target (and control) are
fused into one 2x2 block, and a CNOT right after a block on its target rides along in
the block's pass. In the sweep a block accumulates the cross moments
``A[a, b] = sum conj(lam_a) psi_b`` over its amplitude pairs, and each of its angles
gets ``2 Im sum_ab (W G W^dag)[a, b] A[a, b]`` (``W``: the part of the block after the
angle), so a block costs one pass over ``psi`` and ``lam`` however many angles it has.
From target bit 3 up, the moment terms of a pass are added by column into a 4 x 256
buffer (pair o of every 256-pair window into column o) and summed as a halving tree at
the end of the pass: both loops vectorise, where a running sum would not without
reassociation, and the order of every addition is fixed by the code.

The state is two float64 arrays (real, imaginary) so LLVM vectorises the kernels.
Operations are compiled into integer/float arrays once per call; the forward pass and
the sweep each run inside one numba call. Stretches of gates below bit CACHE_BITS are
applied chunk by chunk (each chunk stays in L2 through the whole stretch); from
PARALLEL_MIN_QUBITS qubits, chunks or 2^m contiguous slices are shared among
``numba.get_num_threads()`` threads (NUMBA_NUM_THREADS / ``numba.set_num_threads``, or
``threads=``), Python threads running GIL-free numba code, with no synchronisation per
gate. The final state of ``probs`` is kept,
so ``diagonal_grad`` on the same operation objects right after it skips the forward
pass.

Conventions: big-endian, as ``qml.probs`` (wire ``w`` is bit ``n - 1 - w`` of the
index); wires must be the integers ``0..n-1``; angles are read from ``op.data`` as
floats; the gradient has one entry per element of ``op.data`` in operation order,
as ``CircuitRunner.diagonal_grad`` with every parameter trainable.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numba import get_num_threads, njit, uint64

from ..runtime import MAX_WORKERS, in_shares
from .exact import samples_from_probs

__all__ = ["FastAdjointRunner", "SUPPORTED_OPS"]

# ----------------------------------------------------------------------------------
# Instruction set
# ----------------------------------------------------------------------------------
# Program instructions (one pass over the state each).
P_BLOCK = 0  # fused one-qubit block on bit t, optional control bit c (>= 0)
P_ZPAR = 1  # exp(-i theta/2 Z...Z) on the bits of mask (IsingZZ, MultiRZ)
P_XX = 2  # IsingXX on bits (q0, q1)
P_YY = 3  # IsingYY
P_SE = 4  # SingleExcitation (Givens rotation in span{|01>, |10>})
P_SWAP = 5  # SWAP

# Micro-operations inside a one-qubit block.
M_FIXED = 0  # constant 2x2 matrix
M_RX = 1  # exp(-i theta X/2)
M_RY = 2  # exp(-i theta Y/2)
M_RZ = 3  # exp(-i theta Z/2)
M_PHASE = 4  # diag(1, e^{i theta}) = exp(-i theta (-|1><1|))

_I2 = np.eye(2, dtype=np.complex128)
_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.diag([1, -1]).astype(np.complex128)
_S = np.diag([1, 1j]).astype(np.complex128)
_T = np.diag([1, np.exp(1j * np.pi / 4)]).astype(np.complex128)
_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=np.complex128) / 2

# name -> [(micro kind, fixed matrix or None, index into op.data or -1)], in the order the
# micro-ops act on the state.
_ONE_QUBIT = {
    "Identity": [],
    "Hadamard": [(M_FIXED, _H, -1)],
    "PauliX": [(M_FIXED, _X, -1)],
    "PauliY": [(M_FIXED, _Y, -1)],
    "PauliZ": [(M_FIXED, _Z, -1)],
    "S": [(M_FIXED, _S, -1)],
    "T": [(M_FIXED, _T, -1)],
    "SX": [(M_FIXED, _SX, -1)],
    "RX": [(M_RX, None, 0)],
    "RY": [(M_RY, None, 0)],
    "RZ": [(M_RZ, None, 0)],
    "PhaseShift": [(M_PHASE, None, 0)],
    "U1": [(M_PHASE, None, 0)],
    # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
    "Rot": [(M_RZ, None, 0), (M_RY, None, 1), (M_RZ, None, 2)],
    # U3(theta, phi, delta) = RZ(phi) RY(theta) RZ(delta) up to a global phase
    # (a global phase changes neither probabilities nor the gradient).
    "U3": [(M_RZ, None, 2), (M_RY, None, 0), (M_RZ, None, 1)],
}
# controlled one-qubit gates: wires = (control, target)
_CONTROLLED = {
    "CNOT": [(M_FIXED, _X, -1)],
    "CY": [(M_FIXED, _Y, -1)],
    "CZ": [(M_FIXED, _Z, -1)],
    "CRX": [(M_RX, None, 0)],
    "CRY": [(M_RY, None, 0)],
    "CRZ": [(M_RZ, None, 0)],
    "ControlledPhaseShift": [(M_PHASE, None, 0)],
}
_TWO_QUBIT = {"IsingXX": P_XX, "IsingYY": P_YY, "SingleExcitation": P_SE, "SWAP": P_SWAP}
_N_PARAMS = {"Rot": 3, "U3": 3}
_I4 = _I2.reshape(4)
_X4 = _X.reshape(4)  # the CNOT fusion in _compile recognises X by identity
for _table in (_ONE_QUBIT, _CONTROLLED):
    for _name, _micro in _table.items():
        _table[_name] = [(k, None if m is None else (_X4 if m is _X or m is _X4 else m.reshape(4)), d)
                         for k, m, d in _micro]

SUPPORTED_OPS = frozenset(_ONE_QUBIT) | frozenset(_CONTROLLED) | frozenset(_TWO_QUBIT) | {"IsingZZ", "MultiRZ"}

# States with fewer qubits run on one thread: handing work to another thread costs ~50 us
# on an idle machine, and a scheduler time slice (ms) when the cores are oversubscribed.
PARALLEL_MIN_QUBITS = 18
# Runs of instructions below this bit go through the state in chunks of 2^CACHE_BITS
# amplitudes (psi and lam: 512 KiB, in L2), all their gates on one chunk at a time.
CACHE_BITS = 14


# ----------------------------------------------------------------------------------
# Kernels. The state is kept as two float64 arrays (real, imaginary parts), which
# lets LLVM vectorise the inner loops. Wire w is bit n - 1 - w. Every kernel acts on a
# whole (sub)state array; loops that index with computed offsets use unsigned integers,
# since numba's negative-index handling of signed ones blocks vectorisation.
# ----------------------------------------------------------------------------------
# IEEE evaluation order is kept (no "reassoc", no "contract"): with them, code compiled in
# one process and code loaded from numba's cache in another rounded differently, so two
# runs of a study disagreed in the last bit. Only the sign of zero is relaxed.
_FM = {"nsz"}
_SUB = 256  # window of the sweep kernel (the moments loop then the two updates stay in L1)
_U1 = uint64(1)


@njit(cache=True, inline="always")
def _ins(k, b):
    """Insert a zero bit at position b of k."""
    return ((k >> b) << (b + 1)) | (k & ((1 << b) - 1))


@njit(cache=True, inline="always")
def _parity(x):
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return x & 1


@njit(cache=True, inline="always")
def _pair_base(k, t, c):
    """Index of the k-th amplitude with bit t clear (and bit c set when c >= 0)."""
    if c < 0:
        return _ins(k, t)
    if t < c:
        return _ins(_ins(k, t), c) | (1 << c)
    return _ins(_ins(k, c), t) | (1 << c)


# -- 2x2 updates ----------------------------------------------------------------------
@njit(cache=True, inline="always")
def _mv(u, xr, xi, yr, yi):
    """(x, y) <- M (x, y) for M = u (8 floats: re, im of m00, m01, m10, m11)."""
    m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i = u
    return (m00r * xr - m00i * xi + m01r * yr - m01i * yi, m00r * xi + m00i * xr + m01r * yi + m01i * yr,
            m10r * xr - m10i * xi + m11r * yr - m11i * yi, m10r * xi + m10i * xr + m11r * yi + m11i * yr)


@njit(cache=True, inline="always")
def _rows_swapped(u):
    """X M."""
    return (u[4], u[5], u[6], u[7], u[0], u[1], u[2], u[3])


@njit(cache=True, inline="always")
def _cols_swapped(u):
    """M X."""
    return (u[2], u[3], u[0], u[1], u[6], u[7], u[4], u[5])


@njit(cache=True, inline="always")
def _run_apply(xr, xi, i, j, cnt, u, shape):
    """(x[i + o], x[j + o]) <- M (.) for o < cnt (unsigned offsets; shape 1 diagonal, 2 anti-diagonal)."""
    m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i = u
    i = uint64(i)
    j = uint64(j)
    if shape == 1:
        if not (m00r == 1.0 and m00i == 0.0):
            for o in range(uint64(cnt)):
                ar = xr[i + o]
                ai = xi[i + o]
                xr[i + o] = m00r * ar - m00i * ai
                xi[i + o] = m00r * ai + m00i * ar
        for o in range(uint64(cnt)):
            br = xr[j + o]
            bi = xi[j + o]
            xr[j + o] = m11r * br - m11i * bi
            xi[j + o] = m11r * bi + m11i * br
    elif shape == 2:
        for o in range(uint64(cnt)):
            ar = xr[i + o]
            ai = xi[i + o]
            br = xr[j + o]
            bi = xi[j + o]
            xr[i + o] = m01r * br - m01i * bi
            xi[i + o] = m01r * bi + m01i * br
            xr[j + o] = m10r * ar - m10i * ai
            xi[j + o] = m10r * ai + m10i * ar
    else:
        for o in range(uint64(cnt)):
            xr[i + o], xi[i + o], xr[j + o], xi[j + o] = _mv(u, xr[i + o], xi[i + o], xr[j + o], xi[j + o])


@njit(cache=True, inline="always")
def _mom(ar, ai, br, bi, xr, xi, yr, yi):
    """Moments of one pair psi = (a, b), lam = (x, y): Im conj(x) a, Im conj(y) b, conj(x) b - y conj(a)."""
    return (xr * ai - xi * ar, yr * bi - yi * br, xr * br + xi * bi - yr * ar - yi * ai,
            xr * bi - xi * br - yi * ar + yr * ai)


@njit(cache=True, fastmath=_FM, inline="always")
def _run_moments(pr, pi, lr, li, i, j, cnt, acc):
    """acc[q, o] += term q of :func:`_mom` for the pairs psi = (a, b), lam = (x, y) at (i + o, j + o), o < cnt.

    Column sums, not a running sum: the loop vectorises (a running sum would not without
    reassociation) and the order of the additions is fixed by the code (see :func:`_tree_sum`).
    """
    t0 = acc[0]
    t1 = acc[1]
    t2 = acc[2]
    t3 = acc[3]
    i = uint64(i)
    j = uint64(j)
    for o in range(uint64(cnt)):
        m0, m1, m2, m3 = _mom(pr[i + o], pi[i + o], pr[j + o], pi[j + o], lr[i + o], li[i + o], lr[j + o], li[j + o])
        t0[o] += m0
        t1[o] += m1
        t2[o] += m2
        t3[o] += m3


@njit(cache=True, fastmath=_FM, inline="always")
def _tree_sum(acc, n, out):
    """out[q] += sum of acc[q, :n] (n a power of two) as a halving tree, which vectorises."""
    for q in range(4):
        t = acc[q]
        h = n >> 1
        while h >= 1:
            for j in range(h):
                t[j] += t[j + h]
            h >>= 1
        out[q] += t[0]


@njit(cache=True, fastmath=_FM, inline="always")
def _pair_update(pr, pi, lr, li, i, j, f, u, sweep, accumulate):
    """Update of the pair (i, j).

    Forward: psi <- [X if f] M psi. Sweep: psi, lam <- M [X if f] (.), returning the
    moments of the pair after the swap.
    """
    ar = pr[i]
    ai = pi[i]
    br = pr[j]
    bi = pi[j]
    m0 = m1 = m2 = m3 = 0.0
    if sweep:
        xr = lr[i]
        xi = li[i]
        yr = lr[j]
        yi = li[j]
        if f:
            ar, br = br, ar
            ai, bi = bi, ai
            xr, yr = yr, xr
            xi, yi = yi, xi
        if accumulate:
            m0, m1, m2, m3 = _mom(ar, ai, br, bi, xr, xi, yr, yi)
        lr[i], li[i], lr[j], li[j] = _mv(u, xr, xi, yr, yi)
        pr[i], pi[i], pr[j], pi[j] = _mv(u, ar, ai, br, bi)
    else:
        cr, ci, dr, di = _mv(u, ar, ai, br, bi)
        if f:
            cr, dr = dr, cr
            ci, di = di, ci
        pr[i], pi[i], pr[j], pi[j] = cr, ci, dr, di
    return m0, m1, m2, m3


@njit(cache=True, fastmath=_FM, inline="always")
def _low_pass(pr, pi, lr, li, u, h, cx, sweep, accumulate, out):
    """Pairs for target bit t = 0 or 1 (h = 2^t, no control): blocks of 2h, vectorised across blocks."""
    s0 = s1 = s2 = s3 = 0.0
    hh = uint64(h)
    st = hh + hh
    sh = uint64(cx if cx >= 0 else 63)  # bit 63 of an index is never set
    for b in range(uint64(pr.size) // st):
        for o in range(hh):
            i = st * b + o
            m0, m1, m2, m3 = _pair_update(pr, pi, lr, li, i, i + hh, (i >> sh) & _U1, u, sweep, accumulate)
            s0 += m0
            s1 += m1
            s2 += m2
            s3 += m3
    out[0] += s0
    out[1] += s1
    out[2] += s2
    out[3] += s3


@njit(cache=True, fastmath=_FM, inline="always")
def _bit2_pass(pr, pi, lr, li, u, cx, sweep, accumulate, out):
    """Pairs (o, o + 4) of each row of [N/8, 8] views: target bit 2, no control."""
    s0 = s1 = s2 = s3 = 0.0
    sh = uint64(cx if cx >= 0 else 63)
    for b in range(pr.shape[0]):
        for o in range(4):
            f = (((uint64(b) << uint64(3)) + uint64(o)) >> sh) & _U1
            m0, m1, m2, m3 = _pair_update(pr[b], pi[b], lr[b], li[b], o, o + 4, f, u, sweep, accumulate)
            s0 += m0
            s1 += m1
            s2 += m2
            s3 += m3
    out[0] += s0
    out[1] += s1
    out[2] += s2
    out[3] += s3


@njit(cache=True, fastmath=_FM)
def _blk_pass(pr, pi, lr, li, t, c, cx, u, shape, sweep, accumulate, out):
    """Fused one-qubit block M on target bit t (control bit c if c >= 0) over the whole state.

    With cx >= 0 the block is followed by a CNOT with control bit cx and target bit t.
    Forward (sweep False): psi <- CNOT M psi. Sweep (u = M^dag): psi, lam <- M^dag CNOT (.),
    adding to out[0:4] the moments of the pairs (after the CNOT is undone, before M^dag):
    Im A00, Im A11 and A01 - conj(A10) with A[a, b] = sum conj(lam_a) psi_b.
    """
    half = 1 << t
    sb = t if (c < 0 or t < c) else c
    if 0 <= cx < sb:
        sb = cx
    if sb >= 3:
        seg = 1 << sb
        npairs = pr.size >> (1 if c < 0 else 2)
        usw = _cols_swapped(u) if sweep else _rows_swapped(u)
        shsw = 3 - shape if shape > 0 else 0
        acc = np.zeros((4, _SUB))  # moment terms, summed by column over the runs (all min(seg, _SUB) long)
        k = 0
        while k < npairs:
            cnt = min(seg - (k & (seg - 1)), _SUB) if sweep else seg
            i = _pair_base(k, t, c)
            j = i + half
            f = cx >= 0 and (i >> cx) & 1
            i0, i1 = (j, i) if f else (i, j)  # with the CNOT undone first, the pair is read swapped
            if accumulate:
                _run_moments(pr, pi, lr, li, i0, i1, cnt, acc)
            uu = usw if f else u
            ss = shsw if f else shape
            _run_apply(pr, pi, i, j, cnt, uu, ss)
            if sweep:
                _run_apply(lr, li, i, j, cnt, uu, ss)
            k += cnt
        if accumulate:
            _tree_sum(acc, min(seg, _SUB), out)
    elif c < 0 and t == 0:
        _low_pass(pr, pi, lr, li, u, 1, cx, sweep, accumulate, out)
    elif c < 0 and t == 1:
        _low_pass(pr, pi, lr, li, u, 2, cx, sweep, accumulate, out)
    elif c < 0 and t == 2:
        _bit2_pass(pr.reshape((-1, 8)), pi.reshape((-1, 8)), lr.reshape((-1, 8)), li.reshape((-1, 8)), u, cx, sweep,
                   accumulate, out)
    else:  # controlled, with a low bit: scalar
        s0 = s1 = s2 = s3 = 0.0
        for k in range(pr.size >> (1 if c < 0 else 2)):
            i = _pair_base(k, t, c)
            f = cx >= 0 and (i >> cx) & 1
            m0, m1, m2, m3 = _pair_update(pr, pi, lr, li, i, i + half, f, u, sweep, accumulate)
            s0 += m0
            s1 += m1
            s2 += m2
            s3 += m3
        out[0] += s0
        out[1] += s1
        out[2] += s2
        out[3] += s3


# -- Z-parity rotations exp(-i theta/2 Z_mask): diagonal ----------------------------
@njit(cache=True, fastmath=_FM)
def _zpar_pass(pr, pi, lr, li, mask, co, si, sweep):
    """psi_x <- (co - i s_x si) psi_x, s_x = +-1 the Z-parity of x (lam too when sweeping).

    Returns sum_x s_x Im(conj(lam_x) psi_x) (before the update) when sweeping.
    """
    acc = 0.0
    m = uint64(mask)
    for i in range(uint64(pr.size)):
        z = 1.0 - 2.0 * _parity(i & m)
        s = si * z
        xr = pr[i]
        xi = pi[i]
        pr[i] = co * xr + s * xi
        pi[i] = co * xi - s * xr
        if sweep:
            yr = lr[i]
            yi = li[i]
            acc += z * (yr * xi - yi * xr)
            lr[i] = co * yr + s * yi
            li[i] = co * yi - s * yr
    return acc


# -- two-qubit gates on quads (bits q0 = first wire of the gate, q1 = second) ------
@njit(cache=True, inline="always")
def _quad_one(kind, c, s, x00, x01, x10, x11):
    """Gate (kind, cos, sin of theta/2) on the amplitudes of |00>, |01>, |10>, |11>."""
    if kind == P_XX:
        ms = complex(0.0, -s)
        return c * x00 + ms * x11, c * x01 + ms * x10, c * x10 + ms * x01, c * x11 + ms * x00
    if kind == P_YY:
        ms = complex(0.0, -s)
        return c * x00 - ms * x11, c * x01 + ms * x10, c * x10 + ms * x01, c * x11 - ms * x00
    if kind == P_SE:
        return x00, c * x01 - s * x10, s * x01 + c * x10, x11
    return x00, x10, x01, x11  # SWAP


@njit(cache=True)
def _quad_pass(pr, pi, lr, li, kind, q0, q1, c, s, sweep):
    """Two-qubit gate on bits (q0, q1); returns Im <lam| P |psi> for its generator P/2 when sweeping."""
    b0 = 1 << q0
    b1 = 1 << q1
    blo = min(q0, q1)
    bhi = max(q0, q1)
    acc = 0.0
    for k in range(pr.size >> 2):
        i00 = _ins(_ins(k, blo), bhi)
        i01 = i00 + b1
        i10 = i00 + b0
        i11 = i10 + b1
        p00 = complex(pr[i00], pi[i00])
        p01 = complex(pr[i01], pi[i01])
        p10 = complex(pr[i10], pi[i10])
        p11 = complex(pr[i11], pi[i11])
        if sweep:
            l00 = complex(lr[i00], li[i00])
            l01 = complex(lr[i01], li[i01])
            l10 = complex(lr[i10], li[i10])
            l11 = complex(lr[i11], li[i11])
            if kind == P_XX:  # Im <lam| XX |psi>
                z = l00.conjugate() * p11 + l11.conjugate() * p00 + l01.conjugate() * p10 + l10.conjugate() * p01
                acc += z.imag
            elif kind == P_YY:  # Im <lam| YY |psi>
                z = -l00.conjugate() * p11 - l11.conjugate() * p00 + l01.conjugate() * p10 + l10.conjugate() * p01
                acc += z.imag
            elif kind == P_SE:  # Im <lam| Y_sub |psi>, Y_sub = Pauli Y on span(|01>, |10>)
                z = l10.conjugate() * p01 - l01.conjugate() * p10
                acc += z.real
            l00, l01, l10, l11 = _quad_one(kind, c, s, l00, l01, l10, l11)
            lr[i00], li[i00] = l00.real, l00.imag
            lr[i01], li[i01] = l01.real, l01.imag
            lr[i10], li[i10] = l10.real, l10.imag
            lr[i11], li[i11] = l11.real, l11.imag
        p00, p01, p10, p11 = _quad_one(kind, c, s, p00, p01, p10, p11)
        pr[i00], pi[i00] = p00.real, p00.imag
        pr[i01], pi[i01] = p01.real, p01.imag
        pr[i10], pi[i10] = p10.real, p10.imag
        pr[i11], pi[i11] = p11.real, p11.imag
    return acc


# ----------------------------------------------------------------------------------
# Gate matrices
# ----------------------------------------------------------------------------------
@njit(cache=True)
def _micro_mat(kind, theta, fixed):
    if kind == M_FIXED:
        return fixed[0], fixed[1], fixed[2], fixed[3]
    c = math.cos(0.5 * theta)
    s = math.sin(0.5 * theta)
    if kind == M_RX:
        return complex(c, 0.0), complex(0.0, -s), complex(0.0, -s), complex(c, 0.0)
    if kind == M_RY:
        return complex(c, 0.0), complex(-s, 0.0), complex(s, 0.0), complex(c, 0.0)
    if kind == M_RZ:
        return complex(c, -s), 0j, 0j, complex(c, s)
    return complex(1.0, 0.0), 0j, 0j, complex(math.cos(theta), math.sin(theta))


@njit(cache=True)
def _generator(kind):
    """G with U = exp(-i theta G) as (g00, g01, g10, g11)."""
    if kind == M_RX:
        return 0j, 0.5 + 0j, 0.5 + 0j, 0j
    if kind == M_RY:
        return 0j, -0.5j, 0.5j, 0j
    if kind == M_RZ:
        return 0.5 + 0j, 0j, 0j, -0.5 + 0j
    return 0j, 0j, 0j, -1.0 + 0j  # phase shift


@njit(cache=True)
def _prepare(pkind, pc, mstart, mkind, mtheta, mfixed, mpidx):
    """Per instruction: fused matrix U and U^dag as 8 floats, their shape, identity and trainable flags."""
    ng = pkind.size
    uf = np.zeros((ng, 8))
    ub = np.zeros((ng, 8))
    shape = np.zeros(ng, dtype=np.int64)
    skip = np.zeros(ng, dtype=np.bool_)
    train = np.zeros(ng, dtype=np.bool_)
    for g in range(ng):
        if pkind[g] != P_BLOCK:
            continue
        u00, u01, u10, u11 = 1.0 + 0j, 0j, 0j, 1.0 + 0j
        for j in range(mstart[g, 0], mstart[g, 1]):
            a, b, c, d = _micro_mat(mkind[j], mtheta[j], mfixed[j])
            u00, u01, u10, u11 = a * u00 + b * u10, a * u01 + b * u11, c * u00 + d * u10, c * u01 + d * u11
            if mpidx[j] >= 0:
                train[g] = True
        v00, v01, v10, v11 = u00.conjugate(), u10.conjugate(), u01.conjugate(), u11.conjugate()
        uf[g, 0], uf[g, 1], uf[g, 2], uf[g, 3] = u00.real, u00.imag, u01.real, u01.imag
        uf[g, 4], uf[g, 5], uf[g, 6], uf[g, 7] = u10.real, u10.imag, u11.real, u11.imag
        ub[g, 0], ub[g, 1], ub[g, 2], ub[g, 3] = v00.real, v00.imag, v01.real, v01.imag
        ub[g, 4], ub[g, 5], ub[g, 6], ub[g, 7] = v10.real, v10.imag, v11.real, v11.imag
        if u01 == 0j and u10 == 0j:
            shape[g] = 1
        elif u00 == 0j and u11 == 0j:
            shape[g] = 2
        skip[g] = shape[g] == 1 and u00 == 1.0 + 0j and u11 == 1.0 + 0j and pc[g] < 0
    return uf, ub, shape, skip, train


@njit(cache=True)
def _block_grad(g, a, mstart, mkind, mtheta, mfixed, mpidx, grad):
    """Gradients of the angles of block g from its moments (see :func:`_blk_pass`).

    Angle j gets 2 Im sum_ab E_ab A_ab with E = W G_j W^dag Hermitian (W: the block's
    micro-ops after j), i.e. 2 (E00 Im A00 + E11 Im A11 + Im(E01 (A01 - conj(A10)))).
    """
    b = complex(a[2], a[3])
    w00, w01, w10, w11 = 1.0 + 0j, 0j, 0j, 1.0 + 0j
    for j in range(mstart[g, 1] - 1, mstart[g, 0] - 1, -1):
        if mpidx[j] >= 0:
            g00, g01, g10, g11 = _generator(mkind[j])
            t00 = w00 * g00 + w01 * g10
            t01 = w00 * g01 + w01 * g11
            t10 = w10 * g00 + w11 * g10
            t11 = w10 * g01 + w11 * g11
            e00 = t00 * w00.conjugate() + t01 * w01.conjugate()
            e01 = t00 * w10.conjugate() + t01 * w11.conjugate()
            e11 = t10 * w10.conjugate() + t11 * w11.conjugate()
            grad[mpidx[j]] += 2.0 * (e00.real * a[0] + e11.real * a[1] + (e01 * b).imag)
        p, q, r, s = _micro_mat(mkind[j], mtheta[j], mfixed[j])
        w00, w01, w10, w11 = w00 * p + w01 * r, w00 * q + w01 * s, w10 * p + w11 * r, w10 * q + w11 * s


# ----------------------------------------------------------------------------------
# One instruction on a (sub)state
# ----------------------------------------------------------------------------------
@njit(cache=True)
def _gate(xr, xi, yr, yi, g, pkind, pa, pb, pc, pmask, ptheta, u, shape, skip, train, sweep, out):
    """Apply instruction g to x (forward, u = U) or un-apply it to x and y adding its moments to out (u = U^dag)."""
    kind = pkind[g]
    if kind == P_BLOCK:
        if skip[g] and not (sweep and train[g]):
            return
        row = (u[g, 0], u[g, 1], u[g, 2], u[g, 3], u[g, 4], u[g, 5], u[g, 6], u[g, 7])
        _blk_pass(xr, xi, yr, yi, pa[g], pb[g], pc[g], row, shape[g], sweep, sweep and train[g], out)
        return
    h = 0.5 * ptheta[g]
    si = -math.sin(h) if sweep else math.sin(h)
    if kind == P_ZPAR:
        out[0] += _zpar_pass(xr, xi, yr, yi, pmask[g], math.cos(h), si, sweep)
    else:
        out[0] += _quad_pass(xr, xi, yr, yi, kind, pa[g], pb[g], math.cos(h), si, sweep)


# ----------------------------------------------------------------------------------
# Runs: a stretch of instructions that leaves the top bits alone acts independently
# on the contiguous slices (chunks) of the state those bits number, so each chunk goes
# through the whole stretch at once: in cache when chunks are small, one thread per
# chunk without synchronising per gate. See ``_partition``.
# ----------------------------------------------------------------------------------
@njit(cache=True)
def _run_chunk(pr, pi, lr, li, lo, size, g0, g1, pkind, pa, pb, pc, pmask, ptheta, u, shape, skip, train, sweep, acc):
    """Instructions g0..g1 (reversed when sweeping) on the slice lo:lo + size, moments into acc."""
    xr = pr[lo:lo + size]
    xi = pi[lo:lo + size]
    yr = lr[lo:lo + size] if sweep else xr
    yi = li[lo:lo + size] if sweep else xi
    for q in range(g1 - g0):
        g = g1 - 1 - q if sweep else g0 + q
        _gate(xr, xi, yr, yi, g, pkind, pa, pb, pc, pmask, ptheta, u, shape, skip, train, sweep, acc[g - g0])


@njit(cache=True, nogil=True)
def _run_chunks(pr, pi, lr, li, c0, c1, size, g0, g1, pkind, pa, pb, pc, pmask, ptheta, u, shape, skip, train, sweep,
                acc):
    """Chunks c0..c1 (of `size` amplitudes) through instructions g0..g1; releases the GIL."""
    for ch in range(c0, c1):
        _run_chunk(pr, pi, lr, li, ch * size, size, g0, g1, pkind, pa, pb, pc, pmask, ptheta, u, shape, skip, train,
                   sweep, acc)


@njit(cache=True)
def _run_grads(g0, g1, acc, pkind, ppidx, train, mstart, mkind, mtheta, mfixed, mpidx, grad):
    """Gradients of the angles of instructions g0..g1 from their moments acc[g - g0]."""
    for g in range(g0, g1):
        if pkind[g] == P_BLOCK:
            if train[g]:
                _block_grad(g, acc[g - g0], mstart, mkind, mtheta, mfixed, mpidx, grad)
        elif ppidx[g] >= 0:
            grad[ppidx[g]] += acc[g - g0, 0]


# ----------------------------------------------------------------------------------
# Compilation of PennyLane operations
# ----------------------------------------------------------------------------------
class _Program:
    """A circuit as flat arrays for the numba drivers."""

    __slots__ = ("pkind", "pa", "pb", "pc", "pmask", "ptheta", "ppidx", "mstart", "mkind", "mtheta", "mfixed", "mpidx",
                 "n_params")


_INT_TYPES = (int, np.integer)
_FLOAT_TYPES = (float, np.floating, int, np.integer)


def _op_wires(op, n: int) -> tuple[int, ...] | None:
    try:
        wires = op.wires.labels
    except AttributeError:
        return None
    for w in wires:
        if not isinstance(w, _INT_TYPES) or isinstance(w, bool) or not 0 <= w < n:
            return None
    if len(wires) > 1 and len(set(wires)) != len(wires):
        return None
    return wires


def _op_angles(op) -> tuple | None:
    data = op.data
    if all(isinstance(x, _FLOAT_TYPES) for x in data):
        return data
    out = []
    for x in data:
        try:
            a = np.asarray(x)
            if a.ndim != 0 or not np.isrealobj(a):
                return None
            out.append(float(a))
        except (TypeError, ValueError):
            return None
    return tuple(out)


def _n_wires(name: str) -> int | None:
    if name in _ONE_QUBIT:
        return 1
    if name in _CONTROLLED or name in _TWO_QUBIT or name == "IsingZZ":
        return 2
    return None  # MultiRZ: any


def _parse_op(op, n: int) -> tuple[str, tuple[int, ...], tuple] | str:
    """``(name, wires, angles)`` of a supported operation (``MultiRZ`` on one wire renamed ``RZ``), or why not."""
    name = getattr(op, "name", None)
    if name not in SUPPORTED_OPS:
        return f"operation {name!r} is not supported"
    if name == "Identity":
        return name, (), ()
    wires = _op_wires(op, n)
    if wires is None:
        return f"{name} acts on wires {list(op.wires)!r}, not distinct integers in 0..{n - 1}"
    angles = _op_angles(op)
    if angles is None:
        return f"{name} has non-scalar or non-real parameters"
    need = _n_wires(name)
    if (need is not None and len(wires) != need) or len(angles) != _N_PARAMS.get(name, len(angles)):
        return f"{name} has an unexpected signature"
    if name == "MultiRZ" and len(wires) == 1:  # a plain RZ
        name = "RZ"
    return name, wires, angles


class _Assembler:
    """Instructions and micro-ops of a program being compiled.

    One-qubit gates (and controlled ones) collect in pending blocks keyed by (target bit,
    control bit); a block is emitted when a later gate touches one of its bits.
    """

    def __init__(self) -> None:
        self.pkind: list[int] = []
        self.pa: list[int] = []
        self.pb: list[int] = []
        self.pmask: list[int] = []
        self.ptheta: list[float] = []
        self.ppidx: list[int] = []
        self.mstart: list[int] = []
        self.mkind: list[int] = []
        self.mtheta: list[float] = []
        self.mfixed: list[np.ndarray] = []
        self.mpidx: list[int] = []
        # pending one-qubit blocks: key (target bit, control bit) -> list of micro-ops
        self.pending: dict[tuple[int, int], list] = {}
        self.pending_wires: dict[int, tuple[int, int]] = {}  # bit -> key of the pending block using it

    def flush(self, key: tuple[int, int]) -> None:
        micro = self.pending.pop(key)
        for b in key:
            if b >= 0:
                self.pending_wires.pop(b, None)
        if not micro:
            return
        self.pkind.append(P_BLOCK)
        self.pa.append(key[0])
        self.pb.append(key[1])
        self.pmask.append(0)
        self.ptheta.append(0.0)
        self.ppidx.append(-1)
        self.mstart.append(len(self.mkind))
        for kind, theta, fixed, pidx in micro:
            self.mkind.append(kind)
            self.mtheta.append(theta)
            self.mfixed.append(fixed)
            self.mpidx.append(pidx)

    def flush_bits(self, bits: Sequence[int], keep: tuple[int, int] | None = None) -> None:
        for b in bits:
            key = self.pending_wires.get(b)
            if key is not None and key != keep:
                self.flush(key)

    def add_block_gate(self, name: str, bits: Sequence[int], angles: tuple, pidx: int) -> None:
        """A one-qubit or controlled gate: micro-ops appended to the pending block on its bits."""
        if name in _ONE_QUBIT:
            key = (bits[0], -1)
            table = _ONE_QUBIT[name]
        else:
            key = (bits[1], bits[0])
            table = _CONTROLLED[name]
        self.flush_bits(bits, keep=key)
        if key not in self.pending:
            self.pending[key] = []
            for b in key:
                if b >= 0:
                    self.pending_wires[b] = key
        block = self.pending[key]
        for kind, fixed, di in table:
            if di >= 0:
                block.append((kind, float(angles[di]), _I4, pidx + di))
            else:
                block.append((kind, 0.0, fixed, -1))

    def add_instruction(self, name: str, bits: Sequence[int], angles: tuple, pidx: int) -> None:
        """A Z-parity or two-qubit gate: an instruction of its own, after flushing the blocks on its bits."""
        self.flush_bits(bits)
        self.pkind.append(P_ZPAR if name in ("IsingZZ", "MultiRZ") else _TWO_QUBIT[name])
        self.pa.append(bits[0])
        self.pb.append(bits[1] if len(bits) > 1 else -1)
        self.pmask.append(sum(1 << b for b in bits))
        self.ptheta.append(float(angles[0]) if angles else 0.0)
        self.ppidx.append(pidx if angles else -1)
        self.mstart.append(len(self.mkind))

    def finish(self) -> None:
        """Emit the blocks still pending and close the micro-op ranges."""
        for key in list(self.pending):
            self.flush(key)
        self.mstart.append(len(self.mkind))


def _fuse_cnots(asm: _Assembler) -> tuple[list, ...]:
    """``(pkind, pa, pb, pc, pmask, ptheta, ppidx, micro-op ranges)`` with CNOTs folded into blocks.

    A CNOT right after an uncontrolled block on its target rides along in the block's pass.
    """
    pkind, pa, pb, mstart, mkind, mfixed = asm.pkind, asm.pa, asm.pb, asm.mstart, asm.mkind, asm.mfixed
    mr = [(mstart[g], mstart[g + 1]) for g in range(len(pkind))]  # micro-op range of each instruction
    pc = [-1] * len(pkind)
    keep = [True] * len(pkind)
    for g in range(len(pkind) - 1):
        h = g + 1
        if (keep[g] and pkind[g] == P_BLOCK and pb[g] < 0 and pkind[h] == P_BLOCK and pb[h] >= 0 and pa[h] == pa[g]
                and mstart[h + 1] - mstart[h] == 1 and mkind[mstart[h]] == M_FIXED and mfixed[mstart[h]] is _X4):
            pc[g] = pb[h]
            keep[h] = False
    columns = (pkind, pa, pb, pc, asm.pmask, asm.ptheta, asm.ppidx, mr)
    if all(keep):
        return columns
    idx = [g for g in range(len(pkind)) if keep[g]]
    return tuple([v[g] for g in idx] for v in columns)


def _compile(ops: Sequence, n: int) -> tuple[_Program | None, str | None]:
    """Compile ``ops``; returns (program, None) or (None, reason it is unsupported)."""
    asm = _Assembler()
    pidx = 0
    for op in ops:
        parsed = _parse_op(op, n)
        if isinstance(parsed, str):
            return None, parsed
        name, wires, angles = parsed
        if name == "Identity":
            continue
        bits = [n - 1 - w for w in wires]
        if name in _ONE_QUBIT or name in _CONTROLLED:
            asm.add_block_gate(name, bits, angles, pidx)
        else:
            asm.add_instruction(name, bits, angles, pidx)
        pidx += len(angles)
    asm.finish()
    pkind, pa, pb, pc, pmask, ptheta, ppidx, mr = _fuse_cnots(asm)

    prog = _Program()
    prog.pkind = np.asarray(pkind, dtype=np.int64)
    prog.pc = np.asarray(pc, dtype=np.int64)
    prog.pa = np.asarray(pa, dtype=np.int64)
    prog.pb = np.asarray(pb, dtype=np.int64)
    prog.pmask = np.asarray(pmask, dtype=np.int64)
    prog.ptheta = np.asarray(ptheta, dtype=np.float64)
    prog.ppidx = np.asarray(ppidx, dtype=np.int64)
    prog.mstart = np.asarray(mr, dtype=np.int64).reshape(-1, 2)
    prog.mkind = np.asarray(asm.mkind, dtype=np.int64)
    prog.mtheta = np.asarray(asm.mtheta, dtype=np.float64)
    prog.mfixed = np.asarray(asm.mfixed, dtype=np.complex128).reshape(-1, 4)
    prog.mpidx = np.asarray(asm.mpidx, dtype=np.int64)
    prog.n_params = pidx
    return prog, None


def _instr_bits(prog: _Program, g: int) -> int:
    kind = prog.pkind[g]
    if kind == P_ZPAR:
        return int(prog.pmask[g])
    bits = 1 << int(prog.pa[g])
    for q in (prog.pb[g], prog.pc[g]):
        if q >= 0:
            bits |= 1 << int(q)
    return bits


class _Runs:
    """Partition of a program into runs: instruction ranges and their chunk counts (see ``_run_chunks``)."""

    __slots__ = ("rstart", "rchunks", "key")


def _partition(prog: _Program, n: int, threads: int) -> _Runs:
    """Maximal stretches of instructions of one class, and the number of chunks each is run in.

    Instructions below bit CACHE_BITS run chunk by chunk on 2^CACHE_BITS amplitudes (in
    cache through the whole run); with T > 1 threads, those off the top log2(T) bits run on
    T slices in parallel; the rest run on the whole state.
    """
    m = threads.bit_length() - 1
    n_cache = min(CACHE_BITS, n)
    starts, chunks = [], []
    for g in range(prog.pkind.size):
        top_bit = _instr_bits(prog, g).bit_length() - 1
        if top_bit < n_cache:
            c = 1 << (n - n_cache)
        elif top_bit < n - m:
            c = 1 << m
        else:
            c = 1
        if not chunks or chunks[-1] != c:
            starts.append(g)
            chunks.append(c)
    out = _Runs()
    out.rstart = np.asarray(starts + [prog.pkind.size], dtype=np.int64)
    out.rchunks = np.asarray(chunks, dtype=np.int64)
    return out


# ----------------------------------------------------------------------------------
# Public runner
# ----------------------------------------------------------------------------------
class FastAdjointRunner:
    """Probabilities and exact diagonal-observable gradients of a circuit, on numba kernels.

    Drop-in for :class:`~qgenflow.circuits.CircuitRunner` when
    :meth:`supports` is true.

    Args:
        n_qubits: number of wires (0..n_qubits-1).
        fallback: optional runner with ``probs``/``diagonal_grad`` (e.g. a CircuitRunner)
            that takes over circuits this engine does not support; without one they raise
            ``ValueError``.
        threads: threads to use from PARALLEL_MIN_QUBITS qubits on (default
            ``numba.get_num_threads()``, i.e. NUMBA_NUM_THREADS); rounded down to a power of two.
    """

    def __init__(self, n_qubits: int, fallback=None, threads: int | None = None, seed: int = 0):
        if not 1 <= int(n_qubits) <= 34:
            raise ValueError(f"n_qubits must be in 1..34, got {n_qubits}")
        self.n_qubits = int(n_qubits)
        self.seed = int(seed)
        self.fallback = fallback
        self.threads = threads
        # last circuit: (ops, their data, program, final state or None); see _lookup
        self._last: tuple | None = None
        self._runs_cache: _Runs | None = None

    # -- helpers -------------------------------------------------------------------
    def _threads(self) -> int:
        """Threads to use: a power of two, 1 below PARALLEL_MIN_QUBITS."""
        threads = max(int(self.threads or get_num_threads()), 1)
        if self.n_qubits < PARALLEL_MIN_QUBITS:
            return 1
        return 1 << (min(threads, MAX_WORKERS).bit_length() - 1)

    def _lookup(self, ops: list):
        """The cached entry if ``ops`` are the same operation objects, with the same data, as last time."""
        last = self._last
        if last is None or len(last[0]) != len(ops):
            return None
        for op, old, data in zip(ops, last[0], last[1]):
            if op is not old or not (op.data is data or op.data == data):
                return None
        return last

    def _program(self, ops: list) -> _Program | None:
        """Compiled program for ``ops`` (None: unsupported and a fallback is set)."""
        last = self._lookup(ops)
        if last is not None:
            return last[2]
        prog, reason = _compile(ops, self.n_qubits)
        if prog is None:
            if self.fallback is None:
                raise ValueError(f"FastAdjointRunner cannot run this circuit: {reason}")
            return None
        self._last = (ops, [op.data for op in ops], prog, None)
        return prog

    def _runs(self, prog: _Program) -> _Runs:
        threads = self._threads()
        key = (threads, prog.pkind.tobytes(), prog.pa.tobytes(), prog.pb.tobytes(), prog.pc.tobytes(),
               prog.pmask.tobytes())
        if self._runs_cache is None or self._runs_cache.key != key:
            self._runs_cache = _partition(prog, self.n_qubits, threads)
            self._runs_cache.key = key
        return self._runs_cache

    def _execute(self, prog: _Program, pr, pi, lr, li, u, prep, grad, sweep: bool) -> None:
        """Forward pass psi <- U_N ... U_1 psi, or (sweep) the backward sweep filling grad."""
        runs = self._runs(prog)
        _, _, shape, skip, train = prep
        threads = self._threads()
        gates = (prog.pkind, prog.pa, prog.pb, prog.pc, prog.pmask, prog.ptheta, u, shape, skip, train, sweep)
        nr = runs.rchunks.size
        for r in range(nr - 1, -1, -1) if sweep else range(nr):
            g0, g1, nchunk = int(runs.rstart[r]), int(runs.rstart[r + 1]), int(runs.rchunks[r])
            size = pr.size // nchunk
            nw = min(threads, nchunk)
            acc = np.zeros((nw, g1 - g0, 8))
            # Each thread through a share of the chunks (runtime.in_shares: Python threads, GIL-free kernels).
            in_shares(lambda lo, hi, w: _run_chunks(pr, pi, lr, li, lo, hi, size, g0, g1, *gates, acc[w]), nchunk, nw)
            if sweep:
                _run_grads(g0, g1, acc.sum(axis=0), prog.pkind, prog.ppidx, train, prog.mstart, prog.mkind,
                           prog.mtheta, prog.mfixed, prog.mpidx, grad)

    def _forward(self, prog: _Program, prep) -> tuple[np.ndarray, np.ndarray]:
        pr = np.zeros(1 << self.n_qubits)
        pi = np.zeros(1 << self.n_qubits)
        pr[0] = 1.0
        self._execute(prog, pr, pi, pr, pi, prep[0], prep, np.zeros(0), False)
        return pr, pi

    @staticmethod
    def _prepare(prog: _Program):
        return _prepare(prog.pkind, prog.pc, prog.mstart, prog.mkind, prog.mtheta, prog.mfixed, prog.mpidx)

    # -- API -----------------------------------------------------------------------
    def supports(self, ops: Sequence) -> bool:
        """Whether every operation of ``ops`` can run on this engine."""
        return _compile(list(ops), self.n_qubits)[0] is not None

    def state(self, ops: Sequence) -> np.ndarray:
        """The statevector U|0...0> (big-endian, complex128)."""
        prog, reason = _compile(list(ops), self.n_qubits)
        if prog is None:
            raise ValueError(f"FastAdjointRunner cannot run this circuit: {reason}")
        pr, pi = self._forward(prog, self._prepare(prog))
        return pr + 1j * pi

    def probs(self, ops: Sequence, step: int = 0) -> np.ndarray:
        """Big-endian probability vector of the state prepared by ``ops`` from |0...0>.

        The state is kept, so ``diagonal_grad`` on the same operation objects right
        after skips its forward pass (operations are treated as immutable).
        """
        ops = list(ops)
        prog = self._program(ops)
        if prog is None:
            return self.fallback.probs(ops)
        pr, pi = self._forward(prog, self._prepare(prog))
        self._last = self._last[:3] + ((pr, pi),)
        return pr * pr + pi * pi

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int = 0) -> np.ndarray:
        """Gradient of ``sum_x diag[x] p(x)`` with respect to every trainable angle of ``ops``."""
        ops = list(ops)
        diag = np.ascontiguousarray(diag, dtype=np.float64).reshape(-1)
        if diag.size != 1 << self.n_qubits:
            raise ValueError(f"diag has {diag.size} entries, expected {1 << self.n_qubits}")
        prog = self._program(ops)
        if prog is None:
            return self.fallback.diagonal_grad(ops, diag)
        prep = self._prepare(prog)
        state = self._last[3]
        self._last = self._last[:3] + (None,)  # the sweep consumes the state
        pr, pi = state if state is not None else self._forward(prog, prep)
        lr = diag * pr
        li = diag * pi
        grad = np.zeros(prog.n_params, dtype=np.float64)
        self._execute(prog, pr, pi, lr, li, prep[1], prep, grad, True)
        return grad

    def samples(self, ops: Sequence, step: int, shots: int) -> np.ndarray:
        """[shots, n] uint8 samples drawn exactly from the circuit's probabilities."""
        return samples_from_probs(self.probs(ops), shots, self.seed, step)
