"""Quantum circuit Born machine: p(x) = |<x|U(theta)|0>|^2 for a chosen ansatz."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ansatz import Ansatz

__all__ = ["QCBM"]


@dataclass
class QCBM:
    """A Born machine: an ansatz on ``n_qubits`` wires, sampled in the computational basis."""

    ansatz: Ansatz

    @property
    def n_qubits(self) -> int:
        return self.ansatz.n_qubits

    @property
    def shape(self) -> tuple[int, ...]:
        return self.ansatz.shape

    @property
    def n_params(self) -> int:
        return self.ansatz.n_params

    def init_params(self, rng: np.random.Generator, scale: float) -> np.ndarray:
        return self.ansatz.init_params(rng, scale)

    def ops(self, params: np.ndarray) -> list:
        """PennyLane operations of U(params)."""
        return self.ansatz.ops(np.reshape(params, self.shape))
