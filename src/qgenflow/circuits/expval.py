"""Expectation values of any observable and their gradients (quantum discriminators, state preparation)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pennylane as qml
from pennylane.devices import ExecutionConfig

from ..devices import execute, make_device, step_device
from .exact import CircuitRunner
from .shots import ShotRunner

__all__ = ["ExpvalRunner"]


class ExpvalRunner:
    """Expectation values and their gradients: adjoint on lightning, or parameter-shift with shots.

    With ``shots`` set, every call runs on a device seeded from (seed, step, stream),
    so shot noise is reproducible and a resumed run replays it. As a
    :class:`~qgenflow.circuits.Runner` it gives exact probabilities of its wires
    (a lightning simulator), diagonal gradients and samples from the configured device.
    """

    def __init__(self, device_spec: Mapping[str, Any], n_wires: int, seed: int):
        self.device_spec, self.n_wires, self.seed = dict(device_spec), int(n_wires), int(seed)
        self.n_qubits = self.n_wires
        self.shots = self.device_spec.get("shots")
        if self.shots is None:
            self.device = make_device(self.device_spec, self.n_wires, seed=seed)
            self._config = self.device.setup_execution_config(ExecutionConfig(gradient_method="adjoint"))
        self._state_device = None

    def value_and_grad(self, ops: Sequence, obs, trainable: Sequence[int], step: int = 0, stream: int = 0):
        """(<obs>, d<obs>/d angles) for the angles at positions ``trainable`` of the ops' parameters."""
        trainable = list(trainable)
        if self.shots is None:
            tape = qml.tape.QuantumScript(list(ops), [qml.expval(obs)], trainable_params=trainable)
            value, jac = self.device.execute_and_compute_derivatives(tape, self._config)
            return float(value), np.asarray(jac, dtype=np.float64).reshape(-1)
        tape = qml.tape.QuantumScript(list(ops), [qml.expval(obs)], shots=int(self.shots), trainable_params=trainable)
        tapes, postprocess = qml.gradients.param_shift(tape)
        results = execute(step_device(self.device_spec, self.n_wires, self.seed, step, stream), [tape, *tapes])
        return float(results[0]), np.asarray(postprocess(results[1:]), dtype=np.float64).reshape(-1)

    def state(self, ops: Sequence, n_qubits: int | None = None) -> np.ndarray:
        """Exact state vector of ``ops`` on wires 0..n_qubits-1 (a lightning simulator, for evaluation)."""
        n_qubits = self.n_wires if n_qubits is None else int(n_qubits)
        if self._state_device is None:
            self._state_device = make_device({"name": "lightning.qubit"}, n_qubits)
        tape = qml.tape.QuantumScript(list(ops), [qml.state()])
        return np.asarray(self._state_device.execute(tape))

    def probs(self, ops: Sequence, step: int = 0) -> np.ndarray:
        """Exact big-endian probabilities of the state ``ops`` prepare on all wires."""
        return np.abs(self.state(ops)) ** 2

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int = 0) -> np.ndarray:
        """Gradient of ``sum_x diag[x] p(x)``: adjoint when exact, parameter shift on shots otherwise."""
        if self.shots is None:
            return CircuitRunner(self.device, self.n_wires, self.seed).diagonal_grad(ops, diag, step)
        return ShotRunner(self.device_spec, self.n_wires, int(self.shots), self.seed).diagonal_grad(ops, diag, step)

    def samples(self, ops: Sequence, step: int, shots: int) -> np.ndarray:
        """[shots, n] uint8 Z-basis samples of all wires from the configured device."""
        return ShotRunner(self.device_spec, self.n_wires, shots, self.seed).samples(ops, step)
