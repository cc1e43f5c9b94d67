"""JAX kernels of the IQP estimator's dense weight-2 path (:mod:`qgenflow.train.iqp_estimator`).

With every (or most) weight-2 generators present, the phase of string ``a`` needs the
field ``W_i = sum_k Theta_ik s_k`` only on the qubits ``i`` some string of the batch
touches (the batch's *rows* ``U``, about ``n_ops * E|a|`` of them), so a step is two
matrix products of size ``|U| x n x n_z`` (forward ``Theta[U] @ S``, backward
``dW @ S^T``) instead of ``n x n x n_z``, and ``Theta`` is never built as an ``[n, n]``
matrix. Two pieces here:

* :func:`dense_pair_parts` gathers what the phases need from the flat parameter
  vector (weight-1 angles on the rows, the rows of ``Theta``, the angles of a few listed
  pairs) with a hand-written backward pass: the gradient of generator ``{i, k}`` is read
  as ``D[pos(i), k] + D^T[i, pos(k)]`` (a gather over all parameters, streaming) instead
  of XLA's scatter-add of the ``|U| x n`` cotangent (several times slower on CPU).
* :func:`pm1_matmul`: ``A @ S`` for the constant matrix ``S`` of signs, whose backward
  product reads a row-major copy of ``S^T`` (XLA's product with a transposed operand is
  2-3x slower on CPU). A bfloat16 three-term split (``A = hi + mid + lo``, exact times
  +-1, float32 accumulation) was tried on an AMX CPU and measured slower than float32
  in the whole step, so products stay in the computation's dtype.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = ["dense_pair_parts", "pm1_matmul"]


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
def _gather_parts(theta, ix, dtype):
    def take(idx):  # index G (one past the end) reads 0: a missing generator
        return jnp.take(theta, idx, mode="fill", fill_value=0.0).astype(dtype)

    rows = ix["rows"]
    return take(ix["h_tab"][rows]), take(ix["tab"][rows]), [take(idx) for idx in ix["extra"]]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def dense_pair_parts(theta: jax.Array, ix: dict, contiguous: bool, dtype: str):
    """Weight-1 angles on the rows [m], rows of Theta [m, n + 1] and extra gathered angles, in ``dtype``.

    Args:
        theta: float64 [G] parameters.
        ix: int32 arrays: ``rows`` [m] (qubits, padded with n), ``tab`` [n + 1, n + 1]
            (parameter of generator {i, k}, G where none), ``h_tab`` [n + 1] (parameter of
            {i}, G where none), ``pos`` [n] (row of each qubit, m where none), ``w1_idx``,
            ``w1_q``, ``w2_idx``, ``w2_i``, ``w2_k`` (the weight-1 and weight-2 generators)
            and ``extra`` (a list of parameter-index arrays, G where none).
        contiguous: the weight-1 parameters are ``0..n1-1`` and the weight-2 ones ``n1..G-1``
            in ``w1``/``w2`` order (the gradient is then one concatenation, not a scatter).
        dtype: floating type of the outputs.
    """
    return _gather_parts(theta, ix, dtype)


def _parts_fwd(theta, ix, contiguous, dtype):
    return _gather_parts(theta, ix, dtype), (ix, theta.shape[0])


def _parts_bwd(contiguous, dtype, res, cts):
    ix, n_params = res
    ct_h, ct_rows, ct_extra = cts
    pos = ix["pos"]
    # d theta_{ik} = D[pos i, k] + D[pos k, i]; the second read along rows of D^T. Row m: not in the batch.
    g2 = ct_rows.at[pos[ix["w2_i"]], ix["w2_k"]].get(mode="fill", fill_value=0) + ct_rows.T.at[
        ix["w2_i"], pos[ix["w2_k"]]
    ].get(mode="fill", fill_value=0)
    g1 = ct_h.at[pos[ix["w1_q"]]].get(mode="fill", fill_value=0)
    if contiguous:
        grad = jnp.concatenate([g1.astype(jnp.float64), g2.astype(jnp.float64)])
    else:
        grad = jnp.zeros(n_params, jnp.float64).at[ix["w1_idx"]].set(g1).at[ix["w2_idx"]].set(g2)
    for idx, ct in zip(ix["extra"], ct_extra):
        grad = grad.at[idx].add(ct.astype(jnp.float64), mode="drop")
    return grad, None


dense_pair_parts.defvjp(_parts_fwd, _parts_bwd)
