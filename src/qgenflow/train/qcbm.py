"""Quantum circuit Born machines: exact (adjoint), finite-shot and IQP Z-string estimator training.

Each trainer has the registry's signature ``(spec, data, seed, checkpointer) -> TrainedModel``
(see :mod:`qgenflow.train`).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

import numpy as np

from ..bits import empirical_probs, sample_from_probs
from ..circuits import FINAL_SAMPLING_STEP, CircuitRunner, FastAdjointRunner, ShotRunner, gradient_method
from ..circuits.numba import SUPPORTED_OPS
from ..circuits.qasm import qasm_record
from ..devices import make_device
from ..fit.checkpoint import Checkpointer
from ..fit.losses import make_loss
from ..fit.loop import TrainResult, fit
from ..kernels import mmd2_samples_vs_probs
from ..limits import MAX_EXACT_QUBITS
from ..models import QCBM, make_ansatz
from ..models.result import TargetData, TrainedModel
from ..rng import make_rng
from .iqp_estimator import fit_iqp_estimator, iqp_outputs

__all__ = ["exact_runner", "gradient_engine", "train_iqp_estimator_model", "train_qcbm"]

log = logging.getLogger(__name__)

ValueAndGrad = Callable[[np.ndarray, int], tuple[float, np.ndarray]]


def gradient_engine(spec: Mapping[str, Any]) -> str:
    """``numba`` or ``lightning``: who computes exact adjoint gradients (``training.engine``).

    ``auto`` picks qgenflow's numba kernels (one forward pass and one fused backward
    sweep; about 2x faster than lightning's adjoint at 8-16 qubits and 5x at 20 in
    benchmarks/bench_gradients.py) when the circuit runs exactly on ``lightning.qubit``
    with default options, and the device's own adjoint otherwise (``lightning.gpu``,
    other simulators). ``numba`` asks for the kernels on any exact simulation.
    """
    engine = spec.get("training", {}).get("engine", "auto")
    device = spec.get("device", {}) or {}
    if gradient_method(spec) != "adjoint":
        return "parameter_shift"
    if engine == "auto":
        on_cpu_default = device.get("name", "lightning.qubit") == "lightning.qubit" and not device.get("options")
        return "numba" if on_cpu_default else "lightning"
    return engine


def exact_runner(ops: list, n: int, device_spec: Mapping[str, Any], engine: str, seed: int) -> tuple[Any, str]:
    """The runner of exact adjoint training and the engine that runs it (``numba`` or ``lightning``).

    ``numba`` when asked for and the kernels know every gate of the circuit ``ops``
    (the gate set is fixed by the ansatz, not by its angles); the device's own adjoint
    otherwise, e.g. for a PennyLane template with gates such as ``DoubleExcitation``.
    """
    device_runner = CircuitRunner(make_device(device_spec, n, seed=seed), n)
    if engine != "numba":
        return device_runner, engine
    fast = FastAdjointRunner(n, fallback=device_runner)
    if fast.supports(ops):
        return fast, "numba"
    log.info("the numba kernels lack gates of this circuit (%s): device adjoint on %s",
             ", ".join(sorted({op.name for op in ops} - SUPPORTED_OPS)), device_spec["name"])
    return device_runner, "lightning"


def training_probs(data: TargetData) -> np.ndarray | None:
    """What a QCBM fits: the exact probabilities it was given, else the empirical distribution of the training samples.

    Under the study's ``data_access: samples`` (the default) the trainer is never given
    the exact probabilities (:func:`qgenflow.train.training_view`), so its MMD or KL loss
    is exact against the empirical distribution of the target's training samples.
    """
    if data.probs is None and data.n_qubits <= MAX_EXACT_QUBITS:
        log.info("no exact probabilities given: training on the empirical distribution of the training samples")
        return empirical_probs(data.samples, data.n_qubits)
    return data.probs


def _exact_objective(model: QCBM, loss, runner) -> ValueAndGrad:
    def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        ops = model.ops(params)
        p = runner.probs(ops)
        return loss.value(p), model.param_grad(params, runner.diagonal_grad(ops, loss.grad_probs(p)))

    return value_and_grad


def _shot_objective(model: QCBM, loss, runner: ShotRunner) -> ValueAndGrad:
    n = runner.n_qubits

    def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        ops = model.ops(params)
        samples = runner.samples(ops, step)
        p_hat = empirical_probs(samples, n)
        # dL/dp at the shot estimate; independent shifted-circuit shots keep the gradient unbiased.
        grad = model.param_grad(params, runner.diagonal_grad(ops, loss.grad_probs(p_hat), step))
        return mmd2_samples_vs_probs(samples, loss.target_probs, loss.sigmas), grad

    return value_and_grad


def _trained(model: QCBM, result: TrainResult, probs, samples, attrs: Mapping[str, Any]) -> TrainedModel:
    """A trained Born machine as model.h5 stores it."""
    attrs = {
        "ansatz": model.ansatz.name,
        **attrs,
        "stopped_early": int(result.stopped_early),
    }
    return TrainedModel.from_fit(
        result,
        params={"theta": result.params},
        probs=probs,
        samples=samples,
        n_params=model.n_params,
        attrs=attrs,
        extra={**{f"ansatz/{k}": v for k, v in model.ansatz.structure.items()},
               **qasm_record(model.ops(result.params), model.ansatz.n_qubits)},
    )


def train_qcbm(
    spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer: Checkpointer | None = None
) -> TrainedModel:
    """Train a QCBM on the target's distribution: exact adjoint gradients, or parameter shift with shots.

    The final samples come from the exact distribution (simulation) or from the
    configured device itself, its noise included (shots).
    """
    n = data.n_qubits
    ansatz = make_ansatz(spec["ansatz"], n, int(spec["layers"]), spec.get("ansatz_options", {}), target=data.source)
    model = QCBM(ansatz)
    loss = make_loss(spec["loss"], training_probs(data))
    device_spec = spec["device"]
    method = gradient_method(spec)
    init = model.init_params(make_rng(seed, "model_init"), float(spec["init_scale"]))
    engine = gradient_engine(spec)
    if method == "adjoint":
        runner, engine = exact_runner(model.ops(init), n, device_spec, engine, seed)
        objective = _exact_objective(model, loss, runner)
    else:  # parameter-shift with finite shots: the path for hardware plugins
        objective = _shot_objective(model, loss, ShotRunner(device_spec, n, int(device_spec["shots"]), seed))
    result = fit(objective, init, spec["optimizer"], checkpointer)
    n_samples = int(spec["n_samples"])
    if method == "adjoint":
        probs = runner.probs(model.ops(result.params))
        samples = sample_from_probs(probs, n_samples, make_rng(seed, "model_sample"))
    else:
        # Exact probabilities of the trained circuit where a simulator can give them (for evaluation).
        exact = CircuitRunner(make_device({"name": "lightning.qubit"}, n), n)
        probs = exact.probs(model.ops(result.params)) if n <= MAX_EXACT_QUBITS else None
        samples = ShotRunner(device_spec, n, n_samples, seed).samples(model.ops(result.params), FINAL_SAMPLING_STEP)
    attrs = {
        "gradient": method,
        "device": device_spec["name"],
        "gradient_engine": engine,
        "sampling_note": "",
    }
    return _trained(model, result, probs, samples, attrs)


def train_iqp_estimator_model(
    spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer: Checkpointer | None = None
) -> TrainedModel:
    """Train an IQP Born machine with the classical Z-string MMD estimator (any n, no statevector)."""
    ansatz = make_ansatz("iqp", data.n_qubits, int(spec["layers"]), spec.get("ansatz_options", {}), target=data.source)
    result = fit_iqp_estimator(spec, ansatz, data.samples, seed, checkpointer)
    probs, samples, note = iqp_outputs(spec, ansatz, result.params, seed)
    attrs = {
        "gradient": "estimator",
        "device": spec["device"]["name"],
        "gradient_engine": "estimator",
        "sampling_note": note,
    }
    return _trained(QCBM(ansatz), result, probs, samples, attrs)
