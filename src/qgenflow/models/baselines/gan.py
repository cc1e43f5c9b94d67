"""Classical GAN on bitstrings: an MLP generator against the QGAN's MLP discriminator.

The generator maps Gaussian noise ``z ~ N(0, I_k)`` through a flax MLP to n Bernoulli
logits ``l(z)`` and draws the bits independently given ``z``:
``p(x) = E_z[prod_i Bernoulli(x_i; sigmoid(l_i(z)))]``, a continuous mixture of product
distributions. The adversarial game is the classical-discriminator QGAN's, piece for piece
(:mod:`qgenflow.models.qgan.classical`): the same :class:`MLPDiscriminator` (same
initialisation stream, loss, label smoothing and real-sample batches), stepped ``d_steps``
times as the ``inner`` step of :func:`~qgenflow.fit.loop.fit` by the same ``_Game``, the
same non-saturating generator loss ``E_p[-log D(x)]``, and the same history series
(``d_loss``; every ``log_every`` steps ``d_accuracy``, ``mmd``, ``kl``, ``coverage``,
``support_mass``, ``mode_collapse``). Only the generator differs, so a GAN and a QGAN
with the same settings are directly comparable.

Gradient estimator: score function (REINFORCE) conditional on the noise,
``grad E_z E_{x|z}[g(x)] = E_z E_{x|z}[(g(x) - b) grad log p(x|z)]`` with ``g = -log D``
and a leave-one-out baseline ``b`` (the mean of ``g`` over the other samples of the
batch). Chosen over a straight-through Gumbel estimator because it is unbiased (the
straight-through gradient is not, and its bias does not vanish with the batch size),
the discriminator only ever sees, and is only ever queried at, hard bitstrings, and it
needs ``D`` at the generated samples only: the classical counterpart of a shot-based
QGAN's parameter-shift gradient, which also estimates ``grad E_p[g]`` from samples.

The generator's distribution is an integral over the noise, with no closed form, so
model.h5 gets samples and no ``/probs``. The logged metrics (MMD, KL, coverage, support
mass) use the Rao-Blackwellised Monte Carlo estimate of ``p`` from the step's noise
draws, ``mean_b prod_i Bernoulli(x_i; sigmoid(l_i(z_b)))`` over all 2^n strings (unbiased
and positive everywhere), and ``n`` is bounded as for the QGAN
(:data:`~qgenflow.models.qgan.classical.MAX_GAN_QUBITS`), whose ``_Game`` tabulates
``-log D`` on all 2^n strings.
"""

from __future__ import annotations

import functools
from itertools import pairwise
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ...bits import all_bitstrings, bits_to_index
from ...errors import InvalidConfigError
from ...fit.loop import fit, without_early_stopping
from ...rng import make_rng
from ..qgan.classical import (
    _ACTIVATIONS,
    MAX_GAN_QUBITS,
    MLPDiscriminator,
    _check_spec,
    _Game,
    _game_attrs,
    _RealData,
    _reference,
    _spins,
)
from ..result import TargetData
from . import BaselineResult, learning_data, positive_int

__all__ = ["GRADIENT", "MLPGenerator", "count_params", "make_generator", "train_gan"]

#: The generator's gradient estimator (see the module docstring).
GRADIENT = "reinforce"
_PROB_CHUNK = 2**12  # strings per block of the mixture-probability estimate
_SAMPLE_CHUNK = 2**16  # final samples per generator call


def _options(spec: Mapping[str, Any]) -> tuple[int, tuple[int, ...], str, int]:
    """(noise_dim, hidden widths, activation, batch_size) of the ``generator`` entry, checked (and its init_scale)."""
    gen = spec["generator"]
    noise_dim = positive_int(gen, "noise_dim", prefix="generator.")
    hidden = tuple(int(h) for h in gen["hidden"])
    if any(h < 1 for h in hidden):
        raise InvalidConfigError("generator.hidden", f"widths must be >= 1, got {list(hidden)}")
    if gen["activation"] not in _ACTIVATIONS:
        raise InvalidConfigError(
            "generator.activation", f"unknown activation {gen['activation']!r}; allowed: {', '.join(_ACTIVATIONS)}"
        )
    batch = positive_int(gen, "batch_size", minimum=2, prefix="generator.")  # the baseline needs another sample
    if not float(gen["init_scale"]) > 0:
        raise InvalidConfigError("generator.init_scale", f"must be > 0, got {gen['init_scale']}")
    return noise_dim, hidden, gen["activation"], batch


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """The generator's weights and biases (the discriminator is not part of the model)."""
    noise_dim, hidden, _, _ = _options(spec)
    widths = (noise_dim, *hidden, n)
    return sum((a + 1) * b for a, b in pairwise(widths))


def make_generator(n: int, hidden: tuple[int, ...], activation: str) -> nn.Module:
    """A flax MLP mapping noise [B, noise_dim] to Bernoulli logits [B, n]."""
    act = getattr(jax.nn, activation)

    class Generator(nn.Module):
        @nn.compact
        def __call__(self, z):
            for i, width in enumerate(hidden):
                z = act(nn.Dense(width, param_dtype=jnp.float64, name=f"hidden_{i}")(z))
            return nn.Dense(n, param_dtype=jnp.float64, name="output")(z)

    return Generator()


def _log_bernoulli(logits, bits):
    """log p(bits | logits) of independent bits, per row."""
    return jnp.sum(jax.nn.log_sigmoid((2.0 * bits - 1.0) * logits), axis=-1)


@functools.lru_cache(maxsize=16)
def _functions(n: int, noise_dim: int, hidden: tuple[int, ...], activation: str) -> dict[str, Any]:
    """The generator and its jitted functions on flat parameters for one architecture (cached)."""
    module = make_generator(n, hidden, activation)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, noise_dim)))
    _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))

    def logits(flat, z):
        return module.apply(unravel(flat), z)

    def surrogate(flat, z, bits, advantage):
        """Its gradient is the REINFORCE estimate: mean_b advantage_b grad log p(bits_b | z_b)."""
        return jnp.mean(advantage * _log_bernoulli(logits(flat, z), bits))

    def init(key, scale):
        """Flax's initial parameters (LeCun-normal kernels, zero biases), output kernel times ``scale``."""
        variables = module.init(key, jnp.zeros((1, noise_dim)))
        output = {**variables["params"]["output"], "kernel": variables["params"]["output"]["kernel"] * scale}
        return ravel_pytree({"params": {**variables["params"], "output": output}})[0]

    return {
        "unravel": unravel,
        "init": jax.jit(init),
        "logits": jax.jit(logits),
        "score_grad": jax.jit(jax.grad(surrogate)),
    }


def _draw(fns, flat, rng: np.random.Generator, size: int, noise_dim: int, n: int):
    """(noise [size, k], Bernoulli logits [size, n], bits [size, n]) of one draw from ``rng``."""
    z = rng.standard_normal((size, noise_dim))
    u = rng.random((size, n))
    logits = np.asarray(fns["logits"](jnp.asarray(flat), jnp.asarray(z)), dtype=np.float64)
    bits = (u < 1.0 / (1.0 + np.exp(-logits))).astype(np.uint8)
    return z, logits, bits


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def mixture_probs(logits: np.ndarray, n: int) -> np.ndarray:
    """``mean_b prod_i Bernoulli(x_i; sigmoid(logits[b, i]))`` for all 2^n strings x (big-endian)."""
    ones, zeros = _log_sigmoid(logits).T, _log_sigmoid(-logits).T  # [n, B]
    out = np.empty(2**n)
    for start in range(0, 2**n, _PROB_CHUNK):
        x = all_bitstrings(n)[start : start + _PROB_CHUNK].astype(np.float64)
        out[start : start + x.shape[0]] = np.exp(x @ ones + (1.0 - x) @ zeros).mean(axis=1)
    return out


class MLPGenerator:
    """The MLP generator as :class:`~qgenflow.models.qgan.classical._Game` steps a generator.

    ``model.ops(theta)`` (here the parameters themselves) and ``model.shape``; ``view`` draws
    the step's noise and bits (seeded by the step, so a resumed run draws the same) and
    returns the discriminator's fake side and the estimated distribution; ``grad`` is the
    REINFORCE gradient of ``E[g]`` on those same draws.
    """

    method = GRADIENT

    def __init__(self, spec: Mapping[str, Any], n: int, seed: int):
        self.noise_dim, hidden, activation, self.batch = _options(spec)
        self.n, self.seed = n, seed
        self.fns = _functions(n, self.noise_dim, hidden, activation)
        self.all_x = _spins(all_bitstrings(n))
        key = jax.random.PRNGKey(int(make_rng(seed, "model_init").integers(0, 2**31 - 1)))
        self.theta0 = np.asarray(self.fns["init"](key, float(spec["generator"]["init_scale"])), dtype=np.float64)
        self.model = self  # what _Game reads as the generator's model: ops and shape
        self.shape = self.theta0.shape
        self._drawn: tuple[int, np.ndarray, np.ndarray] | None = None

    def ops(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=np.float64)

    def param_grad(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The gradient in the parameters: ``grad`` already is (``ops`` are the parameters themselves)."""
        return np.reshape(grad, self.shape)

    def view(self, theta: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fake spins, fake weights, estimated probability vector) at this step."""
        z, logits, bits = _draw(self.fns, theta, make_rng(self.seed, "gan_noise", step), self.batch, self.noise_dim,
                                self.n)
        self._drawn = (step, z, bits)
        return _spins(bits), np.full(self.batch, 1.0 / self.batch), mixture_probs(logits, self.n)

    def grad(self, theta: np.ndarray, g: np.ndarray, step: int) -> np.ndarray:
        """REINFORCE estimate of the gradient of ``E_p[g]`` (``g`` on all 2^n strings) on this step's draws."""
        if self._drawn is None or self._drawn[0] != step:
            raise RuntimeError(f"no generator draw for step {step}: view() must come first")
        _, z, bits = self._drawn
        g_x = g[bits_to_index(bits)]
        advantage = g_x - (g_x.sum() - g_x) / (len(g_x) - 1)  # leave-one-out baseline: still unbiased
        grad = self.fns["score_grad"](jnp.asarray(theta), jnp.asarray(z), jnp.asarray(bits, dtype=jnp.float64),
                                      jnp.asarray(advantage))
        return np.asarray(grad, dtype=np.float64)

    def samples(self, theta: np.ndarray, n_samples: int) -> np.ndarray:
        """``n_samples`` draws of the trained generator (stream ``model_sample``)."""
        rng = make_rng(self.seed, "model_sample")
        chunks = [
            _draw(self.fns, theta, rng, min(_SAMPLE_CHUNK, n_samples - i), self.noise_dim, self.n)[2]
            for i in range(0, n_samples, _SAMPLE_CHUNK)
        ]
        return np.concatenate(chunks)

    def named_params(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        tree = self.fns["unravel"](jnp.asarray(theta))["params"]
        return {f"generator/{layer}/{k}": np.asarray(v) for layer, leaves in tree.items() for k, v in leaves.items()}


def train_gan(spec: Mapping[str, Any], target: TargetData, seed: int, checkpointer=None) -> BaselineResult:
    """Adversarial training of an MLP generator against the QGAN's MLP discriminator.

    Spec keys: ``generator`` (``noise_dim``, ``hidden``, ``activation``, ``init_scale``, ``batch_size``),
    ``optimizer`` (the generator's), ``discriminator`` (``hidden``, ``activation``, ``name``,
    ``lr``, ``weight_decay``), ``d_steps``, ``label_smoothing``, ``batch_size``, ``log_every``,
    ``coverage_threshold``, ``collapse_fraction``, ``sigmas``, ``n_samples``.
    """
    jax.config.update("jax_enable_x64", True)
    n = target.n_qubits
    if n > MAX_GAN_QUBITS:
        raise InvalidConfigError(
            "kind", f"the GAN's game tabulates its discriminator on all 2^n bitstrings: n <= {MAX_GAN_QUBITS}, got {n}"
        )
    _check_spec(spec, n)
    gen = MLPGenerator(spec, n, seed)
    g_spec = without_early_stopping({**spec["optimizer"], "steps": int(spec["optimizer"]["steps"])})
    disc = MLPDiscriminator(dict(spec["discriminator"]), n, seed, float(spec["label_smoothing"]))
    real = _RealData(learning_data(target), seed, spec.get("batch_size"))
    game = _Game(spec, gen, disc, real, _reference(spec, target), g_spec["steps"])
    result = fit(game.value_and_grad, gen.theta0, g_spec, checkpointer, inner=game)
    samples = gen.samples(result.params, positive_int(spec, "n_samples"))
    attrs = {
        "generator": "mlp",
        "gradient": GRADIENT,
        "likelihood": "intractable: p(x) is an integral over the noise (samples only, no /probs)",
        **_game_attrs(game, result, samples),
    }
    return BaselineResult.from_fit(
        result,
        params={**gen.named_params(result.params), **disc.named_params()},
        probs=None,
        samples=samples,
        n_params=count_params(spec, n),
        attrs=attrs,
    )
