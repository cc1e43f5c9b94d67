"""QGAN with a classical discriminator: a Born-machine generator against an MLP on bitstrings.

The generator is a Born machine ``p_theta(x) = |<x|U(theta)|0>|^2`` of any registered
ansatz; the discriminator ``D(x) = sigmoid(f_phi(x))`` is a small flax MLP on the
spins ``1 - 2 x``. The discriminator minimises the binary cross-entropy of real
(target training samples, or the target's exact probabilities when the study's
``data_access`` gives them; label ``1 - label_smoothing``) against generated
bitstrings (label 0). The generator minimises the non-saturating loss
``L_G = E_{x ~ p_theta}[-log D(x)]``: the expectation of a *diagonal* observable
``g(x) = -log D(x)``, so one adjoint pass with ``diag(g)`` gives its exact gradient
on a simulator (:meth:`CircuitRunner.diagonal_grad`), and parameter-shift with
finite shots gives an unbiased estimate on any device (:class:`ShotRunner`).
``g`` is evaluated on all ``2^n`` bitstrings, which bounds ``n`` by
:data:`MAX_GAN_QUBITS`.

Every ``log_every`` steps the run logs both losses, the discriminator's accuracy,
MMD and KL to the target, the generator's mass on the target support and its
*coverage*: the share of support bitstrings (target probability > 0, or seen in
the training samples) on which the generator puts more than ``coverage_threshold``
(default ``1 / (10 |support|)``). Coverage falling below ``collapse_fraction`` of
its best value is reported as mode collapse (a warning, ``history/mode_collapse``
and ``attrs["mode_collapse"]``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...bits import all_bitstrings, bits_to_index, empirical_probs, sample_from_probs
from ...circuits import FINAL_SAMPLING_STEP, CircuitRunner, ShotRunner, gradient_method
from ...circuits.qasm import qasm_record
from ...devices import make_device
from ...errors import InvalidConfigError
from ...limits import QGAN_CLASSICAL_MAX_QUBITS
from ...fit.loop import TrainResult, fit, without_early_stopping
from ...kernels import mmd2_exact
from ...limits import MAX_EXACT_QUBITS
from ...rng import make_rng, seed_sequence
from ..ansatz import make_ansatz
from ..baselines import LearningData, learning_data
from ..qcbm import QCBM
from . import QGANResult, TargetData, setting

__all__ = [
    "MAX_GAN_QUBITS",
    "CoverageMonitor",
    "MLPDiscriminator",
    "coverage",
    "make_discriminator",
    "train_classical_discriminator",
]

log = logging.getLogger(__name__)

#: The generator's observable -log D(x) is tabulated on all 2^n bitstrings.
MAX_GAN_QUBITS = QGAN_CLASSICAL_MAX_QUBITS
_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "gelu")
_D_OPTIMIZERS = ("adam", "sgd")
# Seed-sequence tags of this module's random streams (besides qgenflow.rng's).
_KL_EPS = 1e-12


def make_discriminator(hidden: tuple[int, ...], activation: str):
    """A flax MLP mapping a batch of spins [B, n] (+-1) to logits [B]."""
    if activation not in _ACTIVATIONS:
        raise InvalidConfigError(
            "discriminator.activation", f"unknown activation {activation!r}; allowed: {', '.join(_ACTIVATIONS)}"
        )
    act = getattr(jax.nn, activation)

    class Discriminator(nn.Module):
        @nn.compact
        def __call__(self, x):
            for width in hidden:
                x = act(nn.Dense(width, param_dtype=x.dtype)(x))
            return nn.Dense(1, param_dtype=x.dtype)(x)[..., 0]

    return Discriminator()


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


@functools.lru_cache(maxsize=16)
def _compiled(hidden: tuple[int, ...], activation: str, name: str, lr: float, decay: float, smoothing: float):
    """Jitted (init, update, apply) and the optimiser of one discriminator setting, compiled once per process."""
    module = make_discriminator(hidden, activation)
    if name == "adam":
        optimizer = optax.adamw(lr, weight_decay=decay) if decay else optax.adam(lr)
    else:
        optimizer = optax.chain(optax.add_decayed_weights(decay), optax.sgd(lr)) if decay else optax.sgd(lr)

    def loss(params, xr, wr, xf, wf):
        lr_, lf = module.apply(params, xr), module.apply(params, xf)
        real = jnp.sum(wr * ((1.0 - smoothing) * jax.nn.softplus(-lr_) + smoothing * jax.nn.softplus(lr_)))
        return 0.5 * (real + jnp.sum(wf * jax.nn.softplus(lf)))

    def update(params, state, xr, wr, xf, wf):
        value, grads = jax.value_and_grad(loss)(params, xr, wr, xf, wf)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    return jax.jit(module.init), jax.jit(update), jax.jit(module.apply), optimizer


class MLPDiscriminator:
    """The discriminator and its optimiser: binary cross-entropy with one-sided label smoothing.

    Inputs are spins ``1 - 2 x`` [B, n] with weights [B] summing to 1 per side, so the
    same update serves exact distributions (all bitstrings weighted by p) and samples.
    """

    def __init__(self, spec: Mapping[str, Any], n: int, seed: int, smoothing: float):
        hidden = tuple(int(h) for h in spec["hidden"])
        name, lr, decay = (
            spec["name"],
            float(setting(spec, "lr", 0.01)),
            float(spec["weight_decay"]),
        )
        init, self._update, self._apply, optimizer = _compiled(
            hidden, spec["activation"], name, lr, decay, float(smoothing)
        )
        key = jax.random.PRNGKey(int(seed_sequence(seed, "qgan_discriminator_init").generate_state(1)[0]))
        self.params = init(key, jnp.zeros((1, n), dtype=jnp.float64))
        self.state = optimizer.init(self.params)
        self.smoothing = smoothing

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._apply(self.params, x), dtype=np.float64)

    def g(self, x: np.ndarray) -> np.ndarray:
        """The generator's observable ``-log D(x)``."""
        return _softplus(-self.logits(x))

    def loss(self, xr, wr, xf, wf) -> float:
        lr_, lf = self.logits(xr), self.logits(xf)
        real = wr @ ((1.0 - self.smoothing) * _softplus(-lr_) + self.smoothing * _softplus(lr_))
        return float(0.5 * (real + wf @ _softplus(lf)))

    def update(self, xr, wr, xf, wf) -> float:
        """One optimiser step; returns the loss before it."""
        self.params, self.state, value = self._update(self.params, self.state, xr, wr, xf, wf)
        return float(value)

    def accuracy(self, xr, wr, xf, wf) -> float:
        """Balanced accuracy: real called real (logit > 0), generated called generated."""
        return 0.5 * (float(wr @ (self.logits(xr) > 0)) + float(wf @ (self.logits(xf) < 0)))

    def leaves(self) -> list[np.ndarray]:
        """The parameters' and optimiser state's leaves, in pytree order (for checkpoints)."""
        return [np.asarray(x) for x in jax.tree_util.tree_leaves((self.params, self.state))]

    def set_leaves(self, leaves: list[np.ndarray]) -> None:
        """Restore :meth:`leaves`."""
        treedef = jax.tree_util.tree_structure((self.params, self.state))
        self.params, self.state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(x) for x in leaves])

    def named_params(self) -> dict[str, np.ndarray]:
        return _flatten_tree(jax.tree_util.tree_map(np.asarray, self.params)["params"], "discriminator")


def _flatten_tree(tree: Mapping[str, Any], prefix: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_flatten_tree(value, f"{prefix}/{key}"))
        else:
            out[f"{prefix}/{key}"] = np.asarray(value)
    return out


def coverage(model_probs: np.ndarray, support: np.ndarray, threshold: float) -> float:
    """Share of the ``support`` indices on which ``model_probs`` exceeds ``threshold``."""
    return float(np.mean(np.asarray(model_probs)[support] > threshold))


class CoverageMonitor:
    """Flags mode collapse: coverage below ``fraction`` of its best value so far."""

    def __init__(self, fraction: float):
        self.fraction = float(fraction)
        self.best = 0.0
        self.collapsed = False
        self.events = 0

    def update(self, step: int, value: float) -> bool:
        self.best = max(self.best, value)
        collapsed = value < self.fraction * self.best
        if collapsed and not self.collapsed:
            self.events += 1
            log.warning(
                "mode collapse at step %d: coverage %.3f fell below %.2f x its best %.3f",
                step,
                value,
                self.fraction,
                self.best,
            )
        elif self.collapsed and not collapsed:
            log.info("coverage recovered at step %d: %.3f (best %.3f)", step, value, self.best)
        self.collapsed = collapsed
        return collapsed


def _kl(target: np.ndarray, model: np.ndarray) -> float:
    mask = target > 0
    return float(np.sum(target[mask] * (np.log(target[mask]) - np.log(np.maximum(model[mask], _KL_EPS)))))


def _check_spec(spec: Mapping[str, Any], n: int) -> None:
    if n > MAX_GAN_QUBITS:
        raise InvalidConfigError(
            "kind",
            f"the classical-discriminator QGAN tabulates D on all 2^n bitstrings: n <= {MAX_GAN_QUBITS}, got {n}",
        )
    if not 0.0 <= float(spec["label_smoothing"]) < 0.5:
        raise InvalidConfigError("label_smoothing", f"must be in [0, 0.5), got {spec.get('label_smoothing')}")
    if int(setting(spec, "d_steps", 1)) < 1:
        raise InvalidConfigError("d_steps", f"must be >= 1, got {spec.get('d_steps')}")
    if int(spec["log_every"]) < 1:
        raise InvalidConfigError("log_every", f"must be >= 1, got {spec.get('log_every')}")
    name = spec["discriminator"]["name"]
    if name not in _D_OPTIMIZERS:
        raise InvalidConfigError(
            "discriminator.name", f"unknown optimiser {name!r}; allowed: {', '.join(_D_OPTIMIZERS)}"
        )


def _spins(bits: np.ndarray) -> np.ndarray:
    """The discriminator's inputs ``1 - 2 x`` of bit rows ``x``."""
    return 1.0 - 2.0 * bits.astype(np.float64)


@dataclass
class _Reference:
    """What the logged metrics compare the generator with: target (or empirical) probabilities and their support."""

    probs: np.ndarray
    name: str
    support: np.ndarray
    threshold: float


def _reference(spec: Mapping[str, Any], target: TargetData) -> _Reference:
    """What the logged metrics compare with: only what the generator was given to learn from.

    Under ``data_access: samples`` the trainer is not given the exact probabilities, so the
    history is monitored against the training samples' empirical distribution
    (``metrics_reference: empirical``). Monitoring never feeds back into training.
    """
    if target.probs is not None:
        probs, name = np.asarray(target.probs, dtype=np.float64), "probs"
    else:
        probs, name = empirical_probs(target.samples, target.n_qubits), "empirical"
    support = np.flatnonzero(probs > 0)
    threshold = spec.get("coverage_threshold")
    threshold = 1.0 / (10.0 * support.size) if threshold is None else float(threshold)
    return _Reference(probs, name, support, threshold)


class _RealData:
    """The discriminator's real side: all distinct training strings with their weights (frequencies,
    or exact probabilities), or seeded random batches drawn from them."""

    def __init__(self, learn: LearningData, seed: int, batch_size: int | None):
        self.x, self.w = _spins(learn.rows), learn.weights
        self.learn, self.seed, self.batch_size = learn, seed, batch_size

    def batch(self, step: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(spins, weights) of discriminator update ``k`` at generator step ``step``."""
        if self.batch_size is None:
            return self.x, self.w
        rng = make_rng(self.seed, "qgan_batches", step, k)
        batch = self.learn.draw(rng, int(self.batch_size))
        return _spins(batch), np.full(int(self.batch_size), 1.0 / int(self.batch_size))


class _BornGenerator:
    """The Born machine as the discriminator sees it: exact probabilities (adjoint) or shot samples."""

    def __init__(self, model: QCBM, device_spec: Mapping[str, Any], method: str, n: int, seed: int):
        self.model, self.device_spec, self.method, self.n, self.seed = model, dict(device_spec), method, n, seed
        self.all_x = _spins(all_bitstrings(n))
        if method == "adjoint":
            self.runner = CircuitRunner(make_device(self.device_spec, n, seed=seed), n)
        else:
            self.runner = ShotRunner(self.device_spec, n, int(self.device_spec.get("shots")), seed)

    def view(self, ops: list, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fake inputs, fake weights, model probability vector) at this step."""
        if self.method == "adjoint":
            p = self.runner.probs(ops)
            return self.all_x, p, p
        samples = self.runner.samples(ops, step)
        return _spins(samples), np.full(len(samples), 1.0 / len(samples)), empirical_probs(samples, self.n)

    def grad(self, ops: list, g: np.ndarray, step: int) -> np.ndarray:
        """Gradient of ``E_p[g]`` in the angles (exact, or parameter-shift with this step's shots)."""
        if self.method == "adjoint":
            return self.runner.diagonal_grad(ops, g)
        return self.runner.diagonal_grad(ops, g, step)

    def final(self, theta: np.ndarray, n_samples: int) -> tuple[np.ndarray | None, np.ndarray]:
        """(exact probabilities or None, samples) of the trained generator."""
        ops = self.model.ops(theta)
        if self.method == "adjoint":
            probs = self.runner.probs(ops)
            return probs, sample_from_probs(probs, n_samples, make_rng(self.seed, "model_sample"))
        # samples from the configured device itself; exact probabilities where a simulator can give them
        samples = ShotRunner(self.device_spec, self.n, n_samples, self.seed).samples(ops, FINAL_SAMPLING_STEP)
        exact = CircuitRunner(make_device({"name": "lightning.qubit"}, self.n), self.n)
        return (exact.probs(ops) if self.n <= MAX_EXACT_QUBITS else None), samples


_LOGGED = ("log_step", "d_accuracy", "mmd", "kl", "coverage", "support_mass", "mode_collapse")
_INT_SERIES = ("log_step", "mode_collapse")


class _Game:
    """The discriminator's side of the game, stepped by :func:`~qgenflow.fit.loop.fit` as its inner step.

    ``before`` trains the discriminator on this step's generator output; ``value_and_grad``
    is the generator's non-saturating loss ``E_p[-log D]`` and its gradient; ``after``
    logs the metrics every ``log_every`` steps.
    """

    def __init__(self, spec: Mapping[str, Any], gen: _BornGenerator, disc: MLPDiscriminator, real: _RealData,
                 ref: _Reference, steps: int):
        self.gen, self.disc, self.real, self.ref = gen, disc, real, ref
        self.d_steps = int(setting(spec, "d_steps", 1))
        self.log_every = int(spec["log_every"])
        self.sigmas = [float(s) for s in spec["sigmas"]]
        self.monitor = CoverageMonitor(float(spec["collapse_fraction"]))
        self.d_loss = np.full(steps + 1, np.nan)
        self.logged: dict[str, list] = {k: [] for k in _LOGGED}
        self.n_leaves = len(disc.leaves())
        self.now: dict[str, Any] = {}

    def before(self, theta: np.ndarray, step: int, final: bool) -> None:
        ops = self.gen.model.ops(theta)
        xf, wf, p = self.gen.view(ops, step)
        losses = []
        for k in range(0 if final else self.d_steps):
            xr, wr = self.real.batch(step, k)
            losses.append(self.disc.update(xr, wr, xf, wf))
        xr, wr = self.real.batch(step, 0)
        if final:
            losses.append(self.disc.loss(xr, wr, xf, wf))
        self.d_loss[step] = float(np.mean(losses))
        self.now = {"ops": ops, "xf": xf, "wf": wf, "p": p, "xr": xr, "wr": wr, "final": final}

    def value_and_grad(self, theta: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        now = self.now
        g = self.disc.g(self.gen.all_x)
        loss = float(now["p"] @ g) if self.gen.method == "adjoint" else float(now["wf"] @ self.disc.g(now["xf"]))
        if now["final"]:  # the evaluation after the last update: its gradient is never used
            return loss, np.zeros(self.gen.model.shape)
        # through the ansatz's angle map (templates, user circuits, IQP 2 theta), as the QCBM trainer does
        return loss, self.gen.model.param_grad(theta, self.gen.grad(now["ops"], g, step))

    def after(self, step: int, loss: float, final: bool) -> None:
        if step % self.log_every and not final:
            return
        now, ref = self.now, self.ref
        p = now["p"]
        cov = coverage(p, ref.support, ref.threshold)
        row = {
            "log_step": step,
            "d_accuracy": self.disc.accuracy(now["xr"], now["wr"], now["xf"], now["wf"]),
            "mmd": mmd2_exact(p, ref.probs, self.sigmas),
            "kl": _kl(ref.probs, p),
            "coverage": cov,
            "support_mass": float(p[ref.support].sum()),
            "mode_collapse": int(self.monitor.update(step, cov)),
        }
        for key, value in row.items():
            self.logged[key].append(value)
        log.info(
            "step %d: G loss %.4f  D loss %.4f  D acc %.3f  MMD %.2e  KL %.3f  coverage %.2f  support mass %.3f",
            step, loss, self.d_loss[step], row["d_accuracy"], row["mmd"], row["kl"], cov, row["support_mass"],
        )

    def state(self) -> dict[str, np.ndarray]:
        return {f"discriminator/{i:04d}": leaf for i, leaf in enumerate(self.disc.leaves())}

    def history(self, last: int) -> dict[str, np.ndarray]:
        logged = {k: np.asarray(v, dtype=np.int64 if k in _INT_SERIES else np.float64) for k, v in self.logged.items()}
        return {"d_loss": self.d_loss[: last + 1], **logged}

    def restore(self, step: int, state: Mapping[str, np.ndarray], history: Mapping[str, np.ndarray]) -> None:
        self.disc.set_leaves([state[f"discriminator/{i:04d}"] for i in range(self.n_leaves)])
        self.d_loss[:step] = history["d_loss"][:step]
        for key in self.logged:
            self.logged[key] = list(np.asarray(history[key]))
        for step_, cov in zip(self.logged["log_step"], self.logged["coverage"]):
            self.monitor.update(int(step_), float(cov))


def train_classical_discriminator(
    spec: Mapping[str, Any], target: TargetData, seed: int, checkpointer=None
) -> QGANResult:
    """Adversarial training of a Born machine against an MLP discriminator.

    Spec keys: ``ansatz``, ``layers``, ``ansatz_options``, ``init_scale``,
    ``optimizer`` (the generator's, as for a QCBM), ``discriminator`` (``hidden``,
    ``activation``, ``name``, ``lr``, ``weight_decay``), ``d_steps``,
    ``label_smoothing``, ``batch_size``, ``log_every``, ``coverage_threshold``,
    ``collapse_fraction``, ``sigmas``, ``device`` (``name``, ``shots``, ``options``),
    ``n_samples``.
    """
    jax.config.update("jax_enable_x64", True)
    n = target.n_qubits
    _check_spec(spec, n)
    ansatz = make_ansatz(
        setting(spec, "ansatz", "hardware_efficient"),
        n,
        int(spec["layers"]),
        spec.get("ansatz_options", {}),
        target=target.source,
    )
    model = QCBM(ansatz)
    g_spec = dict(spec["optimizer"])
    g_spec["steps"] = int(g_spec["steps"])  # the learning-rate schedule spans the same steps
    disc = MLPDiscriminator(dict(spec["discriminator"]), n, seed, float(spec["label_smoothing"]))
    gen = _BornGenerator(model, spec["device"], gradient_method(spec), n, seed)
    real = _RealData(learning_data(target), seed, spec.get("batch_size"))
    game = _Game(spec, gen, disc, real, _reference(spec, target), g_spec["steps"])
    theta = np.asarray(model.init_params(make_rng(seed, "model_init"), float(spec["init_scale"])))
    result = fit(game.value_and_grad, theta, without_early_stopping(g_spec), checkpointer, inner=game)
    probs, samples = gen.final(result.params, int(spec["n_samples"]))
    return QGANResult.from_fit(
        result,
        params={"theta": result.params, **disc.named_params()},
        probs=probs,
        samples=samples,
        n_params=model.n_params,
        attrs=_attrs(game, result, samples),
        extra={**{f"ansatz/{k}": v for k, v in model.ansatz.structure.items()}, **qasm_record(model.ops(result.params), n)},
    )


def _attrs(game: _Game, result: TrainResult, samples: np.ndarray) -> dict[str, Any]:
    """The run's summary attributes: the generator's, then :func:`_game_attrs`."""
    gen = game.gen
    return {
        "flavor": "classical_discriminator",
        "ansatz": gen.model.ansatz.name,
        "gradient": gen.method,
        "device": gen.device_spec["name"],
        **_game_attrs(game, result, samples),
    }


def _game_attrs(game: _Game, result: TrainResult, samples: np.ndarray) -> dict[str, Any]:
    """Any generator's game against the MLP: final losses and metrics, coverage and mode collapse."""
    ref, logged, monitor = game.ref, game.logged, game.monitor
    steps = len(game.d_loss) - 1
    attrs = {
        "metrics_reference": ref.name,
        "final_loss": float(result.history["loss"][-1]),
        "final_d_loss": float(game.d_loss[-1]),
        "final_d_accuracy": float(logged["d_accuracy"][-1]),
        "final_mmd": float(logged["mmd"][-1]),
        "final_kl": float(logged["kl"][-1]),
        "coverage": float(logged["coverage"][-1]),
        "coverage_best": float(monitor.best),
        "coverage_threshold": ref.threshold,
        "support_mass": float(logged["support_mass"][-1]),
        "sample_support_fraction": float(np.mean(np.isin(bits_to_index(samples), ref.support))),
        "mode_collapse": int(monitor.collapsed),
        "mode_collapse_events": int(monitor.events),
        "steps_done": steps,
        "resumed_from": result.resumed_from,
    }
    if monitor.collapsed:
        log.warning(
            "the trained generator is mode-collapsed: coverage %.3f (best %.3f)", attrs["coverage"], monitor.best
        )
    return attrs
