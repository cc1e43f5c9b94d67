"""Circuit evaluation and exact gradients on simulators.

A Born machine's loss depends on the circuit only through the probability
vector p. With ``g = dL/dp`` held fixed, ``dL/dtheta = d<psi|diag(g)|psi>/dtheta``,
so one adjoint-method pass with the diagonal observable ``diag(g)`` gives the
whole gradient: a forward pass plus one backward sweep, independent of the
number of parameters (instead of two circuit runs per parameter).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["CircuitRunner"]


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
