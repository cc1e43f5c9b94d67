"""Trainability diagnostics of quantum circuit Born machines: gradient variance and shot noise.

The barren-plateau picture (McClean et al. 2018): for random initial angles, the variance
of a loss gradient ``Var[dL/dtheta_k]`` shrinks exponentially with the qubit count once a
circuit is deep enough to be close to a 2-design, so a gradient estimated from finitely
many shots is lost in its own noise. Here ``L`` is the model's own training loss: its
squared MMD with its configured kernels (or its KL) against a fixed reference. At ``n``
qubits the reference is the marginal of the target's training distribution, as the model
sees it under the study's ``data_access``, on the target's first ``n`` bits; at the
target's width it is exactly what the model fits. The MMD with a Gaussian kernel on
Hamming distance is neither a global nor a local cost: its body order is set by the
bandwidths (Rudolph et al. 2023; wide kernels weigh few-bit marginals, narrow ones
approach the global fidelity-like cost), which is why the shallow-circuit decay depends on
them while deep circuits decay exponentially for every bandwidth.

Gradients are exact (the adjoint method, on the model's own engine) where the
statevector fits (:data:`qgenflow.limits.MAX_EXACT_QUBITS`), and parameter-shift
estimates from shots for a model whose device has shots. A point that cannot be computed
is skipped with its reason, which the caller records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..bits import empirical_probs, sample_from_probs
from ..circuits import CircuitRunner, FastAdjointRunner, ShotRunner, gradient_method
from ..devices import make_device
from ..errors import InvalidConfigError
from ..fit.losses import make_loss
from ..kernels import mmd2_exact, mmd2_samples_vs_probs
from ..limits import MAX_DENSE_QUBITS, MAX_EXACT_QUBITS
from ..models import QCBM, make_ansatz
from ..models.result import TargetData
from ..rng import make_rng
from ..train.qcbm import gradient_engine

__all__ = [
    "COST",
    "default_qubits",
    "diagnose_model",
    "fit_decay",
    "gradient_samples",
    "reference_distribution",
    "shot_noise",
    "variance_summary",
]

log = logging.getLogger(__name__)

#: What the diagnostics differentiate and measure, recorded with every result.
COST = (
    "the model's own training loss (squared MMD with its kernels, or its KL) against the marginal of the target's "
    "training distribution on its first n bits; random angles uniform in [-init_scale, init_scale]; shot noise: "
    "the unbiased sample MMD (the model's kernels) at its initial parameters"
)


def default_qubits(n_target: int, max_qubits: int) -> list[int]:
    """The default scan: 2, 4, ... up to min(n_target, max_qubits); every count from 1 if that gives fewer than 3."""
    top = min(int(n_target), int(max_qubits))
    even = list(range(2, top + 1, 2))
    return even if len(even) >= 3 else list(range(1, top + 1))


def reference_distribution(data: TargetData, n: int) -> np.ndarray:
    """The target's training distribution, as the model sees it, marginalised onto its first ``n`` bits (big-endian)."""
    if not 1 <= n <= data.n_qubits:
        raise ValueError(f"no marginal on {n} bits of a {data.n_qubits}-bit target")
    if data.probs is not None:
        return np.asarray(data.probs, dtype=np.float64).reshape(2**n, -1).sum(axis=1)
    return empirical_probs(np.asarray(data.samples)[:, :n], n)


def _exact_runner(spec: Mapping[str, Any], n: int, seed: int):
    """The exact runner the model trains with: numba kernels (device adjoint as fallback) or the device's adjoint."""
    device = spec["device"] if gradient_method(spec) == "adjoint" else {"name": "lightning.qubit"}
    exact = CircuitRunner(make_device(device, n, seed=seed), n, seed=seed)
    if gradient_method(spec) != "adjoint" or gradient_engine(spec) == "numba":
        return FastAdjointRunner(n, fallback=exact, seed=seed)
    return exact


def _model(spec: Mapping[str, Any], data: TargetData, n: int, layers: int) -> QCBM:
    """The model's ansatz on ``n`` qubits; structure adapted to the target only at the target's width."""
    source = data.source if n == data.n_qubits else None
    return QCBM(make_ansatz(spec["ansatz"], n, int(layers), spec.get("ansatz_options", {}), target=source))


def _skip_reason(spec: Mapping[str, Any], data: TargetData, n: int) -> str | None:
    if n > data.n_qubits:
        return f"wider than the target ({data.n_qubits} bits): no marginal to fit"
    if gradient_method(spec) == "adjoint" and n > MAX_EXACT_QUBITS:
        return (f"an exact gradient needs 2^{n} amplitudes (limit {MAX_EXACT_QUBITS} qubits); a device with shots "
                "would give parameter-shift estimates")
    if n > MAX_DENSE_QUBITS:
        return f"the loss needs a dense 2^{n} probability vector (limit {MAX_DENSE_QUBITS} qubits)"
    return None


def gradient_samples(
    spec: Mapping[str, Any], data: TargetData, n: int, layers: int, initialisations: int, seed: int
) -> dict[str, Any]:
    """Loss gradients of the model at ``initialisations`` random angle sets on ``n`` qubits and ``layers`` layers.

    Returns:
        ``grads`` [K, n_params] (dL/dtheta, in ``params.ravel()`` order), ``losses`` [K] and
        ``method`` (``numba``, ``lightning`` or ``parameter_shift``).
    """
    model = _model(spec, data, n, layers)
    loss = make_loss(spec["loss"], reference_distribution(data, n))
    shots = gradient_method(spec) == "parameter_shift"
    if shots:
        device = spec["device"]
        runner, method = ShotRunner(device, n, int(device["shots"]), seed), "parameter_shift"
    else:
        runner, method = _exact_runner(spec, n, seed), gradient_engine(spec)
    angle_scale = float(getattr(model.ansatz, "gate_angle_scale", 1.0))
    rng = make_rng(seed, "trainability_init", n, layers)
    grads = np.empty((initialisations, model.n_params))
    losses = np.empty(initialisations)
    for k in range(initialisations):
        ops = model.ops(model.init_params(rng, float(spec["init_scale"])))
        if shots:  # as the shot trainer: dL/dp at the shot estimate, independent shifted-circuit shots
            samples = runner.samples(ops, k)
            grad = runner.diagonal_grad(ops, loss.grad_probs(empirical_probs(samples, n)), k)
            losses[k] = mmd2_samples_vs_probs(samples, loss.target_probs, loss.sigmas)
        else:
            p = runner.probs(ops)
            grad = runner.diagonal_grad(ops, loss.grad_probs(p))
            losses[k] = loss.value(p)
        grads[k] = np.asarray(grad).reshape(-1) * angle_scale
    return {"grads": grads, "losses": losses, "method": method}


def variance_summary(grads: np.ndarray) -> dict[str, float]:
    """Var over initialisations (ddof 1) of dL/dtheta_k for the first and the middle parameter, and its mean over k."""
    var = np.var(np.asarray(grads, dtype=np.float64), axis=0, ddof=1)
    return {"first": float(var[0]), "middle": float(var[var.size // 2]), "mean": float(var.mean())}


def fit_decay(qubits: Sequence[int], variances: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit ``log2 Var = intercept + slope * n`` over the finite positive variances.

    ``slope`` is the exponential decay rate per qubit (``Var ~ 2^(slope n)``; -1 is the
    2^-n of a global cost on a 2-design). NaN for both when fewer than two qubit counts remain.
    """
    n = np.asarray(qubits, dtype=np.float64)
    v = np.asarray(variances, dtype=np.float64)
    keep = np.isfinite(v) & (v > 0)
    if np.unique(n[keep]).size < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(n[keep], np.log2(v[keep]), 1)
    return float(slope), float(intercept)


def shot_noise(
    spec: Mapping[str, Any], data: TargetData, shots: Sequence[int], repetitions: int, seed: int
) -> dict[str, Any]:
    """Shot-estimated loss at the model's initial parameters, ``repetitions`` times per shot budget.

    On the target's full width, with the initial angles the QCBM trainer draws for ``seed``;
    the loss is the unbiased sample MMD with the model's kernels (for a KL model, the
    kernels it reports shot-based progress with: the KL of an empirical distribution has no
    finite unbiased estimate). Shots come from the model's device where it has shots, else
    are drawn from the exact probabilities (a noiseless device).

    Returns:
        ``shots`` [S], ``losses`` [S, R], ``std`` and ``mean`` [S] over the repetitions,
        and ``exact`` (the exact MMD).
    """
    n = data.n_qubits
    model = _model(spec, data, n, int(spec["layers"]))
    loss = make_loss(spec["loss"], reference_distribution(data, n))
    ops = model.ops(model.init_params(make_rng(seed, "model_init"), float(spec["init_scale"])))
    p = _exact_runner(spec, n, seed).probs(ops)
    device_shots = gradient_method(spec) == "parameter_shift"
    runner = ShotRunner(spec["device"], n, int(max(shots)), seed) if device_shots else None
    losses = np.empty((len(shots), int(repetitions)))
    for i, budget in enumerate(shots):
        for r in range(int(repetitions)):
            if device_shots:
                samples = runner.samples(ops, i * int(repetitions) + r, int(budget))
            else:
                samples = sample_from_probs(p, int(budget), make_rng(seed, "trainability_shots", int(budget), r))
            losses[i, r] = mmd2_samples_vs_probs(samples, loss.target_probs, loss.sigmas)
    return {
        "shots": np.asarray(shots, dtype=np.int64),
        "losses": losses,
        "std": losses.std(axis=1, ddof=1),
        "mean": losses.mean(axis=1),
        "exact": mmd2_exact(p, loss.target_probs, loss.sigmas),
    }


def _scan(spec, data, qubits, layers, initialisations, seed) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], list[str]]:
    """Variance grids [len(qubits), len(layers)] and raw gradients of one model, the points skipped, the engines used."""
    shape = (len(qubits), len(layers))
    grids = {key: np.full(shape, np.nan) for key in ("var_first", "var_middle", "var_mean", "loss_mean")}
    out: dict[str, np.ndarray] = {}
    skipped: list[dict[str, Any]] = []
    methods: set[str] = set()
    for i, n in enumerate(qubits):
        reason = _skip_reason(spec, data, int(n))
        for j, depth in enumerate(layers):
            if reason is None:
                try:
                    result = gradient_samples(spec, data, int(n), int(depth), initialisations, seed)
                except (InvalidConfigError, ValueError) as exc:
                    if int(n) == data.n_qubits:
                        raise
                    reason = f"the ansatz does not build on {n} qubits: {exc}"
            if reason is not None:
                skipped.append({"n_qubits": int(n), "layers": int(depth), "reason": reason})
                continue
            summary = variance_summary(result["grads"])
            for key in ("first", "middle", "mean"):
                grids[f"var_{key}"][i, j] = summary[key]
            grids["loss_mean"][i, j] = float(np.mean(result["losses"]))
            out[f"grads/n{n}_l{depth}"] = result["grads"]
            methods.add(result["method"])
    out.update(grids)
    return out, skipped, sorted(methods)


def diagnose_model(
    spec: Mapping[str, Any], data: TargetData, settings: Mapping[str, Any], seed: int
) -> tuple[dict[str, np.ndarray], dict[str, Any], list[dict[str, Any]]]:
    """Gradient-variance scan, decay fits and shot noise of one QCBM on one target.

    Args:
        spec: the model's config entry, with defaults (``data_access`` applied to ``data`` already).
        data: the target as the model sees it (:func:`qgenflow.train.training_view`).
        settings: the study's ``trainability`` section, with defaults.
        seed: seeds the initialisations and the shots.

    Returns:
        ``(datasets, fits, skipped)``: arrays by path relative to the model's group
        (``var_mean`` and friends [qubits, layers], ``grads/n{n}_l{L}``, ``shot_noise/*``);
        the fitted decay ``{"slope_mean", "slope_first", "intercept_mean"}`` (one entry per
        layer count) and the gradient ``methods`` used; and every point skipped, with its reason.
    """
    qubits = settings.get("qubits") or default_qubits(data.n_qubits, settings["max_qubits"])
    layers = list(settings["layers"])
    datasets, skipped, methods = _scan(spec, data, qubits, layers, int(settings["initialisations"]), seed)
    datasets["qubits"], datasets["layers"] = np.asarray(qubits, dtype=np.int64), np.asarray(layers, dtype=np.int64)
    fits: dict[str, list] = {"slope_mean": [], "intercept_mean": [], "slope_first": [], "methods": methods}
    for j in range(len(layers)):
        slope, intercept = fit_decay(qubits, datasets["var_mean"][:, j])
        fits["slope_mean"].append(slope)
        fits["intercept_mean"].append(intercept)
        fits["slope_first"].append(fit_decay(qubits, datasets["var_first"][:, j])[0])
    if data.n_qubits > MAX_DENSE_QUBITS:
        reason = f"the target's {data.n_qubits} bits exceed the dense-loss limit of {MAX_DENSE_QUBITS}"
        skipped.append({"n_qubits": data.n_qubits, "layers": int(spec["layers"]), "reason": f"shot noise: {reason}"})
    else:
        noise = shot_noise(spec, data, settings["shots"], int(settings["repetitions"]), seed)
        datasets.update({f"shot_noise/{key}": np.asarray(value) for key, value in noise.items()})
    for entry in skipped:
        log.warning("trainability: skipped n=%d, layers=%d: %s", entry["n_qubits"], entry["layers"], entry["reason"])
    return datasets, fits, skipped
