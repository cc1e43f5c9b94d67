"""Quantum circuit Born machine: p(x) = |<x|U(theta)|0>|^2 for a chosen ansatz."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ansatz import build_ops, param_shape

__all__ = ["QCBM"]


@dataclass(frozen=True)
class QCBM:
    """A Born machine on ``n_qubits`` wires with ``layers`` layers of ``ansatz``."""

    n_qubits: int
    ansatz: str = "hardware_efficient"
    layers: int = 4

    @property
    def shape(self) -> tuple[int, ...]:
        return param_shape(self.ansatz, self.n_qubits, self.layers)

    @property
    def n_params(self) -> int:
        return int(np.prod(self.shape))

    def init_params(self, rng: np.random.Generator, scale: float) -> np.ndarray:
        """Angles drawn uniformly from [-scale, scale]."""
        return rng.uniform(-scale, scale, size=self.shape)

    def ops(self, params: np.ndarray) -> list:
        """PennyLane operations of U(params)."""
        return build_ops(self.ansatz, params, self.n_qubits)
