"""Exact simulation on a PennyLane device: probabilities and adjoint gradients.

A Born machine's loss depends on the circuit only through the probability
vector p. With ``g = dL/dp`` held fixed, ``dL/dtheta = d<psi|diag(g)|psi>/dtheta``,
so one adjoint-method pass with the diagonal observable ``diag(g)`` gives the
whole gradient: a forward pass plus one backward sweep, independent of the
number of parameters (instead of two circuit runs per parameter).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pennylane as qml
import scipy.sparse as sp
from pennylane.devices import ExecutionConfig

from ..bits import sample_from_probs

__all__ = ["CircuitRunner", "diagonal_observable", "samples_from_probs"]


def diagonal_observable(diag: np.ndarray, n_qubits: int):
    """``diag`` as a sparse diagonal observable on wires 0..n_qubits-1 (big-endian)."""
    n = 2**n_qubits
    matrix = sp.csr_matrix((np.asarray(diag, dtype=np.float64), (np.arange(n), np.arange(n))), shape=(n, n))
    return qml.SparseHamiltonian(matrix, wires=range(n_qubits))


def samples_from_probs(probs: np.ndarray, shots: int, seed: int, step: int) -> np.ndarray:
    """[shots, n] exact samples of ``probs``, drawn from the stream (seed, step) as a shot device would be."""
    return sample_from_probs(probs, int(shots), np.random.default_rng([int(seed), int(step), 0]))


class CircuitRunner:
    """Runs one circuit family on one device: probabilities, adjoint gradients, exact samples."""

    def __init__(self, device, n_qubits: int, seed: int = 0):
        self.device = device
        self.n_qubits = n_qubits
        self.seed = int(seed)
        self._config = device.setup_execution_config(ExecutionConfig(gradient_method="adjoint"))

    def probs(self, ops: Sequence, step: int = 0) -> np.ndarray:
        """Big-endian probability vector of the state prepared by ``ops`` from |0...0>."""
        tape = qml.tape.QuantumScript(list(ops), [qml.probs(wires=range(self.n_qubits))])
        return np.asarray(self.device.execute(tape), dtype=np.float64)

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int = 0) -> np.ndarray:
        """Gradient of ``sum_x diag[x] p(x)`` with respect to every trainable angle of ``ops``."""
        ops = list(ops)
        n_angles = sum(len(op.data) for op in ops)
        obs = diagonal_observable(diag, self.n_qubits)
        tape = qml.tape.QuantumScript(ops, [qml.expval(obs)], trainable_params=list(range(n_angles)))
        _, jac = self.device.execute_and_compute_derivatives(tape, self._config)
        return np.asarray(jac, dtype=np.float64).reshape(-1)

    def samples(self, ops: Sequence, step: int, shots: int) -> np.ndarray:
        """[shots, n] uint8 samples drawn exactly from the circuit's probabilities."""
        return samples_from_probs(self.probs(ops), shots, self.seed, step)
