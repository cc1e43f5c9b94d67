"""Brickwork circuits simulated as a matrix product state in JAX: truncated to bond dimension chi, differentiable.

The circuit (:class:`~qgenflow.models.brickwork.Brickwork` builds the same one in PennyLane):
per layer ``RY(theta[l, q, 0])`` then ``RZ(theta[l, q, 1])`` on every qubit ``q``, then a
two-qubit gate (CNOT, control on the left, or CZ) on the even bonds ``(0, 1), (2, 3), ...``,
then on the odd bonds ``(1, 2), (3, 4), ...`` (layout ``brickwork``), or on every bond in turn
``(0, 1), (1, 2), ..., (n - 2, n - 1)`` (layout ``staircase``, a sequential circuit). The state is an MPS of ``n`` tensors
``[chi, 2, chi]`` (left bond, physical, right bond; index 0 of the physical axis = bit 0 =
``Z = +1``), zero-padded to ``chi`` on every bond so one layer is two :func:`jax.lax.scan`
sweeps of identical steps: a left-to-right sweep applies the even-bond gates (the identity on
odd bonds) and a right-to-left sweep the odd-bond gates (staircase: the left-to-right sweep applies
every gate and the right-to-left sweep none, only moving the centre back). Each step contracts the two sites
around the orthogonality centre, applies the gate, and keeps the ``chi`` largest Schmidt
values of the ``[2 chi, 2 chi]`` matrix (TEBD). The discarded weight of each step (its
discarded squared singular values over their sum; the state is renormalised) is summed into
the truncation error. A depth-``L`` brickwork or staircase crosses every cut with ``L`` gates,
so ``chi >= 2^L`` truncates nothing. A brickwork's light cone bounds its correlations to
about ``4 L`` sites; a staircase layer reaches across the whole chain (one layer of CNOTs
after ``RY`` rotations is a Markov chain of bit flips), as long-range correlated targets need.

Gradients: :func:`truncated_svd` has its own JVP (reverse mode is its transpose). The state
depends on a truncation step only through the projector onto the kept left singular vectors,
so the JVP leaves out the rotations among kept vectors (a gauge), whose ``1 / (s_i^2 - s_j^2)``
is singular for the degenerate zero singular values of the padding; the kept-discarded terms
are broadened, ``d / (d^2 + eps)``, which only matters for a degenerate truncation cut. At a
point where a bond's rank is below its generic value (all angles exactly 0, say) the
directions that raise the rank are missed, as by any SVD-based gradient: initialise at
random angles.

TeNPy (used for DMRG targets, :mod:`qgenflow.targets.dmrg`) is not differentiable and quimb
conflicts with PennyLane's ``autoray`` pin, hence JAX by hand.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..catalog import BRICKWORK_LAYOUTS as LAYOUTS
from ..limits import MAX_DENSE_QUBITS

__all__ = [
    "LAYOUTS",
    "MPS",
    "SVD_EPS",
    "entangler_matrix",
    "mps_probs",
    "mps_state",
    "sample_mps",
    "simulate",
    "truncated_svd",
    "zstring_expvals",
]

#: Broadening of ``1 / (s_i^2 - s_j^2)`` between a kept and a discarded singular value.
SVD_EPS = 1e-24
# Samples per batch of sample_mps (caps memory at batch x chi x 2 amplitudes).
_SAMPLE_BATCH = 1 << 14


class MPS(NamedTuple):
    """A simulated circuit: tensors [n, chi, 2, chi] (site 0 the orthogonality centre, the rest
    right-canonical) and the discarded weight of every truncation step."""

    tensors: jax.Array
    discarded: jax.Array

    @property
    def truncation_error(self) -> float:
        """Sum of the discarded weights of all truncation steps."""
        return float(jnp.sum(self.discarded))


def _enable_x64() -> None:
    jax.config.update("jax_enable_x64", True)


def entangler_matrix(entangler: str) -> np.ndarray:
    """The [4, 4] matrix of the two-qubit gate (left qubit most significant); ValueError if unknown."""
    if entangler == "cnot":
        return np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=np.complex128)
    if entangler == "cz":
        return np.diag([1, 1, 1, -1]).astype(np.complex128)
    raise ValueError(f"unknown entangler {entangler!r}; allowed: cnot, cz")


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def truncated_svd(m: jax.Array, chi: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Truncation of a square matrix to rank ``chi``: ``(U_k, U_k^H m, s)``.

    ``U_k`` [r, chi] are the left singular vectors of the ``chi`` largest singular values
    ``s`` (all ``r``, descending), so ``U_k (U_k^H m)`` is the best rank-``chi`` approximation.
    """
    u, s, _ = jnp.linalg.svd(m, full_matrices=False)
    u_k = u[:, :chi]
    return u_k, u_k.conj().T @ m, s


@truncated_svd.defjvp
def _truncated_svd_jvp(chi, primals, tangents):
    (m,), (dm,) = primals, tangents
    u, s, vh = jnp.linalg.svd(m, full_matrices=False)
    u_k, u_d = u[:, :chi], u[:, chi:]
    ds = u.conj().T @ dm @ vh.conj().T  # U^H dM V
    s_k, s_d = s[:chi], s[chi:]
    gap = s_k[None, :] ** 2 - s_d[:, None] ** 2  # [discarded j, kept i]
    f = gap / (gap**2 + SVD_EPS)
    # u_j^H du_i = (s_i dS_ji + s_j conj(dS_ij)) / (s_i^2 - s_j^2) for kept i, discarded j; kept-kept: gauge, 0.
    x = (s_k[None, :] * ds[chi:, :chi] + s_d[:, None] * ds[:chi, chi:].conj().T) * f
    du_k = u_d @ x
    c = u_k.conj().T @ m
    dc = du_k.conj().T @ m + u_k.conj().T @ dm
    return (u_k, c, s), (du_k, dc, jnp.real(jnp.diagonal(ds)))


def _rotations(theta_layer: jax.Array) -> jax.Array:
    """[n, 2, 2] matrices RZ(phi) RY(alpha) of one layer's angles [n, 2]."""
    a, p = theta_layer[:, 0] / 2, theta_layer[:, 1] / 2
    c, s = jnp.cos(a), jnp.sin(a)
    ry = jnp.stack([jnp.stack([c, -s], -1), jnp.stack([s, c], -1)], -2).astype(jnp.complex128)
    rz = jnp.stack([jnp.exp(-1j * p), jnp.exp(1j * p)], -1)
    return rz[:, :, None] * ry


def _two_site(left: jax.Array, right: jax.Array, gate: jax.Array) -> jax.Array:
    """The [2 chi, 2 chi] matrix (rows: left bond, bit; columns: bit, right bond) of ``gate`` on two sites."""
    chi = left.shape[0]
    theta = jnp.einsum("asb,btc->astc", left, right)
    theta = jnp.einsum("uvst,astc->auvc", gate.reshape(2, 2, 2, 2), theta)
    return theta.reshape(2 * chi, 2 * chi)


def _normalised(c: jax.Array, s: jax.Array, chi: int) -> tuple[jax.Array, jax.Array]:
    """The kept part renormalised, and the discarded weight (kept: the ``chi`` largest of ``s``)."""
    weight = jnp.sum(s**2)
    discarded = jax.lax.stop_gradient(jnp.sum(s[chi:] ** 2) / weight)
    return c / jnp.sqrt(jnp.sum(jnp.abs(c) ** 2)), discarded


def _sweep_right(tensors: jax.Array, gates: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Left-to-right sweep, gate ``gates[i]`` on bond ``(i, i + 1)``; the centre moves from site 0 to n - 1."""
    chi = tensors.shape[1]

    def step(centre, x):
        right, gate = x
        u_k, c, s = truncated_svd(_two_site(centre, right, gate), chi)
        c, discarded = _normalised(c, s, chi)
        return c.reshape(chi, 2, chi), (u_k.reshape(chi, 2, chi), discarded)

    last, (lefts, discarded) = jax.lax.scan(step, tensors[0], (tensors[1:], gates))
    return jnp.concatenate([lefts, last[None]]), discarded


def _sweep_left(tensors: jax.Array, gates: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Right-to-left sweep, gate ``gates[i]`` on bond ``(i, i + 1)``; the centre moves from site n - 1 to 0."""
    chi = tensors.shape[1]

    def step(centre, x):
        left, gate = x
        v_k, c_h, s = truncated_svd(_two_site(left, centre, gate).conj().T, chi)  # M^H = V S U^H
        c_h, discarded = _normalised(c_h, s, chi)
        return c_h.conj().T.reshape(chi, 2, chi), (v_k.conj().T.reshape(chi, 2, chi), discarded)

    first, (rights, discarded) = jax.lax.scan(step, tensors[-1], (tensors[:-1], gates), reverse=True)
    return jnp.concatenate([first[None], rights]), discarded


def _bond_gates(n: int, entangler: str, layout: str = "brickwork") -> tuple[np.ndarray, np.ndarray]:
    """[n - 1, 4, 4] gates per bond of the left-to-right sweep and of the right-to-left sweep.

    Brickwork: the even bonds, then the odd bonds (identity elsewhere). Staircase: every bond in
    the left-to-right sweep, the identity in the right-to-left one.
    """
    gate, eye = entangler_matrix(entangler), np.eye(4, dtype=np.complex128)
    if layout == "staircase":
        return np.stack([gate] * (n - 1)), np.stack([eye] * (n - 1))
    if layout != "brickwork":
        raise ValueError(f"unknown layout {layout!r}; allowed: {', '.join(LAYOUTS)}")
    even = np.stack([gate if i % 2 == 0 else eye for i in range(n - 1)])
    odd = np.stack([gate if i % 2 == 1 else eye for i in range(n - 1)])
    return even, odd


def simulate(theta: jax.Array, n: int, chi: int, entangler: str = "cnot", layout: str = "brickwork") -> MPS:
    """The MPS of the brickwork (or staircase) circuit with angles ``theta`` [layers, n, 2] applied to ``|0...0>``.

    Traceable by JAX (``n``, ``chi``, ``entangler`` and ``layout`` are static). Returns the tensors
    with the orthogonality centre on site 0 and the discarded weight of each of the
    ``2 (n - 1) layers`` steps.
    """
    _enable_x64()
    if n < 2 or chi < 1:
        raise ValueError(f"need n >= 2 qubits and bond dimension chi >= 1, got n = {n}, chi = {chi}")
    theta = jnp.asarray(theta, dtype=jnp.float64)
    if theta.ndim != 3 or theta.shape[1:] != (n, 2):
        raise ValueError(f"angles must be shaped [layers, {n}, 2], got {theta.shape}")
    even, odd = (jnp.asarray(g) for g in _bond_gates(n, entangler, layout))
    tensors = jnp.zeros((n, chi, 2, chi), dtype=jnp.complex128).at[:, 0, 0, 0].set(1.0)

    def layer(tensors, angles):
        tensors = jnp.einsum("qts,qasb->qatb", _rotations(angles), tensors)
        tensors, d_even = _sweep_right(tensors, even)
        tensors, d_odd = _sweep_left(tensors, odd)
        return tensors, jnp.concatenate([d_even, d_odd])

    tensors, discarded = jax.lax.scan(layer, tensors, theta)
    return MPS(tensors, discarded.reshape(-1))


def zstring_expvals(tensors: jax.Array, strings: jax.Array) -> jax.Array:
    """Exact ``<Z_a>`` of the MPS for every row ``a`` of ``strings`` [m, n] (bits, Z on the ones).

    Transfer matrices from the left with ``Z`` inserted on the sites of ``a``: ``O(m n chi^3)``.
    """
    chi = tensors.shape[1]
    bits = jnp.asarray(strings, dtype=jnp.float64)
    signs = jnp.stack([jnp.ones_like(bits), 1.0 - 2.0 * bits], axis=-1)  # [m, n, 2]
    env = jnp.zeros((bits.shape[0], chi, chi), dtype=tensors.dtype).at[:, 0, 0].set(1.0)

    def site(env, x):
        tensor, sign = x
        ket = jnp.einsum("mab,bsd->masd", env, tensor)
        return jnp.einsum("masd,asc,ms->mcd", ket, tensor.conj(), sign.astype(tensors.dtype)), None

    env, _ = jax.lax.scan(site, env, (tensors, jnp.swapaxes(signs, 0, 1)))
    return jnp.real(jnp.trace(env, axis1=1, axis2=2))


def mps_probs(tensors: jax.Array | np.ndarray) -> np.ndarray:
    """Big-endian probabilities ``|<x|psi>|^2`` of the MPS, by contracting it (``n <= MAX_DENSE_QUBITS``)."""
    return np.abs(mps_state(tensors)) ** 2


def mps_state(tensors: jax.Array | np.ndarray) -> np.ndarray:
    """Big-endian statevector ``<x|psi>`` of the MPS, by contracting it (``n <= MAX_DENSE_QUBITS``)."""
    tensors = np.asarray(tensors)
    n = tensors.shape[0]
    if n > MAX_DENSE_QUBITS:
        raise ValueError(f"dense probabilities are limited to {MAX_DENSE_QUBITS} qubits, got {n}")
    psi = tensors[0][0]  # [2, chi]: the left boundary bond is index 0
    for tensor in tensors[1:]:
        psi = np.einsum("xa,asb->xsb", psi, tensor).reshape(-1, tensor.shape[-1])
    return psi[:, 0]


def sample_mps(tensors: jax.Array | np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """[n_samples, n] uint8 exact samples of the MPS (centre on site 0, the rest right-canonical).

    Sequential conditional sampling, site 0 first: with the sites to the right right-canonical,
    ``p(x_k | x_<k)`` is the squared norm of the left environment contracted with site ``k``.
    """
    tensors = np.asarray(tensors)
    n, chi = tensors.shape[0], tensors.shape[1]
    out = np.empty((int(n_samples), n), dtype=np.uint8)
    for start in range(0, int(n_samples), _SAMPLE_BATCH):
        rows = min(_SAMPLE_BATCH, int(n_samples) - start)
        env = np.zeros((rows, chi), dtype=tensors.dtype)
        env[:, 0] = 1.0
        for k in range(n):
            amp = np.einsum("ra,asb->rsb", env, tensors[k])  # [rows, 2, chi]
            weight = np.sum(np.abs(amp) ** 2, axis=2)
            bit = (rng.random(rows) * weight.sum(axis=1) < weight[:, 1]).astype(np.uint8)
            out[start : start + rows, k] = bit
            env = amp[np.arange(rows), bit]
            env /= np.sqrt(weight[np.arange(rows), bit])[:, None]
    return out
