"""Parameterised circuit families for Born machines, as lists of PennyLane operations."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["ANSATZE", "param_shape", "build_ops"]


def _hardware_efficient_shape(n_qubits: int, layers: int) -> tuple[int, ...]:
    return (layers, n_qubits, 2)


def _hardware_efficient_ops(params: np.ndarray, n_qubits: int) -> list:
    """Per layer: RY then RZ on every qubit, then a CNOT chain 0->1->...->n-1."""
    import pennylane as qml

    ops = []
    for layer in params:
        for wire in range(n_qubits):
            ops.append(qml.RY(layer[wire, 0], wires=wire))
            ops.append(qml.RZ(layer[wire, 1], wires=wire))
        for wire in range(n_qubits - 1):
            ops.append(qml.CNOT(wires=[wire, wire + 1]))
    return ops


ANSATZE: dict[str, tuple[Callable[[int, int], tuple[int, ...]], Callable[[np.ndarray, int], list]]] = {
    "hardware_efficient": (_hardware_efficient_shape, _hardware_efficient_ops),
}


def param_shape(ansatz: str, n_qubits: int, layers: int) -> tuple[int, ...]:
    """Shape of the parameter array of ``ansatz``."""
    return ANSATZE[ansatz][0](n_qubits, layers)


def build_ops(ansatz: str, params: np.ndarray, n_qubits: int) -> list:
    """The circuit's operations; trainable angles appear in ``params.ravel()`` order."""
    return ANSATZE[ansatz][1](np.asarray(params), n_qubits)
