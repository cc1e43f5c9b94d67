"""Deploy a trained circuit model: export its circuit, sample it on a device, score the samples.

"Train on classical, deploy on quantum" (issue #17 item 6): the circuit of a trained
QCBM or QGAN generator is rebuilt from its ``model.h5`` (:func:`qgenflow.metrics.audit.model_circuit`),
written as OpenQASM 2.0 by PennyLane (:func:`circuit_qasm`), and sampled with finite shots
on any PennyLane device, with a noise model where the device spec names one
(:func:`qgenflow.devices.make_device`). The samples of each shot budget are the first
shots of one run at the largest budget (shots are independent draws), scored against the
target's test split with the evaluation's metrics (:func:`qgenflow.metrics.evaluate.evaluate`),
and, where the model holds exact probabilities, by their total variation from them
(``tv_model``) beside what ideal sampling of the same size gives (``tv_model_floor``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pennylane as qml

from ..bits import bits_to_index
from ..devices import execute, make_device
from ..errors import ArtefactError
from ..io import Artefact
from ..rng import make_rng, seed_sequence
from .audit import model_circuit
from .deployed import metric_series
from .distances import total_variation
from .evaluate import evaluate

__all__ = [
    "FLOOR_DRAWS",
    "circuit_qasm",
    "deploy_model",
    "empirical_probs",
    "metric_series",
    "sample_circuit",
    "tv_floor",
]

log = logging.getLogger(__name__)

#: Multinomial draws from the model's probabilities that estimate the TV of ideal sampling at a budget.
FLOOR_DRAWS = 20


def circuit_qasm(ops: Sequence[qml.operation.Operator], n_qubits: int) -> str:
    """The circuit ``ops`` on wires ``0 .. n_qubits-1`` as an OpenQASM 2.0 program (PennyLane's
    ``qml.to_openqasm``), every wire measured into ``c[i]``; angles at full float precision."""
    tape = qml.tape.QuantumScript(list(ops), [qml.sample(wires=range(n_qubits))])
    return qml.to_openqasm(tape, wires=qml.wires.Wires(range(n_qubits)), measure_all=True)


def sample_circuit(
    ops: Sequence[qml.operation.Operator], n_qubits: int, device: Mapping[str, Any], shots: int, seed: int
) -> np.ndarray:
    """``shots`` samples (uint8 bits, column ``i`` = wire ``i``) of ``ops`` on the device ``device`` names.

    The device's sampling (and noise) is seeded from ``seed`` through the ``deploy_shots`` stream.
    """
    device_seed = int(seed_sequence(seed, "deploy_shots").generate_state(1)[0])
    dev = make_device(device, n_qubits, seed=device_seed)
    tape = qml.tape.QuantumScript(list(ops), [qml.sample(wires=range(n_qubits))], shots=int(shots))
    (result,) = execute(dev, [tape])
    return np.asarray(result, dtype=np.uint8).reshape(int(shots), n_qubits)


def empirical_probs(samples: np.ndarray, n_qubits: int) -> np.ndarray:
    """The histogram of bit rows as a big-endian probability vector of length ``2^n``."""
    counts = np.bincount(bits_to_index(np.asarray(samples, dtype=np.uint8)), minlength=2**n_qubits)
    return counts / counts.sum()


def tv_floor(probs: np.ndarray, shots: int, rng: np.random.Generator, draws: int = FLOOR_DRAWS) -> tuple[float, float]:
    """Mean and standard error of the TV between ``probs`` and the histogram of ``shots`` ideal draws from it."""
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum()
    values = [total_variation(p, rng.multinomial(int(shots), p) / shots) for _ in range(draws)]
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(draws))


def _as_model(model: Artefact, samples: np.ndarray, label: str) -> Artefact:
    """The deployed samples as a model artefact in memory (samples only), for :func:`evaluate`."""
    attrs = {"n_qubits": int(model.attrs["n_qubits"]), "model_kind": model.attrs.get("model_kind")}
    return Artefact(path=Path(f"<{model.path} deployed on {label}>"), kind="model", attrs=attrs,
                    datasets={"samples": samples})


def deploy_model(
    model: Artefact,
    target: Artefact,
    device: Mapping[str, Any],
    shots: Sequence[int],
    evaluation: Mapping[str, Any],
    seed: int,
    label: str = "device",
) -> dict[str, Any]:
    """Deploy one trained circuit model on one device and score it at every shot budget.

    Args:
        model: the model's ``model.h5`` (a qcbm or qgan).
        target: the target it was trained on (its test split scores the samples).
        device: a device spec (``name``, ``options``, ``noise_model``).
        shots: the shot budgets, ascending.
        evaluation: the study's ``evaluation`` section.
        seed: seeds the device's sampling and the bootstrap errors.
        label: the device's label (in log lines and the pseudo-model's path).

    Returns:
        ``qasm``, ``samples`` (the largest budget's), ``n_gates``, ``seconds`` (sampling wall time),
        ``metrics`` (``{name: (values, stderrs)}`` over budgets), ``model_metrics`` (the model's own
        evaluation, as its metrics.h5 has it), and where the model has ``/probs``
        ``tv_model``, ``tv_model_floor`` and ``tv_model_floor_stderr`` (over budgets).

    Raises:
        ArtefactError: the model's qubit count differs from the target's.
    """
    n = int(model.attrs["n_qubits"])
    if n != int(target.attrs["n_qubits"]):
        raise ArtefactError(f"{model.path} has {n} qubits but {target.path} has {target.attrs['n_qubits']}")
    ops, _ = model_circuit(model, target)
    budgets = sorted(int(s) for s in shots)
    start = time.perf_counter()
    samples = sample_circuit(ops, n, device, budgets[-1], seed)
    seconds = time.perf_counter() - start
    log.info("%s: %d shots of %d gates on %s in %.2f s", model.path, budgets[-1], len(ops), label, seconds)
    per_budget = [evaluate(target, _as_model(model, samples[:k], label), evaluation, seed) for k in budgets]
    names = [name for name in per_budget[0] if per_budget[0][name]["source"] == "samples"]
    record: dict[str, Any] = {
        "qasm": circuit_qasm(ops, n),
        "samples": samples,
        "n_gates": len(ops),
        "seconds": seconds,
        "metrics": {name: (np.array([m[name]["value"] for m in per_budget]),
                           np.array([m[name]["stderr"] for m in per_budget])) for name in names},
        "model_metrics": evaluate(target, model, evaluation, seed),
    }
    probs = model.get("probs")
    if probs is not None:
        rng = make_rng(seed, "deploy_floor")
        floors = np.array([tv_floor(probs, k, rng) for k in budgets])
        record["tv_model"] = np.array([total_variation(np.asarray(probs), empirical_probs(samples[:k], n)) for k in budgets])
        record["tv_model_floor"], record["tv_model_floor_stderr"] = floors[:, 0], floors[:, 1]
    return record


