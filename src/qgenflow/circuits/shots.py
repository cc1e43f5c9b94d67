"""Finite-shot execution on any PennyLane device: the hardware path.

Samples come from ``qml.sample``; the gradient of ``sum_x g(x) p(x)`` uses
PennyLane's parameter-shift rules on ``qml.probs`` estimated from shots, so a
gradient costs one batch of shifted circuits (two per angle for Pauli
rotations). Each call runs on a device seeded from (seed, step, stream), which
makes shot noise reproducible and lets a resumed run replay it exactly.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pennylane as qml

from ..bits import empirical_probs
from ..devices import execute, step_device

__all__ = ["ShotRunner"]


class ShotRunner:
    """Runs one circuit family with finite shots on the configured device."""

    def __init__(self, device_spec: Mapping[str, Any], n_qubits: int, shots: int, seed: int):
        self.device_spec, self.n_qubits, self.shots, self.seed = dict(device_spec), n_qubits, int(shots), int(seed)

    def _device(self, step: int, stream: int):
        return step_device(self.device_spec, self.n_qubits, self.seed, step, stream)

    def samples(self, ops: Sequence, step: int, shots: int | None = None) -> np.ndarray:
        """[shots, n] uint8 samples of the circuit."""
        tape = qml.tape.QuantumScript(list(ops), [qml.sample(wires=range(self.n_qubits))], shots=shots or self.shots)
        (result,) = execute(self._device(step, 0), [tape])
        return np.asarray(result, dtype=np.uint8).reshape(-1, self.n_qubits)

    def probs(self, ops: Sequence, step: int = 0) -> np.ndarray:
        """The shot estimate of the probability vector (the empirical distribution of :meth:`samples`)."""
        return empirical_probs(self.samples(ops, step), self.n_qubits)

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int = 0) -> np.ndarray:
        """Parameter-shift estimate of d/dtheta sum_x diag[x] p(x) from shots."""
        ops = list(ops)
        n_angles = sum(len(op.data) for op in ops)
        tape = qml.tape.QuantumScript(
            ops, [qml.probs(wires=range(self.n_qubits))], shots=self.shots, trainable_params=list(range(n_angles))
        )
        tapes, postprocess = qml.gradients.param_shift(tape)
        jac = np.asarray(postprocess(execute(self._device(step, 1), tapes)), dtype=np.float64)
        return jac.reshape(n_angles, -1) @ np.asarray(diag, dtype=np.float64)
