"""Training: losses, exact gradients, optimisers and the loop, plus the stage entry point."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..circuits import FINAL_SAMPLING_STEP, gradient_method
from ..errors import InvalidConfigError
from ..fit.losses import MMDLoss, make_loss
from ..fit.optimizers import make_optimizer

__all__ = ["MMDLoss", "gradient_engine", "make_loss", "make_optimizer", "train_qcbm", "run_training"]

log = logging.getLogger(__name__)

# Step index whose shot stream draws the trained model's samples (beyond any training step).


def train_qcbm(
    spec: Mapping[str, Any],
    target_probs: np.ndarray,
    n_qubits: int,
    seed: int,
    target=None,
    checkpointer=None,
):
    """Train a QCBM described by ``spec`` on exact target probabilities.

    Args:
        target: the target Artefact, for ansätze that adapt to the data (optional).
        checkpointer: a :class:`~qgenflow.fit.checkpoint.Checkpointer` to save/resume the run.

    Returns:
        (model, TrainResult, final probability vector)
    """
    from ..bits import empirical_probs
    from ..limits import MAX_EXACT_QUBITS
    from ..devices import make_device
    from ..kernels import mmd2_samples_vs_probs
    from ..models import QCBM, make_ansatz
    from ..rng import make_rng
    from ..circuits import CircuitRunner, FastAdjointRunner, ShotRunner
    from ..fit.loop import fit

    ansatz = make_ansatz(
        spec.get("ansatz", "hardware_efficient"),
        n_qubits,
        int(spec.get("layers", 4)),
        spec.get("ansatz_options", {}),
        target=target,
    )
    model = QCBM(ansatz)
    loss = make_loss(spec.get("loss", {}), target_probs)
    device_spec = spec.get("device", {})
    shots = device_spec.get("shots")
    method = gradient_method(spec)
    shape = model.shape
    # Gate angles may be a fixed multiple of the parameters (IQP: MultiRZ(2 theta)).
    angle_scale = float(getattr(model.ansatz, "gate_angle_scale", 1.0))

    if method == "adjoint":
        runner = CircuitRunner(make_device(device_spec, n_qubits, seed=seed), n_qubits)
        if gradient_engine(spec) == "numba":
            # Circuits with a gate the numba kernels lack go to the device's own adjoint.
            runner = FastAdjointRunner(n_qubits, fallback=runner)

        def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
            ops = model.ops(params)
            p = runner.probs(ops)
            grad = runner.diagonal_grad(ops, loss.grad_probs(p)) * angle_scale
            return loss.value(p), grad.reshape(shape)

    else:  # parameter-shift with finite shots: the path for hardware plugins
        shot_runner = ShotRunner(device_spec, n_qubits, int(shots), seed)
        sigmas = loss.sigmas

        def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
            ops = model.ops(params)
            samples = shot_runner.samples(ops, step)
            p_hat = empirical_probs(samples, n_qubits)
            # dL/dp at the shot estimate; independent shifted-circuit shots keep the gradient unbiased.
            grad = shot_runner.diagonal_grad(ops, loss.grad_probs(p_hat), step) * angle_scale
            return mmd2_samples_vs_probs(samples, loss.target_probs, sigmas), grad.reshape(shape)

    init = model.init_params(make_rng(seed, "model_init"), float(spec.get("init_scale", np.pi)))
    result = fit(value_and_grad, init, spec.get("optimizer", {}), checkpointer)
    if method == "adjoint":
        final_probs = runner.probs(model.ops(result.params))
    else:
        # Exact probabilities of the trained circuit where a simulator can give them (for evaluation).
        final_probs = CircuitRunner(make_device({"name": "lightning.qubit"}, n_qubits), n_qubits).probs(
            model.ops(result.params)
        ) if n_qubits <= MAX_EXACT_QUBITS else None
    return model, result, final_probs


def train_iqp_with_estimator(spec: Mapping[str, Any], target, n_qubits: int, seed: int, checkpointer=None):
    """Train an IQP Born machine with the classical Z-string MMD estimator (any n).

    Returns:
        (model, TrainResult, exact probabilities or None, samples or None, note)
    """
    from ..models import QCBM, make_ansatz
    from .iqp_estimator import (
        ClassicalSamplingError,
        ZStringMMD,
        data_init,
        iqp_model_probs,
        sample_iqp_model,
        sigmas_for_weights,
    )
    from ..fit.loop import fit

    ansatz = make_ansatz("iqp", n_qubits, int(spec.get("layers", 1)), spec.get("ansatz_options", {}), target=target)
    model = QCBM(ansatz)
    training = spec.get("training", {})
    loss_spec = spec.get("loss", {})
    if loss_spec.get("sigma_weights"):
        sigmas = sigmas_for_weights(n_qubits, loss_spec["sigma_weights"])
    else:
        sigmas = [float(s) for s in loss_spec.get("sigmas", (0.5, 1, 2, 4))]
    generators = ansatz.structure["generators"]
    symmetric = bool(ansatz.options.get("spin_flip_symmetric", False))
    samples_t = np.asarray(target["samples"], dtype=np.uint8)
    estimator = ZStringMMD(
        generators, n_qubits, samples_t, sigmas,
        n_ops=int(training.get("n_ops", 1000)), n_z=int(training.get("n_z", 1000)),
        spin_flip_symmetric=symmetric, dtype=training.get("dtype", "float32"),
    )
    rng = np.random.default_rng([seed, 102])
    noise = float(training.get("init_noise", 0.05))
    if training.get("init", "data") == "data":
        init = data_init(generators, samples_t) + rng.normal(0.0, noise, size=model.shape)
    else:
        init = rng.uniform(-noise, noise, size=model.shape)
    result = fit(estimator.step_objective(seed), init, spec.get("optimizer", {}), checkpointer)
    theta = result.params
    probs = iqp_model_probs(generators, theta, n_qubits, spin_flip_symmetric=symmetric) if n_qubits <= 20 else None
    note = ""
    try:
        device = spec.get("device") if spec.get("device", {}).get("shots") else None
        samples = sample_iqp_model(
            generators, theta, n_qubits, int(spec.get("n_samples", 20000)), seed,
            spin_flip_symmetric=symmetric, device=device,
        )
    except ClassicalSamplingError as exc:
        samples, note = None, str(exc)
        log.warning("trained model not sampled: %s", exc)
    return model, result, probs, samples, note


def match_parameter_count(spec: Mapping[str, Any], target) -> dict[str, Any]:
    """Size a classical baseline to the parameter count of the quantum model it is matched to.

    ``spec["match_params"]`` holds the matched model's name and ``spec["match_params_spec"]``
    its config entry (filled in by the workflow). RBMs get the hidden-unit count and MADEs
    the hidden width whose parameter count comes closest; a product model has n
    parameters whatever the budget.
    """
    from ..models import make_ansatz
    from ..models.baselines import count_params

    other = spec.get("match_params_spec")
    if not other:
        raise InvalidConfigError("match_params", f"no config entry for model {spec['match_params']!r} was passed")
    n = int(target.attrs["n_qubits"])
    if other.get("kind") != "qcbm":
        raise InvalidConfigError("match_params", f"can only match a qcbm model, {spec['match_params']!r} is {other.get('kind')}")
    budget = make_ansatz(other.get("ansatz", "hardware_efficient"), n, int(other.get("layers", 6)),
                         other.get("ansatz_options", {}), target=target).n_params
    out = {k: v for k, v in spec.items() if k not in ("match_params_spec",)}
    kind = spec["kind"]
    if kind == "rbm":
        out["n_hidden"] = min(range(1, 4097), key=lambda h: abs(count_params("rbm", {**out, "n_hidden": h}, n) - budget))
    elif kind == "autoregressive":
        out["hidden"] = min(range(1, 4097), key=lambda h: abs(count_params("autoregressive", {**out, "hidden": h}, n) - budget))
    else:
        log.warning("a %s baseline has a fixed size; match_params ignored", kind)
    log.info("matched %s to %d parameters of %s: %d parameters", kind, budget, spec["match_params"],
             count_params(kind, out, n))
    return out


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


def run_training(spec: Mapping[str, Any], target_path: str | Path, seed: int, output: str | Path) -> Path:
    """Train the model of config entry ``spec`` on the target artefact and write model.h5."""
    from ..bits import empirical_probs, sample_from_probs
    from ..io import read_artefact, write_artefact
    from ..provenance import sha256_file
    from ..rng import make_rng
    from ..limits import MAX_EXACT_QUBITS
    from ..fit.checkpoint import Checkpointer
    from ..circuits import ShotRunner

    from ..models.baselines import BASELINES, run_baseline

    kind = spec.get("kind")
    if kind in BASELINES:
        if spec.get("match_params"):
            # model.h5 records the job's own config slice; the matched size is in its n_params.
            sized = match_parameter_count(spec, read_artefact(target_path, kind="target"))
            return run_baseline(sized, target_path, seed, output, recorded_spec=spec)
        return run_baseline(spec, target_path, seed, output)
    if kind not in ("qcbm", "qgan"):
        allowed = ", ".join(["qcbm", "qgan", *sorted(BASELINES)])
        raise InvalidConfigError("kind", f"unknown model kind {kind!r}; allowed: {allowed}")
    target = read_artefact(target_path, kind="target")
    n_qubits = int(target.attrs["n_qubits"])
    target_probs = target.get("probs")
    if target_probs is None and n_qubits <= MAX_EXACT_QUBITS:
        # Only samples are known (user data): train on their empirical distribution.
        log.info("target has no exact probabilities: training on the empirical distribution of its samples")
        target_probs = empirical_probs(target["samples"], n_qubits)
    checkpointer = Checkpointer(
        path=Path(f"{output}.checkpoint"),
        every=int(spec.get("checkpoint_every", 100)),
        identity={"config": dict(spec), "seed": seed, "target": sha256_file(target_path)},
    )
    note = ""
    if kind == "qgan":
        from ..models.qgan import train_qgan

        from ..models.result import write_trained_model

        flavor = spec.get("flavor", "classical_discriminator")
        qres = train_qgan(flavor, spec, target, seed, checkpointer)
        path = write_trained_model(qres, output, spec, seed, target_path, n_qubits, {"flavor": flavor})
        checkpointer.remove()
        return path
    if spec.get("training", {}).get("method", "exact") == "estimator":
        model, result, probs, samples, note = train_iqp_with_estimator(spec, target, n_qubits, seed, checkpointer)
    else:
        model, result, probs = train_qcbm(
            spec, target_probs, n_qubits, seed, target=target, checkpointer=checkpointer
        )
        n_samples = int(spec.get("n_samples", 20000))
        if gradient_method(spec) == "adjoint":
            samples = sample_from_probs(probs, n_samples, make_rng(seed, "model_sample"))
        else:  # samples from the configured device itself (its noise included)
            runner = ShotRunner(spec.get("device", {}), n_qubits, n_samples, seed)
            samples = runner.samples(model.ops(result.params), FINAL_SAMPLING_STEP)
    datasets = {
        "params/theta": result.params,
        **{f"history/{k}": v for k, v in result.history.items()},
        **{f"ansatz/{k}": v for k, v in model.ansatz.structure.items()},
    }
    if probs is not None:
        datasets["probs"] = probs
    if samples is not None:
        datasets["samples"] = samples
    attrs = {
        "n_qubits": n_qubits,
        "model_kind": kind,
        "ansatz": model.ansatz.name,
        "gradient": "estimator" if note is not None and spec.get("training", {}).get("method") == "estimator"
        else gradient_method(spec),
        "device": spec.get("device", {}).get("name", "lightning.qubit"),
        "gradient_engine": "estimator" if spec.get("training", {}).get("method") == "estimator"
        else gradient_engine(spec),
        "n_params": model.n_params,
        "train_seconds": result.seconds,
        "seconds_per_step": result.seconds_per_step,
        "final_loss": float(result.history["loss"][-1]),
        "stopped_early": int(result.stopped_early),
        "sampling_note": note,
        "steps_done": int(result.history["step"][-1]),
    }
    path = write_artefact(output, "model", datasets, config=dict(spec), seed=seed, inputs=[target_path], attrs=attrs)
    checkpointer.remove()
    return path
