"""Binary restricted Boltzmann machine baseline.

Energy E(v, h) = -a.v - b.h - v.W.h over visible bits v in {0,1}^n and hidden bits
h in {0,1}^m; the hidden units sum out to the free energy
F(v) = -a.v - sum_j softplus(b_j + (v W)_j), and p(v) = exp(-F(v)) / Z.

Training maximises the likelihood of the training data (:class:`~.LearningData`: the
training samples, or the target's exact probabilities, weighting p's support by p):

* ``n <= exact_max_bits``: exactly. log Z is a log-sum-exp over all 2^n visible
  configurations, enumerated in blocks of 2^16 (memory O(2^n + 2^16 m)); the loss is
  the average negative log-likelihood (NLL, nats; the cross-entropy with p when learning
  from probabilities) and its gradient is exact.
* otherwise: persistent contrastive divergence (PCD-k). ``n_chains`` persistent
  chains take ``k`` block-Gibbs sweeps per step and stand in for the model term of
  the gradient; data minibatches are training samples without replacement, or strings
  drawn from p. The NLL is not computable, so the reported loss is the average
  negative log pseudo-likelihood -sum_i log p(v_i | v_-i) of the data batch (nats),
  which is exact and cheap (n free-energy differences per sample). The chains are
  checkpointed with the optimiser state, so a resumed run matches an uninterrupted one.

Final samples are exact (drawn from the enumerated probabilities) when
``n <= PROBS_MAX_BITS``, else block Gibbs (``sampling``: chains from uniform random
bits, burn-in, thinning). All randomness comes from NumPy streams of
:func:`qgenflow.rng.make_rng` (uniforms are passed into the jitted sweeps), so a
seed fixes parameters and samples bit for bit.

The network is NetKet's :class:`netket.models.RBM` with ``activation=softplus`` on
0/1 bits as a real energy model, p(v) = exp(log psi(v)) / Z (not the Born rule
|psi|^2, whose doubled exponent is no RBM marginal): its log psi is exactly -F(v),
parameter for parameter (``Dense`` kernel = ``weights``, ``Dense`` bias =
``hidden_bias``, ``visible_bias``). NetKet's default (log cosh on +-1 spins) is the
same family under an affine change of parameters (W/4, b/2 + sum_i W_ij/4,
a/2 + sum_j W_ij/4, tested), but softplus keeps 0/1 hidden units, so the Gibbs
conditionals stay plain sigmoids. Measured (benchmarks/bench_rbm_netket.py): log p
of all strings equal to 1e-14, the exact NLL gradient at 16 bits as fast as the
hand-written free energy. Kept hand-written, because NetKet has no equivalent:
the data-dependent initialisation (visible biases at the data's logits), the
block-Gibbs sweeps of PCD and of sampling above 20 bits (NetKet's samplers are
Metropolis chains over psi, not alternating hidden/visible Gibbs updates: at equal
sweeps MetropolisLocal's draws were as close to the exact distribution, TV 0.164 vs
0.174 on a trained 9-bit RBM, but took 8-10x the wall time, compilation included,
and PCD steps its chains inside the jitted gradient step with checkpointed uniforms),
and the enumeration in blocks, which keeps memory at O(2^16 m) per block at 20 bits.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Mapping

import numpy as np
import jax
import jax.numpy as jnp

from ...bits import all_bitstrings, bits_to_index, sample_from_probs
from ...errors import InvalidConfigError
from ...fit.loop import fit
from ...rng import make_rng
from ...limits import MAX_DENSE_QUBITS as PROBS_MAX_BITS
from ..result import TargetData
from . import BaselineResult, LearningData, learning_data, optimizer_spec, positive_int

__all__ = [
    "count_params",
    "free_energy",
    "gibbs_samples",
    "log_probs_all",
    "module_variables",
    "n_hidden",
    "neg_log_pseudo_likelihood",
    "rbm_module",
    "train_rbm",
]

log = logging.getLogger(__name__)

ENUM_BLOCK_BITS = 16  # visible configurations are enumerated 2^16 at a time
PARAM_NAMES = ("visible_bias", "hidden_bias", "weights")


def n_hidden(spec: Mapping[str, Any], n: int) -> int:
    """Hidden units: ``n_hidden`` when given, else ``round(alpha * n)`` (alpha defaults to 1)."""
    if spec.get("n_hidden") is not None:
        return positive_int(spec, "n_hidden")
    alpha = float(spec["alpha"])
    if alpha <= 0:
        raise InvalidConfigError("alpha", f"must be > 0, got {alpha}")
    return max(1, int(round(alpha * n)))


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """Visible biases, hidden biases and couplings: n + m + n m."""
    m = n_hidden(spec, n)
    return n + m + n * m


@functools.lru_cache(maxsize=16)
def rbm_module(n: int, m: int):
    """NetKet's RBM with m hidden units on n visible bits; ``apply`` gives -F(v) (real, float64)."""
    import netket as nk  # heavy: netket takes seconds to load; every training job imports this module

    # NetKet takes int(alpha * n) hidden units; m + 1/2 makes that exactly m despite rounding.
    return nk.models.RBM(alpha=(m + 0.5) / n, activation=jax.nn.softplus, param_dtype=jnp.float64)


def module_variables(params: Mapping[str, Any]) -> dict[str, Any]:
    """qgenflow's RBM parameters as the variables of :func:`rbm_module`."""
    dense = {"kernel": params["weights"], "bias": params["hidden_bias"]}
    return {"params": {"Dense": dense, "visible_bias": params["visible_bias"]}}


def free_energy(params: Mapping[str, Any], v):
    """F(v) for visible rows ``v`` (float, [..., n]): minus NetKet's RBM log-amplitude."""
    n, m = np.shape(params["weights"])
    return -rbm_module(n, m).apply(module_variables(params), v)


def _neg_free_energy_all(params: Mapping[str, Any], n: int):
    """-F(v) for all 2^n visible configurations in big-endian order, built block by block."""
    lo_bits = min(n, ENUM_BLOCK_BITS)
    hi = jnp.asarray(all_bitstrings(n - lo_bits), dtype=jnp.float64)  # leading (most significant) bits
    lo = jnp.asarray(all_bitstrings(lo_bits), dtype=jnp.float64)

    @jax.checkpoint
    def block(h):
        return -free_energy(params, jnp.concatenate([jnp.broadcast_to(h, (lo.shape[0], h.size)), lo], axis=1))

    return jax.lax.map(block, hi).reshape(-1)


def log_probs_all(params: Mapping[str, Any]) -> np.ndarray:
    """Exact log p(v) for all 2^n visible configurations (big-endian), by enumeration."""
    jax.config.update("jax_enable_x64", True)
    n, m = np.shape(params["weights"])
    return np.asarray(_functions(n, m)["log_probs"](_flatten(params)), dtype=np.float64)


def neg_log_pseudo_likelihood(params: Mapping[str, Any], v, weights):
    """-sum_i log p(v_i | v_-i), averaged over rows ``v`` with ``weights`` (summing to 1)."""
    base = free_energy(params, v)

    def bit(i):  # F(v with bit i flipped) - F(v), one bit at a time to keep memory O(B m)
        return free_energy(params, v.at[:, i].set(1.0 - v[:, i])) - base

    gaps = jax.lax.map(bit, jnp.arange(v.shape[1]))  # [n, B]
    return -jnp.dot(jnp.sum(jax.nn.log_sigmoid(gaps), axis=0), weights)


def _gibbs_sweeps(params: Mapping[str, Any], v, u_hidden, u_visible):
    """Block-Gibbs updates v -> h -> v of the chains ``v`` [C, n], one per leading slice of the
    uniforms ``u_hidden`` [S, C, m] and ``u_visible`` [S, C, n] (a unit is 1 where u < its probability)."""
    def sweep(v, u):
        h = (u[0] < jax.nn.sigmoid(v @ params["weights"] + params["hidden_bias"])).astype(v.dtype)
        return (u[1] < jax.nn.sigmoid(h @ params["weights"].T + params["visible_bias"])).astype(v.dtype), None

    return jax.lax.scan(sweep, v, (u_hidden, u_visible))[0]


def _uniforms(rng: np.random.Generator, sweeps: int, chains: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.random((sweeps, chains, m)), rng.random((sweeps, chains, n))


def gibbs_samples(
    params: Mapping[str, Any], n_samples: int, rng: np.random.Generator, n_chains: int, burn_in: int, thin: int
) -> np.ndarray:
    """Block-Gibbs samples: ``n_chains`` chains from uniform random bits, a burn-in of
    ``burn_in`` sweeps (rounded up to a multiple of ``thin``), then one draw per chain
    every ``thin`` sweeps, interleaved across chains."""
    jax.config.update("jax_enable_x64", True)
    n, m = np.shape(params["weights"])
    sweeps = _functions(n, m)["sweeps"]
    flat = jnp.asarray(_flatten(params))
    v = jnp.asarray(rng.random((n_chains, n)) < 0.5, dtype=jnp.float64)
    for _ in range(-(-burn_in // thin)):
        v = sweeps(flat, v, *_uniforms(rng, thin, n_chains, n, m))
    draws = []
    for _ in range(-(-n_samples // n_chains)):
        v = sweeps(flat, v, *_uniforms(rng, thin, n_chains, n, m))
        draws.append(np.asarray(v, dtype=np.uint8))
    return np.concatenate(draws)[:n_samples]


def _flatten(params: Mapping[str, Any]) -> np.ndarray:
    """One float64 vector: visible biases, hidden biases, then the couplings row by row."""
    return np.concatenate([np.ravel(np.asarray(params[k], dtype=np.float64)) for k in PARAM_NAMES])


def _unflatten(flat, n: int, m: int) -> dict[str, Any]:
    return {"visible_bias": flat[:n], "hidden_bias": flat[n : n + m], "weights": flat[n + m :].reshape(n, m)}


@functools.lru_cache(maxsize=16)
def _functions(n: int, m: int) -> dict[str, Any]:
    """Jitted functions of the flat parameter vector for n visible and m hidden units (cached)."""
    rbm_module(n, m)  # built (and netket imported) outside any trace: importing netket under jit fails
    def nll(flat, v, w):
        p = _unflatten(flat, n, m)
        return jnp.dot(free_energy(p, v), w) + jax.scipy.special.logsumexp(_neg_free_energy_all(p, n))

    def pcd_step(flat, chains, v, w, u_hidden, u_visible):
        p = _unflatten(flat, n, m)
        chains = _gibbs_sweeps(p, chains, u_hidden, u_visible)

        def surrogate(flat):  # its gradient is the PCD estimate of the NLL gradient
            q = _unflatten(flat, n, m)
            return jnp.dot(free_energy(q, v), w) - jnp.mean(free_energy(q, chains))

        return neg_log_pseudo_likelihood(p, v, w), jax.grad(surrogate)(flat), chains

    return {
        "nll_and_grad": jax.jit(jax.value_and_grad(nll)),
        "log_probs": jax.jit(lambda flat: _log_normalise(_neg_free_energy_all(_unflatten(flat, n, m), n))),
        "pcd_step": jax.jit(pcd_step),
        "sweeps": jax.jit(lambda flat, v, uh, uv: _gibbs_sweeps(_unflatten(flat, n, m), v, uh, uv)),
    }


def _log_normalise(neg_f):

    return neg_f - jax.scipy.special.logsumexp(neg_f)


def _init_params(rng: np.random.Generator, marginals: np.ndarray, m: int, scale: float) -> dict[str, np.ndarray]:
    """Small Gaussian couplings, zero hidden biases, visible biases at the data's logits (Hinton's guide)."""
    p = np.clip(marginals, 1e-3, 1 - 1e-3)
    return {
        "visible_bias": np.log(p / (1 - p)),
        "hidden_bias": np.zeros(m),
        "weights": rng.normal(0.0, scale, size=(marginals.size, m)),
    }


def train_rbm(spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer=None) -> BaselineResult:
    """Train an RBM on the learning data (exact likelihood gradient or PCD-k), then sample it."""
    learn = learning_data(data)
    jax.config.update("jax_enable_x64", True)
    n = learn.rows.shape[1]
    m = n_hidden(spec, n)
    exact_max = positive_int(spec, "exact_max_bits", minimum=0)
    if exact_max > PROBS_MAX_BITS:
        raise InvalidConfigError("exact_max_bits", f"must be <= {PROBS_MAX_BITS}, got {exact_max}")
    exact = n <= exact_max
    scale = float(spec["init_scale"])
    if scale < 0:
        raise InvalidConfigError("init_scale", f"must be >= 0, got {scale}")
    init_rng = make_rng(seed, "model_init")
    flat0 = _flatten(_init_params(init_rng, learn.marginals(), m, scale))
    rows, weights = learn.rows, learn.weights
    rows_j, weights_j = jnp.asarray(rows, dtype=jnp.float64), jnp.asarray(weights)

    if exact:
        opt = optimizer_spec(spec, True, "")
        nll_and_grad = _functions(n, m)["nll_and_grad"]

        def value_and_grad(flat: np.ndarray, step: int) -> tuple[float, np.ndarray]:
            loss, grad = nll_and_grad(jnp.asarray(flat), rows_j, weights_j)
            return float(loss), np.asarray(grad, dtype=np.float64)

    else:
        opt = optimizer_spec(spec, False, "PCD gradients are stochastic")
        value_and_grad, chain_state = _pcd_value_and_grad(spec, learn, m, init_rng)
        checkpointer = _ChainCheckpointer(checkpointer, chain_state) if checkpointer is not None else None
        log.info("RBM on %d bits > exact_max_bits=%d: PCD-k training", n, exact_max)

    result = fit(value_and_grad, flat0, opt, checkpointer)
    params = _unflatten(np.asarray(result.params, dtype=np.float64), n, m)
    attrs: dict[str, Any] = {
        "loss_definition": "nll" if exact else "neg_log_pseudo_likelihood",
        "training": "exact" if exact else "pcd",
        "n_hidden": m,
        "stopped_early": int(result.stopped_early),
    }
    n_samples = positive_int(spec, "n_samples")
    probs = None
    if n <= PROBS_MAX_BITS:
        probs = np.exp(log_probs_all(params))
        probs /= probs.sum()
        attrs["train_nll"] = float(-np.dot(np.log(probs[bits_to_index(rows)]), weights))
        model_samples = sample_from_probs(probs, n_samples, make_rng(seed, "model_sample"))
        attrs["sampler"] = "exact"
    else:
        sampling = spec["sampling"]
        chains = positive_int(sampling, "n_chains", prefix="sampling.")
        burn_in = positive_int(sampling, "burn_in", minimum=0, prefix="sampling.")
        thin = positive_int(sampling, "thin", prefix="sampling.")
        model_samples = gibbs_samples(params, n_samples, make_rng(seed, "model_sample"), chains, burn_in, thin)
        attrs.update(sampler="gibbs", gibbs_chains=chains, gibbs_burn_in=burn_in, gibbs_thin=thin)
    return BaselineResult.from_fit(
        result,
        params={k: np.array(params[k]) for k in PARAM_NAMES},
        probs=probs,
        samples=model_samples,
        n_params=count_params(spec, n),
        attrs=attrs,
    )


def _pcd_value_and_grad(spec, learn: LearningData, m, init_rng):
    """``(flat, step) -> (loss, grad)`` for PCD-k, and its state (the chains and the last step seen).

    The chains persist between consecutive steps; a fresh or resumed run without saved
    chains starts them from random training rows (:meth:`~.LearningData.draw`)."""
    rows, weights = learn.rows, learn.weights
    n = rows.shape[1]
    k = positive_int(spec, "k")
    n_chains = positive_int(spec, "n_chains")
    batch_size = positive_int(spec, "batch_size")
    full_batch = rows.shape[0] <= batch_size
    base = int(init_rng.integers(0, 2**31 - 1))
    step_fn = _functions(n, m)["pcd_step"]
    state: dict[str, Any] = {"chains": None, "last": None}

    def value_and_grad(flat: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        rng = np.random.default_rng([base, step])
        if state["last"] is None or step != state["last"] + 1:  # fresh start or resumed run
            state["chains"] = jnp.asarray(learn.draw(rng, n_chains), dtype=jnp.float64)
        if full_batch:
            v, w = rows, weights
        else:
            v = learn.minibatch(rng, batch_size)
            w = np.full(batch_size, 1.0 / batch_size)
        loss, grad, state["chains"] = step_fn(
            jnp.asarray(flat), state["chains"], jnp.asarray(v, dtype=jnp.float64), jnp.asarray(w),
            *_uniforms(rng, k, n_chains, n, m),
        )
        state["last"] = step
        return float(loss), np.asarray(grad, dtype=np.float64)

    return value_and_grad, state


class _ChainCheckpointer:
    """A :class:`~qgenflow.fit.checkpoint.Checkpointer` that also saves and restores the
    persistent chains (as one extra optimiser-state leaf), so PCD resumes exactly."""
    def __init__(self, inner, state: dict[str, Any]):
        self.inner, self.state, self.every = inner, state, inner.every

    def save(self, step: int, params: np.ndarray, opt_leaves: list, history: dict[str, np.ndarray]) -> None:
        self.inner.save(step, params, [*opt_leaves, np.asarray(self.state["chains"])], history)

    def load(self):

        restored = self.inner.load()
        if restored is None:
            return None
        step, params, leaves, history = restored
        self.state["chains"], self.state["last"] = jnp.asarray(leaves[-1]), step - 1
        return step, params, leaves[:-1], history

    def remove(self) -> None:
        self.inner.remove()
