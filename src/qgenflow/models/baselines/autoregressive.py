"""Autoregressive baseline: a MADE (Germain et al. 2015) over bits in wire order.

p(x) = prod_i p(x_i | x_<i), each conditional a Bernoulli whose logit is output i of a
masked feed-forward network: masks give every hidden unit a degree in 1..n-1 and
let output i see only inputs 0..i-1, so one forward pass yields all n conditionals
of a string. Likelihoods are exact and normalised by construction; sampling is
exact, bit by bit (n forward passes). Optional direct input-to-output connections
(strictly lower-triangular) add a logistic autoregressive term.

Training minimises the average negative log-likelihood (nats) of the training
samples: over all distinct training strings, weighted by frequency, when there are
at most ``batch_size`` of them (a deterministic loss, so lbfgs is allowed); else
over a random minibatch of ``batch_size`` samples per step, seeded by the step.

NetKet's ``ARNNDense`` on ``nk.hilbert.Qubit(n)`` (local states 0, 1) would also
serve (log p = machine_pow * Re log psi, exact sampling with ``ARDirectSampler``);
this module keeps the model to a few masked layers with its own exact sampler.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Mapping

import numpy as np
import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ...bits import index_to_bits
from ...errors import InvalidConfigError
from ...fit.loop import fit
from ...rng import make_rng
from ...limits import MAX_DENSE_QUBITS as PROBS_MAX_BITS
from ..result import TargetData
from . import BaselineResult, LearningData, learning_data, optimizer_spec, positive_int

__all__ = [
    "ACTIVATIONS", "count_params", "exact_samples", "fit_max_likelihood", "made_masks", "make_made",
    "train_autoregressive",
]

log = logging.getLogger(__name__)

ACTIVATIONS = ("tanh", "relu")
EVAL_BATCH = 2**14  # strings per forward pass when enumerating probabilities
SAMPLE_BATCH = 2**16  # samples drawn per jitted call


def _options(spec: Mapping[str, Any]) -> tuple[int, int, bool, str]:
    hidden = positive_int(spec, "hidden")
    layers = positive_int(spec, "layers", minimum=0)
    direct = bool(spec["direct_connections"])
    activation = spec["activation"]
    if activation not in ACTIVATIONS:
        raise InvalidConfigError(
            "activation", f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}"
        )
    return hidden, layers, direct, activation


def made_masks(n: int, hidden: int, layers: int) -> list[np.ndarray]:
    """Connectivity masks [fan_in, fan_out] of the hidden layers and the output layer.

    Input i has degree i + 1, hidden unit k has degree (k mod (n - 1)) + 1, and a unit
    of degree d sees units of degree <= d; output i sees hidden degrees <= i, so the
    logit of bit i depends on bits 0..i-1 only.
    """
    degrees = [np.arange(1, n + 1)]
    for _ in range(layers):
        degrees.append(np.arange(hidden) % max(n - 1, 1) + 1)
    masks = [(d_out[None, :] >= d_in[:, None]).astype(np.float64) for d_in, d_out in zip(degrees[:-1], degrees[1:])]
    masks.append((np.arange(1, n + 1)[None, :] > degrees[-1][:, None]).astype(np.float64))
    return masks


def _direct_mask(n: int) -> np.ndarray:
    return np.tril(np.ones((n, n)), k=-1).T  # [input j, output i] = 1 when j < i


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """Unmasked weights plus biases (weights a mask removes are not counted)."""
    hidden, layers, direct, _ = _options(spec)
    masks = made_masks(n, hidden, layers)
    total = sum(int(m.sum()) + m.shape[1] for m in masks)
    if direct and layers > 0:
        total += int(_direct_mask(n).sum())
    return total


def make_made(n: int, hidden: int, layers: int, direct: bool, activation: str):
    """The flax MADE module: ``apply(variables, x[..., n]) -> logits[..., n]``."""
    act = {"tanh": jnp.tanh, "relu": jax.nn.relu}[activation]

    class MaskedDense(nn.Module):
        mask: Any
        use_bias: bool = True

        @nn.compact
        def __call__(self, x):
            kernel = self.param("kernel", nn.initializers.zeros, self.mask.shape, jnp.float64)
            y = x @ (kernel * self.mask)
            if self.use_bias:
                y = y + self.param("bias", nn.initializers.zeros, (self.mask.shape[1],), jnp.float64)
            return y

    masks = made_masks(n, hidden, layers)

    class MADE(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = x
            for i, mask in enumerate(masks[:-1]):
                h = act(MaskedDense(mask, name=f"hidden_{i}")(h))
            logits = MaskedDense(masks[-1], name="output")(h)
            if direct and layers > 0:
                logits = logits + MaskedDense(_direct_mask(n), use_bias=False, name="direct")(x)
            return logits

    return MADE()


def _log_prob(model, variables, x):
    """log p(x) of float rows ``x`` [B, n]."""
    logits = model.apply(variables, x)
    return jnp.sum(jax.nn.log_sigmoid((2.0 * x - 1.0) * logits), axis=-1)


@functools.lru_cache(maxsize=16)
def _functions(n: int, hidden: int, layers: int, direct: bool, activation: str) -> dict[str, Any]:
    """The MADE, its parameter (un)flattening and jitted functions for one architecture (cached)."""
    model = make_made(n, hidden, layers, direct, activation)
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, n)))
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))

    def log_prob(flat, x):
        return _log_prob(model, unravel(flat), x)

    def sample(flat, u):
        """Exact ancestral samples, bit by bit: bit i is 1 where u[:, i] < p(x_i = 1 | x_<i)."""
        variables = unravel(flat)

        def body(i, x):
            p = jax.nn.sigmoid(model.apply(variables, x)[:, i])
            return x.at[:, i].set((u[:, i] < p).astype(x.dtype))

        return jax.lax.fori_loop(0, n, body, jnp.zeros(u.shape)).astype(jnp.uint8)

    return {
        "shapes": {layer: {k: v.shape for k, v in leaves.items()} for layer, leaves in shapes["params"].items()},
        "unravel": unravel,
        "log_prob": jax.jit(log_prob),
        "nll_and_grad": jax.jit(jax.value_and_grad(lambda flat, x, w: -jnp.dot(log_prob(flat, x), w))),
        "sample": jax.jit(sample),
    }


def _batched_log_prob(log_prob, flat, x: np.ndarray) -> np.ndarray:
    """log p of the rows of ``x``, EVAL_BATCH rows per call."""
    chunks = [np.asarray(log_prob(flat, x[i : i + EVAL_BATCH])) for i in range(0, x.shape[0], EVAL_BATCH)]
    return np.concatenate(chunks)


def _layer_masks(n: int, hidden: int, layers: int) -> dict[str, np.ndarray]:
    masks = made_masks(n, hidden, layers)
    named = {f"hidden_{i}": mask for i, mask in enumerate(masks[:-1])}
    return {**named, "output": masks[-1], "direct": _direct_mask(n)}


def _init_flat(
    shapes: Mapping[str, Mapping[str, tuple]], masks: Mapping[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Initial parameters in flax's flattening order: masked Gaussian kernels scaled by their
    effective fan-in (LeCun normal), zero biases."""
    tree = {}
    for layer in sorted(shapes):
        mask = masks[layer]
        fan_in = np.maximum(mask.sum(axis=0), 1.0)
        tree[layer] = {"kernel": rng.normal(size=shapes[layer]["kernel"]) / np.sqrt(fan_in) * mask}
        if "bias" in shapes[layer]:
            tree[layer]["bias"] = np.zeros(shapes[layer]["bias"])
    return np.asarray(ravel_pytree({"params": tree})[0], dtype=np.float64)


def _all_probs(log_prob, flat, n: int) -> np.ndarray:
    """Exact probabilities of all 2^n strings (big-endian), enumerated EVAL_BATCH at a time."""
    chunks = [
        np.asarray(log_prob(flat, index_to_bits(np.arange(i, min(i + EVAL_BATCH, 2**n)), n).astype(np.float64)))
        for i in range(0, 2**n, EVAL_BATCH)
    ]
    return np.exp(np.concatenate(chunks))


def fit_max_likelihood(nll_and_grad, flat0: np.ndarray, learn: LearningData, spec: Mapping[str, Any],
                       init_rng: np.random.Generator, checkpointer=None):
    """Minimise the average NLL of the learning data from ``flat0``: ``(TrainResult, rows, weights, full_batch)``.

    ``nll_and_grad(flat, x, w)`` is the weighted NLL of float rows ``x`` and its gradient. With
    at most ``spec["batch_size"]`` distinct rows the loss is over all of them, weighted by
    frequency or exact probability (deterministic, lbfgs allowed); else over ``batch_size`` rows
    drawn per step (:meth:`LearningData.minibatch`) from a generator seeded by a word of
    ``init_rng`` and the step (so a resumed run draws the same).
    """
    batch_size = positive_int(spec, "batch_size")
    rows, weights = learn.rows, learn.weights
    full_batch = rows.shape[0] <= batch_size
    why = f"{rows.shape[0]} distinct training strings exceed batch_size={batch_size}"
    opt = optimizer_spec(spec, full_batch, why)
    rows_j, weights_j = jnp.asarray(rows, dtype=jnp.float64), jnp.asarray(weights)
    base = int(init_rng.integers(0, 2**31 - 1))

    def value_and_grad(flat: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        if full_batch:
            x, w = rows_j, weights_j
        else:
            batch = learn.minibatch(np.random.default_rng([base, step]), batch_size)
            x, w = jnp.asarray(batch, dtype=jnp.float64), jnp.full(batch_size, 1.0 / batch_size)
        loss, grad = nll_and_grad(jnp.asarray(flat), x, w)
        return float(loss), np.asarray(grad, dtype=np.float64)

    result = fit(value_and_grad, np.asarray(flat0), opt, checkpointer)
    return result, rows, weights, full_batch


def exact_samples(sample, flat, n: int, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` exact draws of ``sample(flat, u[B, n])`` (uniforms in, bits out), SAMPLE_BATCH at a time."""
    sample_rng = make_rng(seed, "model_sample")  # successive draws continue one stream, so chunking changes nothing
    return np.concatenate([
        np.asarray(sample(flat, jnp.asarray(sample_rng.random((min(SAMPLE_BATCH, n_samples - i), n)))))
        for i in range(0, n_samples, SAMPLE_BATCH)
    ])


def train_autoregressive(spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer=None) -> BaselineResult:
    """Train a MADE on the learning data by maximum likelihood, then sample it exactly."""
    learn = learning_data(data)
    jax.config.update("jax_enable_x64", True)
    n = learn.rows.shape[1]
    hidden, layers, direct, activation = _options(spec)
    fns = _functions(n, hidden, layers, direct, activation)
    masks = _layer_masks(n, hidden, layers)
    init_rng = make_rng(seed, "model_init")
    flat0 = _init_flat(fns["shapes"], masks, init_rng)
    fitted = fit_max_likelihood(fns["nll_and_grad"], flat0, learn, spec, init_rng, checkpointer)
    result, rows, weights, full_batch = fitted
    flat = jnp.asarray(result.params)
    train_nll = -float(np.dot(_batched_log_prob(fns["log_prob"], flat, rows.astype(np.float64)), weights))
    model_samples = exact_samples(fns["sample"], flat, n, positive_int(spec, "n_samples"), seed)
    probs = None
    if n <= PROBS_MAX_BITS:
        probs = _all_probs(fns["log_prob"], flat, n)
    params: dict[str, np.ndarray] = {}
    for layer, leaves in fns["unravel"](flat)["params"].items():
        for name, value in leaves.items():
            value = np.asarray(value, dtype=np.float64)
            params[f"{layer}/{name}"] = value * masks[layer] if name == "kernel" else value
    return BaselineResult.from_fit(
        result,
        params=params,
        probs=probs,
        samples=model_samples,
        n_params=count_params(spec, n),
        attrs={
            "loss_definition": "nll" if full_batch else "minibatch_nll",
            "sampler": "exact",
            "train_nll": train_nll,
            "stopped_early": int(result.stopped_early),
        },
    )
