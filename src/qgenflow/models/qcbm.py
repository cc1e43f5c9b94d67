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

    def param_grad(self, params: np.ndarray, angle_grad: np.ndarray) -> np.ndarray:
        """dL/dparams, shaped as the parameters, from dL/d(gate angle) of every ``op.data`` entry of :meth:`ops`.

        Through the ansatz's angle map (:meth:`Ansatz.param_grad`) and its fixed gate-angle
        scale (IQP: ``MultiRZ(2 theta)``).
        """
        scale = float(getattr(self.ansatz, "gate_angle_scale", 1.0))
        return self.ansatz.param_grad(np.reshape(params, self.shape), angle_grad) * scale
