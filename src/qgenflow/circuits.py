"""Circuit evaluation and exact gradients on simulators.

A Born machine's loss depends on the circuit only through the probability
vector p. With ``g = dL/dp`` held fixed, ``dL/dtheta = d<psi|diag(g)|psi>/dtheta``,
so one adjoint-method pass with the diagonal observable ``diag(g)`` gives the
whole gradient: a forward pass plus one backward sweep, independent of the
number of parameters (instead of two circuit runs per parameter).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InvalidConfigError

__all__ = ["FINAL_SAMPLING_STEP", "CircuitRunner", "ShotRunner", "gradient_method"]

#: Step index of the final samples drawn after training: seeds their shots apart from every training step's.
FINAL_SAMPLING_STEP = 2**40


def gradient_method(spec: Mapping[str, Any]) -> str:
    """``adjoint`` for exact simulation, ``parameter_shift`` with finite shots (``gradient: auto``)."""
    requested = spec.get("gradient", "auto")
    shots = spec.get("device", {}).get("shots")
    if requested == "auto":
        return "adjoint" if shots is None else "parameter_shift"
    if requested == "adjoint" and shots is not None:
        raise InvalidConfigError("gradient", "adjoint needs exact simulation (device.shots: null); use parameter_shift")
    if requested == "parameter_shift" and shots is None:
        raise InvalidConfigError("device.shots", "parameter_shift needs a shot count (e.g. 2000)")
    return requested


class CircuitRunner:
    """Runs one circuit family on one device: probabilities and adjoint gradients."""

    def __init__(self, device, n_qubits: int):
        from pennylane.devices import ExecutionConfig

        self.device = device
        self.n_qubits = n_qubits
        self._config = device.setup_execution_config(ExecutionConfig(gradient_method="adjoint"))

    def probs(self, ops: Sequence) -> np.ndarray:
        """Big-endian probability vector of the state prepared by ``ops`` from |0...0>."""
        import pennylane as qml

        tape = qml.tape.QuantumScript(list(ops), [qml.probs(wires=range(self.n_qubits))])
        return np.asarray(self.device.execute(tape), dtype=np.float64)

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray) -> np.ndarray:
        """Gradient of ``sum_x diag[x] p(x)`` with respect to every trainable angle of ``ops``."""
        import pennylane as qml
        import scipy.sparse as sp

        n = 2**self.n_qubits
        obs = qml.SparseHamiltonian(
            sp.csr_matrix((np.asarray(diag, dtype=np.float64), (np.arange(n), np.arange(n))), shape=(n, n)),
            wires=range(self.n_qubits),
        )
        ops = list(ops)
        n_angles = sum(len(op.data) for op in ops)
        tape = qml.tape.QuantumScript(ops, [qml.expval(obs)], trainable_params=list(range(n_angles)))
        _, jac = self.device.execute_and_compute_derivatives(tape, self._config)
        return np.asarray(jac, dtype=np.float64).reshape(-1)


class ShotRunner:
    """Runs one circuit family with finite shots on any device (the hardware path).

    Samples come from ``qml.sample``; the gradient of ``sum_x g(x) p(x)`` uses
    PennyLane's parameter-shift rules on ``qml.probs`` estimated from shots, so a
    gradient costs one batch of shifted circuits (two per angle for Pauli
    rotations). Each step uses a device seeded from (seed, step), which makes shot
    noise reproducible and lets a resumed run replay it exactly.
    """

    def __init__(self, device_spec, n_qubits: int, shots: int, seed: int):
        self.device_spec, self.n_qubits, self.shots, self.seed = dict(device_spec), n_qubits, int(shots), int(seed)

    def _device(self, step: int, stream: int):
        from .devices import make_device

        seed = int(np.random.SeedSequence([self.seed, step, stream]).generate_state(1)[0])
        return make_device(self.device_spec, self.n_qubits, seed=seed)

    def samples(self, ops: Sequence, step: int, shots: int | None = None) -> np.ndarray:
        """[shots, n] uint8 samples of the circuit."""
        import pennylane as qml

        from .devices import execute

        tape = qml.tape.QuantumScript(list(ops), [qml.sample(wires=range(self.n_qubits))], shots=shots or self.shots)
        (result,) = execute(self._device(step, 0), [tape])
        return np.asarray(result, dtype=np.uint8).reshape(-1, self.n_qubits)

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int) -> np.ndarray:
        """Parameter-shift estimate of d/dtheta sum_x diag[x] p(x) from shots."""
        import pennylane as qml

        from .devices import execute

        ops = list(ops)
        n_angles = sum(len(op.data) for op in ops)
        tape = qml.tape.QuantumScript(
            ops, [qml.probs(wires=range(self.n_qubits))], shots=self.shots, trainable_params=list(range(n_angles))
        )
        tapes, postprocess = qml.gradients.param_shift(tape)
        jac = np.asarray(postprocess(execute(self._device(step, 1), tapes)), dtype=np.float64)
        return jac.reshape(n_angles, -1) @ np.asarray(diag, dtype=np.float64)
