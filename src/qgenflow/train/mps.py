"""MPS Born machines: a brickwork circuit simulated as a matrix product state, trained on the Z-string MMD^2.

The model (config kind ``mps_qcbm``) is the brickwork circuit of
:class:`~qgenflow.models.brickwork.Brickwork` simulated as an MPS of bond dimension ``chi``
(:func:`qgenflow.circuits.mps.simulate`), so it trains at 64-128 qubits on a few cores. The
loss is the squared MMD under the mixture of Gaussian kernels of :mod:`qgenflow.kernels`,
written as Z-string expectations as for the IQP estimator (:mod:`.iqp_estimator`):

    MMD^2 = mean_sigma E_{a ~ Bernoulli(p_sigma)^n}[(<Z_a>_model - <Z_a>_data)^2],

``<Z_a>_data`` the mean of ``(-1)^(a . x)`` over the training samples. Each step draws
``n_ops`` strings (stratified over the bandwidths, from :func:`~.iqp_estimator.step_rng`)
and takes ``<Z_a>_model`` exactly from the MPS, so the step loss is an unbiased estimate of
the exact MMD^2 between the (truncated) model and the empirical training distribution; JAX
differentiates it through the truncated SVDs. The trained MPS is sampled exactly; its
probabilities are stored up to :data:`~qgenflow.limits.MAX_DENSE_QUBITS` qubits, and its
truncation error (the summed discarded weight of every truncation) in the ``model.h5``
attribute ``truncation_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..bits import unique_counts
from ..circuits.mps import mps_probs, sample_mps, simulate, zstring_expvals
from ..circuits.qasm import qasm_record
from ..fit.checkpoint import Checkpointer
from ..fit.loop import fit
from ..limits import MAX_DENSE_QUBITS
from ..models import make_ansatz
from ..models.result import TargetData, TrainedModel
from ..rng import make_rng
from .iqp_estimator import bandwidth_probability, estimator_sigmas, step_rng

__all__ = ["MPSZStringMMD", "parities", "train_mps_qcbm"]

log = logging.getLogger(__name__)

# Elements of the [strings, distinct samples, bytes] parity array per chunk.
_PARITY_ELEMENTS = 1 << 25


def parities(strings: np.ndarray, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_x w_x (-1)^(a . x)`` for every row ``a`` of ``strings`` [m, n] over ``rows`` [U, n] (bits)."""
    a = np.packbits(np.asarray(strings, dtype=np.uint8), axis=1)
    x = np.packbits(np.asarray(rows, dtype=np.uint8), axis=1)
    out = np.empty(a.shape[0])
    chunk = max(1, _PARITY_ELEMENTS // max(x.size, 1))
    for start in range(0, a.shape[0], chunk):
        both = a[start : start + chunk, None, :] & x[None, :, :]
        odd = np.bitwise_count(both).sum(axis=2, dtype=np.int64) & 1
        out[start : start + chunk] = (1.0 - 2.0 * odd) @ weights
    return out


class MPSZStringMMD:
    """Z-string MMD^2 between the MPS of a brickwork circuit and target samples, with its JAX gradient.

    Args:
        n_qubits: qubits (and bits per sample).
        layers: brickwork layers.
        chi: bond dimension.
        entangler: ``cnot`` or ``cz``.
        layout: ``brickwork`` or ``staircase`` (:data:`~qgenflow.catalog.BRICKWORK_LAYOUTS`).
        target_samples: [N, n] uint8 training bits.
        sigmas: kernel bandwidths, mixed by averaging.
        n_ops: Z-strings per step, split evenly over the bandwidths.
    """

    def __init__(
        self, n_qubits: int, layers: int, chi: int, entangler: str, target_samples: np.ndarray,
        sigmas: Sequence[float], n_ops: int, layout: str = "brickwork",
    ):
        self.n, self.layers, self.chi, self.entangler = int(n_qubits), int(layers), int(chi), entangler
        self.layout = layout
        samples = np.asarray(target_samples, dtype=np.uint8)
        if samples.ndim != 2 or samples.shape[1] != self.n or len(samples) < 1:
            raise ValueError(f"target_samples must be [N >= 1, {self.n}] bits, got shape {samples.shape}")
        self.rows, counts = unique_counts(samples)
        self.row_weights = counts / counts.sum()
        self.sigmas = [float(s) for s in sigmas]
        if not self.sigmas or n_ops < len(self.sigmas):
            raise ValueError(f"need at least one bandwidth and n_ops >= {len(self.sigmas)} (one string per bandwidth)")
        self.probs = [bandwidth_probability(s) for s in self.sigmas]
        g = len(self.sigmas)
        self.group_sizes = [n_ops // g + (k < n_ops % g) for k in range(g)]
        self.weights = np.concatenate([np.full(m, 1.0 / (m * g)) for m in self.group_sizes])
        self._value_and_grad = jax.jit(jax.value_and_grad(self._loss))
        self._loss_jit = jax.jit(self._loss)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Fresh Z-strings [n_ops, n] (bool), ``group_sizes[g]`` of them with bits Bernoulli(p_sigma_g)."""
        return np.concatenate([rng.random((m, self.n)) < p for m, p in zip(self.group_sizes, self.probs)])

    def data_expvals(self, strings: np.ndarray) -> np.ndarray:
        """Empirical ``<Z_a>`` of the training samples for every string."""
        return parities(strings, self.rows, self.row_weights)

    def model_expvals(self, theta: np.ndarray, strings: np.ndarray) -> np.ndarray:
        """Exact ``<Z_a>`` of the (truncated) MPS for every string."""
        state = simulate(jnp.asarray(theta), self.n, self.chi, self.entangler, self.layout)
        return np.asarray(zstring_expvals(state.tensors, jnp.asarray(strings)))

    def _loss(self, theta, strings, data, weights):
        state = simulate(theta, self.n, self.chi, self.entangler, self.layout)
        model = zstring_expvals(state.tensors, strings)
        return jnp.sum(weights * (model - data) ** 2)

    def loss(self, theta: np.ndarray, strings: np.ndarray, weights: np.ndarray | None = None) -> float:
        """``sum_a w_a (<Z_a>_model - <Z_a>_data)^2`` (default weights: the stratified ones of :meth:`draw`)."""
        w = self.weights if weights is None else np.asarray(weights, dtype=np.float64)
        args = (jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(strings), jnp.asarray(self.data_expvals(strings)))
        return float(self._loss_jit(*args, jnp.asarray(w)))

    def value_and_grad(self, theta: np.ndarray, strings: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss on ``strings`` (stratified weights) and its gradient with respect to ``theta``."""
        args = (jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(strings), jnp.asarray(self.data_expvals(strings)))
        value, grad = self._value_and_grad(*args, jnp.asarray(self.weights))
        return float(value), np.asarray(grad, dtype=np.float64)

    def step_objective(self, seed: int):
        """``(theta, step) -> (loss, gradient)`` on the strings of :func:`step_rng` ``(seed, step)`` (resumable)."""

        def value_and_grad(theta: np.ndarray, step: int) -> tuple[float, np.ndarray]:
            return self.value_and_grad(theta, self.draw(step_rng(seed, step)))

        return value_and_grad


def train_mps_qcbm(
    spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer: Checkpointer | None = None
) -> TrainedModel:
    """Train an MPS Born machine (config kind ``mps_qcbm``) on the target's training samples.

    Final samples are drawn exactly from the trained MPS (stream ``model_sample``); exact
    probabilities by contracting it up to ``MAX_DENSE_QUBITS`` qubits.
    """
    n, layers, chi = data.n_qubits, int(spec["layers"]), int(spec["bond_dimension"])
    ansatz = make_ansatz("brickwork", n, layers, spec.get("ansatz_options", {}))
    loss = MPSZStringMMD(n, layers, chi, ansatz.entangler, data.samples, estimator_sigmas(spec["loss"], n),
                         int(spec["training"]["n_ops"]), ansatz.layout)
    log.info("mps_qcbm: %d qubits, %d %s layers, bond dimension %d, %d parameters, %d strings per step, sigmas %s",
             n, layers, ansatz.layout, chi, ansatz.n_params, sum(loss.group_sizes), ", ".join(f"{s:.3g}" for s in loss.sigmas))
    init = ansatz.init_params(make_rng(seed, "model_init"), float(spec["init_scale"]))
    result = fit(loss.step_objective(seed), init, spec["optimizer"], checkpointer)
    state = simulate(jnp.asarray(result.params), n, chi, ansatz.entangler, ansatz.layout)
    tensors = np.asarray(state.tensors)
    probs = mps_probs(tensors) if n <= MAX_DENSE_QUBITS else None
    samples = sample_mps(tensors, int(spec["n_samples"]), make_rng(seed, "model_sample"))
    log.info("mps_qcbm: truncation error %.3g (summed discarded weight)", state.truncation_error)
    attrs = {
        "ansatz": ansatz.name,
        "gradient": "mps",
        "device": "mps",
        "gradient_engine": "jax",
        "sampling_note": "",
        "bond_dimension": chi,
        "truncation_error": state.truncation_error,
        "stopped_early": int(result.stopped_early),
    }
    extra = {"mps/discarded": np.asarray(state.discarded), **qasm_record(ansatz.ops(result.params), n)}
    return TrainedModel.from_fit(result, params={"theta": result.params}, probs=probs, samples=samples,
                                 n_params=ansatz.n_params, attrs=attrs, extra=extra)
