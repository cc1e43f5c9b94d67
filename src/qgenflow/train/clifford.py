"""Training a Clifford Born machine by a seeded discrete search on the sample MMD^2.

The circuit (:class:`~qgenflow.models.clifford.CliffordAnsatz`) has discrete parameters,
a choice among the 24 single-qubit Cliffords per layer and qubit, so no gradient exists.
:func:`train_clifford` runs simulated annealing over them: at each step one site (layer,
qubit) drawn at random is given another gate drawn at random; the proposal's loss is the
unbiased sample MMD^2 (:class:`SampleMMD`) between ``shots`` samples of its circuit on the
configured device (``default.clifford``, stim) and the target's training samples. The
current circuit is sampled afresh at every step too and its loss is the running mean of
all its evaluations, so a lucky low estimate at its acceptance does not lock it in. A
lower proposal is accepted; a higher one with probability ``exp(-increase / T)``, ``T``
cooling linearly from ``temperature`` to 0 over the steps. Every draw is seeded from
(seed, step), so a run is reproducible and a resumed run replays it exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pennylane as qml

from ..bits import unique_counts
from ..circuits import FINAL_SAMPLING_STEP, CircuitRunner
from ..circuits.qasm import qasm_record
from ..devices import execute, make_device, step_device
from ..errors import InvalidConfigError
from ..fit.checkpoint import Checkpointer
from ..fit.loop import TrainResult
from ..kernels import hamming_distances, kernel_from_hamming
from ..limits import MAX_DENSE_QUBITS
from ..models import make_ansatz
from ..models.clifford import CliffordAnsatz
from ..models.result import TargetData, TrainedModel
from ..rng import make_rng

__all__ = ["SampleMMD", "anneal", "sample_circuit", "train_clifford"]

log = logging.getLogger(__name__)

# Kernel entries per block of the sample MMD (rows x columns): ~32 MiB of float64.
_BLOCK_ENTRIES = 1 << 22
# Device streams of one step: the proposal's shots and the current circuit's fresh shots (and, at step 0,
# the initial circuit's first evaluation).
_PROPOSAL_STREAM, _CURRENT_STREAM, _INITIAL_STREAM = 0, 1, 2


class SampleMMD:
    """Unbiased squared MMD (mixture of Gaussian kernels on Hamming distance) of sample sets against fixed data.

    The data's own kernel term is computed once, so each evaluation costs the model
    samples' distinct rows against themselves and against the data's distinct rows.
    Equals :func:`qgenflow.kernels.mmd2_samples` with the same bandwidths.
    """

    def __init__(self, data: np.ndarray, sigmas: Sequence[float]):
        self.y_rows, self.y_counts = unique_counts(np.asarray(data, dtype=np.uint8))
        n = self.y_rows.shape[1]
        self.table = kernel_from_hamming(np.arange(n + 1), list(sigmas))
        m = float(self.y_counts.sum())
        if m < 2:
            raise ValueError("the unbiased MMD needs at least 2 data samples")
        self.m = m
        self.yy = (self._form(self.y_rows, self.y_counts, self.y_rows, self.y_counts) - m) / (m * (m - 1))

    def _form(self, a_rows: np.ndarray, a_w: np.ndarray, b_rows: np.ndarray, b_w: np.ndarray) -> float:
        """``a_w' K b_w`` over kernel blocks between the rows."""
        total = 0.0
        b_w = np.asarray(b_w, dtype=np.float64)
        chunk = max(1, _BLOCK_ENTRIES // max(b_rows.shape[0], 1))
        for start in range(0, a_rows.shape[0], chunk):
            block = self.table[hamming_distances(a_rows[start : start + chunk], b_rows)]
            total += float(np.asarray(a_w[start : start + chunk], dtype=np.float64) @ (block @ b_w))
        return total

    def __call__(self, samples: np.ndarray) -> float:
        x_rows, x_counts = unique_counts(np.asarray(samples, dtype=np.uint8))
        n_x = float(x_counts.sum())
        if n_x < 2:
            raise ValueError("the unbiased MMD needs at least 2 model samples")
        xx = (self._form(x_rows, x_counts, x_rows, x_counts) - n_x) / (n_x * (n_x - 1))
        xy = self._form(x_rows, x_counts, self.y_rows, self.y_counts) / (n_x * self.m)
        return float(xx + self.yy - 2.0 * xy)


def sample_circuit(
    ops: Sequence, n: int, shots: int, device_spec: Mapping[str, Any], seed: int, step: int, stream: int
) -> np.ndarray:
    """[shots, n] uint8 samples of a circuit on the configured device, seeded from (seed, step, stream)."""
    tape = qml.tape.QuantumScript(list(ops), [qml.sample(wires=range(n))], shots=int(shots))
    (result,) = execute(step_device(device_spec, n, seed, step, stream), [tape])
    return np.asarray(result, dtype=np.uint8).reshape(-1, n)


def _history(steps: int) -> dict[str, np.ndarray]:
    return {
        "loss": np.full(steps, np.nan),
        "proposal_loss": np.full(steps, np.nan),
        "accepted": np.zeros(steps),
        "temperature": np.zeros(steps),
    }


def anneal(
    ansatz: CliffordAnsatz, loss: SampleMMD, spec: Mapping[str, Any], seed: int, checkpointer: Checkpointer | None
) -> TrainResult:
    """Simulated annealing over the gate choices (see the module docstring); the final circuit is the current one.

    History per step: ``loss`` (the current circuit's running-mean loss before the step),
    ``proposal_loss``, ``accepted`` (1/0) and ``temperature``; then ``step`` and the final loss.
    """
    steps, shots, t0 = int(spec["steps"]), int(spec["shots"]), float(spec["temperature"])
    device, n = spec["device"], ansatz.n_qubits
    gates = ansatz.init_params(make_rng(seed, "model_init"), 1.0)
    history, start, total = _history(steps), 0, np.zeros(2)  # total = (sum of current's losses, evaluations)
    restored = None if checkpointer is None else checkpointer.restore()
    if restored is not None:
        start, gates, total = restored.step, np.asarray(restored.params), np.asarray(restored.opt_leaves[0])
        for key, values in restored.history.items():
            history[key][:start] = values[:start]
    else:
        total = np.array([loss(sample_circuit(ansatz.ops(gates), n, shots, device, seed, 0, _INITIAL_STREAM)), 1.0])
    began = time.perf_counter()
    for step in range(start, steps):
        rng = make_rng(seed, "clifford_search", step)
        layer, wire = rng.integers(ansatz.layers), rng.integers(ansatz.n_qubits)
        proposal = gates.copy()
        proposal[layer, wire] = (gates[layer, wire] + rng.integers(1, ansatz.n_choices)) % ansatz.n_choices
        fresh = loss(sample_circuit(ansatz.ops(gates), n, shots, device, seed, step, _CURRENT_STREAM))
        total = total + np.array([fresh, 1.0])
        current = total[0] / total[1]
        candidate = loss(sample_circuit(ansatz.ops(proposal), n, shots, device, seed, step, _PROPOSAL_STREAM))
        temperature = t0 * (1.0 - step / steps)
        increase = candidate - current
        accept = increase < 0 or (temperature > 0 and rng.random() < np.exp(-increase / temperature))
        history["loss"][step], history["proposal_loss"][step] = current, candidate
        history["accepted"][step], history["temperature"][step] = float(accept), temperature
        if accept:
            gates, total = proposal, np.array([candidate, 1.0])
        if checkpointer is not None and checkpointer.every and (step + 1) % checkpointer.every == 0:
            checkpointer.save(step + 1, gates, [total], history)
    seconds = time.perf_counter() - began
    history["loss"] = np.append(history["loss"], total[0] / total[1])
    history["step"] = np.arange(steps + 1)
    return TrainResult(gates, history, seconds, seconds / max(steps - start, 1), resumed_from=start)


def train_clifford(
    spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer: Checkpointer | None = None
) -> TrainedModel:
    """Train a Clifford Born machine (config kind ``clifford``) by annealing on the sample MMD^2.

    Final samples come from the configured device (``default.clifford`` by default) at any
    size; exact probabilities of the trained circuit (``lightning.qubit``) only up to
    :data:`~qgenflow.limits.MAX_DENSE_QUBITS` qubits.
    """
    n = data.n_qubits
    if spec["device"].get("shots") is not None:
        raise InvalidConfigError(
            "device.shots", "a clifford model draws `shots` samples per loss evaluation; leave device.shots null"
        )
    ansatz = make_ansatz("clifford", n, int(spec["layers"]), spec.get("ansatz_options", {}))
    train = np.asarray(data.samples, dtype=np.uint8)
    if spec.get("train_batch"):
        keep = make_rng(seed, "clifford_search").permutation(len(train))[: int(spec["train_batch"])]
        train = train[np.sort(keep)]
    loss = SampleMMD(train, spec["loss"]["sigmas"])
    result = anneal(ansatz, loss, spec, seed, checkpointer)
    ops = ansatz.ops(result.params)
    probs = None
    if n <= MAX_DENSE_QUBITS:
        probs = CircuitRunner(make_device({"name": "lightning.qubit"}, n), n).probs(ops)
    samples = sample_circuit(ops, n, int(spec["n_samples"]), spec["device"], seed, FINAL_SAMPLING_STEP, 0)
    attrs = {
        "ansatz": ansatz.name,
        "gradient": "search",
        "device": spec["device"]["name"],
        "gradient_engine": "annealing",
        "sampling_note": "",
        "evaluations": int(2 * (len(result.history["step"]) - 1) + 1),
        "acceptance_rate": float(np.mean(result.history["accepted"])) if len(result.history["accepted"]) else 0.0,
        "stopped_early": 0,
    }
    return TrainedModel.from_fit(
        result, params={"theta": result.params}, probs=probs, samples=samples, n_params=ansatz.n_params, attrs=attrs,
        extra=qasm_record(ops, n),
    )
