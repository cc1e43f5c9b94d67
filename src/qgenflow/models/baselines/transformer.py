"""Transformer baseline: a decoder-only (causal) transformer over bits in wire order.

p(x) = prod_i p(x_i | x_<i). Position i reads token x_{i-1} (a start token at position 0)
plus a learned position embedding; pre-norm blocks of causal multi-head self-attention
and a GELU MLP let position i attend to positions <= i only, so its output logit is the
Bernoulli logit of bit i given bits 0..i-1. One forward pass yields all n conditionals
of a string (exact, normalised likelihood); sampling is exact and ancestral, bit by bit
(n forward passes).

Training is the MADE's (:func:`~qgenflow.models.baselines.autoregressive.fit_max_likelihood`):
maximum likelihood on the weighted distinct training strings, or on seeded minibatches
when there are more than ``batch_size`` of them.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ...errors import InvalidConfigError
from ...limits import MAX_DENSE_QUBITS as PROBS_MAX_BITS
from ...rng import make_rng
from ..result import TargetData
from . import BaselineResult, learning_data, positive_int
from .autoregressive import (
    _all_probs,
    _batched_log_prob,
    exact_samples,
    fit_max_likelihood,
)

__all__ = ["START_TOKEN", "Transformer", "count_params", "train_transformer"]

#: Token of position 0 (bits are tokens 0 and 1).
START_TOKEN = 2
_F64 = jnp.float64


def _options(spec: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(d_model, heads, layers, d_ff) of a config entry, checked."""
    d_model, heads, layers = positive_int(spec, "d_model"), positive_int(spec, "heads"), positive_int(spec, "layers")
    if d_model % heads:
        raise InvalidConfigError("heads", f"must divide d_model={d_model}, got {heads}")
    d_ff = spec.get("d_ff")
    d_ff = 4 * d_model if d_ff is None else positive_int(spec, "d_ff")
    return d_model, heads, layers, d_ff


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """Embeddings, per block two layer norms, attention (q, k, v, out) and MLP, final norm and read-out."""
    d, _, layers, f = _options(spec)
    block = 2 * 2 * d + 4 * (d * d + d) + (d * f + f) + (f * d + d)
    return (START_TOKEN + 1) * d + n * d + layers * block + 2 * d + (d + 1)


class _Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then a GELU MLP, each added to the residual."""

    d_model: int
    heads: int
    d_ff: int

    @nn.compact
    def __call__(self, h, mask):
        y = nn.LayerNorm(dtype=_F64, param_dtype=_F64)(h)
        h = h + nn.MultiHeadDotProductAttention(
            num_heads=self.heads, dtype=_F64, param_dtype=_F64, deterministic=True
        )(y, y, mask=mask)
        y = nn.LayerNorm(dtype=_F64, param_dtype=_F64)(h)
        y = nn.gelu(nn.Dense(self.d_ff, dtype=_F64, param_dtype=_F64)(y))
        return h + nn.Dense(self.d_model, dtype=_F64, param_dtype=_F64)(y)


class Transformer(nn.Module):
    """``apply(variables, x[B, n]) -> logits[B, n]``: logit i is that of p(x_i = 1 | x_<i)."""

    n: int
    d_model: int
    heads: int
    layers: int
    d_ff: int

    @nn.compact
    def __call__(self, x):
        start = jnp.full(x.shape[:-1] + (1,), START_TOKEN, dtype=jnp.int32)
        tokens = jnp.concatenate([start, x[..., :-1].astype(jnp.int32)], axis=-1)
        positions = self.param("positions", nn.initializers.normal(0.02), (self.n, self.d_model), _F64)
        h = nn.Embed(START_TOKEN + 1, self.d_model, dtype=_F64, param_dtype=_F64)(tokens) + positions
        mask = nn.make_causal_mask(tokens)
        for _ in range(self.layers):
            h = _Block(self.d_model, self.heads, self.d_ff)(h, mask)
        h = nn.LayerNorm(dtype=_F64, param_dtype=_F64)(h)
        return nn.Dense(1, dtype=_F64, param_dtype=_F64)(h)[..., 0]


@functools.lru_cache(maxsize=16)
def _functions(n: int, d_model: int, heads: int, layers: int, d_ff: int) -> dict[str, Any]:
    """The transformer, its initialiser and jitted functions on flat parameters for one architecture (cached)."""
    model = Transformer(n, d_model, heads, layers, d_ff)
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, n)))
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))

    def logits(flat, x):
        return model.apply(unravel(flat), x)

    def log_prob(flat, x):
        return jnp.sum(jax.nn.log_sigmoid((2.0 * x - 1.0) * logits(flat, x)), axis=-1)

    def sample(flat, u):
        """Exact ancestral samples: bit i is 1 where u[:, i] < p(x_i = 1 | x_<i)."""

        def body(i, x):
            p = jax.nn.sigmoid(logits(flat, x)[:, i])
            return x.at[:, i].set((u[:, i] < p).astype(x.dtype))

        return jax.lax.fori_loop(0, n, body, jnp.zeros(u.shape)).astype(jnp.uint8)

    def init(key):
        return ravel_pytree(model.init(key, jnp.zeros((1, n))))[0]

    return {
        "unravel": unravel,
        "init": jax.jit(init),
        "logits": jax.jit(logits),
        "log_prob": jax.jit(log_prob),
        "nll_and_grad": jax.jit(jax.value_and_grad(lambda flat, x, w: -jnp.dot(log_prob(flat, x), w))),
        "sample": jax.jit(sample),
    }


def _named(tree: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Parameter leaves by path, ``Block_0/MultiHeadDotProductAttention_0/query/kernel`` and so on."""
    out: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_named(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = np.asarray(value, dtype=np.float64)
    return out


def train_transformer(spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer=None) -> BaselineResult:
    """Train a causal transformer on the target's samples by maximum likelihood, then sample it exactly.

    Spec keys: ``d_model``, ``heads``, ``layers``, ``d_ff``, ``batch_size``, ``optimizer``,
    ``n_samples``; exact ``probs`` when n <= the dense limit of the other baselines.
    """
    learn = learning_data(data)
    jax.config.update("jax_enable_x64", True)
    n = learn.rows.shape[1]
    fns = _functions(n, *_options(spec))
    init_rng = make_rng(seed, "model_init")
    key = jax.random.PRNGKey(int(init_rng.integers(0, 2**31 - 1)))
    flat0 = np.asarray(fns["init"](key), dtype=np.float64)
    fitted = fit_max_likelihood(fns["nll_and_grad"], flat0, learn, spec, init_rng, checkpointer)
    result, rows, weights, full_batch = fitted
    flat = jnp.asarray(result.params)
    train_nll = -float(np.dot(_batched_log_prob(fns["log_prob"], flat, rows.astype(np.float64)), weights))
    return BaselineResult.from_fit(
        result,
        params=_named(fns["unravel"](flat)["params"]),
        probs=_all_probs(fns["log_prob"], flat, n) if n <= PROBS_MAX_BITS else None,
        samples=exact_samples(fns["sample"], flat, n, positive_int(spec, "n_samples"), seed),
        n_params=count_params(spec, n),
        attrs={
            "loss_definition": "nll" if full_batch else "minibatch_nll",
            "sampler": "exact",
            "train_nll": train_nll,
            "stopped_early": int(result.stopped_early),
        },
    )
