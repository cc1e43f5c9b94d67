"""QGAN with a classical discriminator: a Born-machine generator against an MLP on bitstrings.

The generator is a Born machine ``p_theta(x) = |<x|U(theta)|0>|^2`` of any registered
ansatz; the discriminator ``D(x) = sigmoid(f_phi(x))`` is a small flax MLP on the
spins ``1 - 2 x``. The discriminator minimises the binary cross-entropy of real
(target training samples, label ``1 - label_smoothing``) against generated
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
import time
from typing import Any, Mapping

import numpy as np

from ...errors import InvalidConfigError
from . import DEFAULT_STEPS, QGANResult, TargetData, setting

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
MAX_GAN_QUBITS = 16
_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "gelu")
_D_OPTIMIZERS = ("adam", "sgd")
# Seed-sequence tags of this module's random streams (besides qgenflow.rng's).
_STREAM_D_INIT, _STREAM_D_BATCH = 101, 102
_KL_EPS = 1e-12


def make_discriminator(hidden: tuple[int, ...], activation: str):
    """A flax MLP mapping a batch of spins [B, n] (+-1) to logits [B]."""
    import flax.linen as nn
    import jax

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
    import jax
    import jax.numpy as jnp
    import optax

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
        import jax
        import jax.numpy as jnp

        from . import setting

        hidden = tuple(int(h) for h in spec.get("hidden", [32, 32]))
        name, lr, decay = (
            spec.get("name", "adam"),
            float(setting(spec, "lr", 0.01)),
            float(spec.get("weight_decay", 0.0)),
        )
        init, self._update, self._apply, optimizer = _compiled(
            hidden, spec.get("activation", "leaky_relu"), name, lr, decay, float(smoothing)
        )
        key = jax.random.PRNGKey(int(np.random.SeedSequence([seed, _STREAM_D_INIT]).generate_state(1)[0]))
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

    def trees(self) -> tuple:
        return self.params, self.state

    def named_params(self) -> dict[str, np.ndarray]:
        import jax

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
    if not 0.0 <= float(spec.get("label_smoothing", 0.1)) < 0.5:
        raise InvalidConfigError("label_smoothing", f"must be in [0, 0.5), got {spec.get('label_smoothing')}")
    if int(setting(spec, "d_steps", 1)) < 1:
        raise InvalidConfigError("d_steps", f"must be >= 1, got {spec.get('d_steps')}")
    if int(spec.get("log_every", 10)) < 1:
        raise InvalidConfigError("log_every", f"must be >= 1, got {spec.get('log_every')}")
    name = spec.get("discriminator", {}).get("name", "adam")
    if name not in _D_OPTIMIZERS:
        raise InvalidConfigError(
            "discriminator.name", f"unknown optimiser {name!r}; allowed: {', '.join(_D_OPTIMIZERS)}"
        )


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
    import jax
    import jax.numpy as jnp
    import optax

    from ...bits import all_bitstrings, bits_to_index, empirical_probs, sample_from_probs, unique_counts
    from ...limits import MAX_EXACT_QUBITS
    from ...devices import make_device
    from ...kernels import mmd2_exact
    from ...rng import make_rng
    from ...circuits import FINAL_SAMPLING_STEP, gradient_method
    from ...circuits import CircuitRunner, ShotRunner
    from ...fit.loop import Progress
    from ...fit.optimizers import make_optimizer
    from .. import QCBM, make_ansatz

    jax.config.update("jax_enable_x64", True)
    n = target.n_qubits
    _check_spec(spec, n)
    method = gradient_method(spec)
    device_spec = dict(spec.get("device", {}))
    shots = device_spec.get("shots")
    model = QCBM(
        make_ansatz(
            setting(spec, "ansatz", "hardware_efficient"),
            n,
            int(setting(spec, "layers", 6)),
            spec.get("ansatz_options", {}),
            target=target.source,
        )
    )
    g_spec = dict(spec.get("optimizer", {}))
    steps = int(setting(g_spec, "steps", DEFAULT_STEPS))
    g_spec["steps"] = steps  # the learning-rate schedule spans the same steps
    d_spec = dict(spec.get("discriminator", {}))
    d_steps = int(setting(spec, "d_steps", 1))
    smooth = float(spec.get("label_smoothing", 0.1))
    log_every = int(spec.get("log_every", 10))
    sigmas = [float(s) for s in spec.get("sigmas", [0.5, 1.0, 2.0, 4.0])]
    batch_size = spec.get("batch_size")

    # Reference distribution and support for the metrics.
    if target.probs is not None:
        ref_probs, reference = np.asarray(target.probs, dtype=np.float64), "probs"
    else:
        ref_probs, reference = empirical_probs(target.samples, n), "empirical"
    support = np.flatnonzero(ref_probs > 0)
    threshold = spec.get("coverage_threshold")
    threshold = 1.0 / (10.0 * support.size) if threshold is None else float(threshold)
    monitor = CoverageMonitor(float(spec.get("collapse_fraction", 0.5)))

    # Discriminator inputs: spins of every bitstring, and of the distinct training samples.
    all_x = 1.0 - 2.0 * all_bitstrings(n).astype(np.float64)
    real_rows, real_counts = unique_counts(target.samples)
    real_x = 1.0 - 2.0 * real_rows.astype(np.float64)
    real_w = real_counts / real_counts.sum()
    disc = MLPDiscriminator(d_spec, n, seed, smooth)

    def real_batch(step: int, k: int):
        if batch_size is None:
            return real_x, real_w
        rng = np.random.default_rng([seed, _STREAM_D_BATCH, step, k])
        idx = rng.integers(len(target.samples), size=int(batch_size))
        return 1.0 - 2.0 * target.samples[idx].astype(np.float64), np.full(int(batch_size), 1.0 / int(batch_size))

    if method == "adjoint":
        runner = CircuitRunner(make_device(device_spec, n, seed=seed), n)
    else:
        shot_runner = ShotRunner(device_spec, n, int(shots), seed)

    def generator_view(ops, step):
        """(fake inputs, fake weights, model probability vector) for this step."""
        if method == "adjoint":
            p = runner.probs(ops)
            return all_x, p, p
        samples = shot_runner.samples(ops, step)
        fake_x = 1.0 - 2.0 * samples.astype(np.float64)
        return fake_x, np.full(len(samples), 1.0 / len(samples)), empirical_probs(samples, n)

    g_opt = make_optimizer(g_spec)
    theta = np.asarray(model.init_params(make_rng(seed, "model_init"), float(spec.get("init_scale", np.pi))))
    g_state = g_opt.init(theta)
    treedefs = [jax.tree_util.tree_structure(t) for t in (g_state, *disc.trees())]
    sizes = [len(jax.tree_util.tree_leaves(t)) for t in (g_state, *disc.trees())]

    g_loss = np.full(steps + 1, np.nan)
    d_loss = np.full(steps + 1, np.nan)
    logged: dict[str, list] = {
        k: [] for k in ("log_step", "d_accuracy", "mmd", "kl", "coverage", "support_mass", "mode_collapse")
    }
    start_step = 0
    restored = checkpointer.load() if checkpointer is not None else None
    if restored is not None:
        start_step, theta, leaves, hist = restored
        theta = np.asarray(theta, dtype=np.float64)
        parts, offset = [], 0
        for treedef, size in zip(treedefs, sizes):
            parts.append(
                jax.tree_util.tree_unflatten(treedef, [jnp.asarray(x) for x in leaves[offset : offset + size]])
            )
            offset += size
        g_state, disc.params, disc.state = parts
        g_loss[:start_step], d_loss[:start_step] = hist["loss"][:start_step], hist["d_loss"][:start_step]
        for key in logged:
            logged[key] = list(np.asarray(hist[key]))
        for step_, cov in zip(logged["log_step"], logged["coverage"]):
            monitor.update(int(step_), float(cov))

    def log_metrics(step: int, p: np.ndarray, xf, wf, xr, wr) -> None:
        cov = coverage(p, support, threshold)
        collapsed = monitor.update(step, cov)
        row = {
            "log_step": step,
            "d_accuracy": disc.accuracy(xr, wr, xf, wf),
            "mmd": mmd2_exact(p, ref_probs, sigmas),
            "kl": _kl(ref_probs, p),
            "coverage": cov,
            "support_mass": float(p[support].sum()),
            "mode_collapse": int(collapsed),
        }
        for key, value in row.items():
            logged[key].append(value)
        log.info(
            "step %d: G loss %.4f  D loss %.4f  D acc %.3f  MMD %.2e  KL %.3f  coverage %.2f  support mass %.3f",
            step,
            g_loss[step],
            d_loss[step],
            row["d_accuracy"],
            row["mmd"],
            row["kl"],
            cov,
            row["support_mass"],
        )

    progress = Progress(steps, start_step=start_step)
    start = time.perf_counter()
    shape = model.shape
    for step in range(start_step, steps + 1):
        ops = model.ops(theta)
        xf, wf, p = generator_view(ops, step)
        final = step == steps
        losses = []
        for k in range(0 if final else d_steps):
            xr, wr = real_batch(step, k)
            losses.append(disc.update(xr, wr, xf, wf))
        xr, wr = real_batch(step, 0)
        if final:
            losses.append(disc.loss(xr, wr, xf, wf))
        d_loss[step] = float(np.mean(losses))
        g = disc.g(all_x)
        g_loss[step] = float(p @ g) if method == "adjoint" else float(wf @ disc.g(xf))
        if step % log_every == 0 or final:
            log_metrics(step, p, xf, wf, xr, wr)
        if final:
            break
        progress.update(step, g_loss[step])
        if method == "adjoint":
            grad = runner.diagonal_grad(ops, g)
        else:
            grad = shot_runner.diagonal_grad(ops, g, step)
        updates, g_state = g_opt.update(grad.reshape(shape), g_state, theta)
        theta = np.asarray(optax.apply_updates(theta, updates), dtype=np.float64)
        done = step + 1
        if checkpointer is not None and checkpointer.every and done % checkpointer.every == 0 and done < steps:
            leaves = [np.asarray(x) for t in (g_state, *disc.trees()) for x in jax.tree_util.tree_leaves(t)]
            hist = {"loss": g_loss, "d_loss": d_loss, **{k: np.asarray(v) for k, v in logged.items()}}
            checkpointer.save(done, theta, leaves, hist)
    seconds = time.perf_counter() - start

    ops = model.ops(theta)
    n_samples = int(spec.get("n_samples", 20000))
    if method == "adjoint":
        probs = runner.probs(ops)
        samples = sample_from_probs(probs, n_samples, make_rng(seed, "model_sample"))
    else:  # samples from the configured device itself; exact probabilities where a simulator can give them
        samples = ShotRunner(device_spec, n, n_samples, seed).samples(ops, FINAL_SAMPLING_STEP)
        probs = (
            CircuitRunner(make_device({"name": "lightning.qubit"}, n), n).probs(ops) if n <= MAX_EXACT_QUBITS else None
        )
    valid = float(np.mean(np.isin(bits_to_index(samples), support)))
    history = {
        "step": np.arange(steps + 1, dtype=np.int64),
        "loss": g_loss,
        "d_loss": d_loss,
        **{
            k: np.asarray(v, dtype=np.int64 if k in ("log_step", "mode_collapse") else np.float64)
            for k, v in logged.items()
        },
    }
    attrs = {
        "flavor": "classical_discriminator",
        "ansatz": model.ansatz.name,
        "gradient": method,
        "device": device_spec.get("name", "lightning.qubit"),
        "metrics_reference": reference,
        "final_loss": float(g_loss[-1]),
        "final_d_loss": float(d_loss[-1]),
        "final_d_accuracy": float(logged["d_accuracy"][-1]),
        "final_mmd": float(logged["mmd"][-1]),
        "final_kl": float(logged["kl"][-1]),
        "coverage": float(logged["coverage"][-1]),
        "coverage_best": float(monitor.best),
        "coverage_threshold": threshold,
        "support_mass": float(logged["support_mass"][-1]),
        "sample_support_fraction": valid,
        "mode_collapse": int(monitor.collapsed),
        "mode_collapse_events": int(monitor.events),
        "steps_done": steps,
        "resumed_from": start_step,
    }
    if monitor.collapsed:
        log.warning(
            "the trained generator is mode-collapsed: coverage %.3f (best %.3f)", attrs["coverage"], monitor.best
        )
    params = {"theta": theta, **disc.named_params()}
    extra = {f"ansatz/{k}": v for k, v in model.ansatz.structure.items()}
    return QGANResult(
        params=params,
        history=history,
        probs=probs,
        samples=samples,
        n_params=model.n_params,
        seconds=seconds,
        seconds_per_step=seconds / max(steps - start_step, 1),
        attrs=attrs,
        extra=extra,
    )
