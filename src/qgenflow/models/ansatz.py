"""Parameterised circuit families for Born machines, as lists of PennyLane operations.

Every family is an :class:`Ansatz`: it knows its parameter shape, builds the
circuit's operations for given angles (trainable angles appear in
``params.ravel()`` order), and may carry structure derived from the target
(e.g. an entangling tree), which is stored with the model so it can be rebuilt.
Families register themselves in :data:`ANSATZE` by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InvalidConfigError

__all__ = ["ANSATZE", "Ansatz", "HardwareEfficient", "make_ansatz", "register_ansatz"]


@dataclass
class Ansatz:
    """Base class of circuit families.

    Attributes:
        n_qubits: number of wires.
        layers: number of repeated layers.
        options: family-specific settings from the config.
        structure: arrays fixing the circuit beyond its angles (saved in model.h5 under ``/ansatz``).
    """

    n_qubits: int
    layers: int
    options: dict[str, Any] = field(default_factory=dict)
    structure: dict[str, np.ndarray] = field(default_factory=dict)

    name = "base"

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return int(np.prod(self.shape))

    def ops(self, params: np.ndarray) -> list:
        """PennyLane operations preparing U(params)|0...0>."""
        raise NotImplementedError

    def init_params(self, rng: np.random.Generator, scale: float) -> np.ndarray:
        """Angles drawn uniformly from [-scale, scale]."""
        return rng.uniform(-scale, scale, size=self.shape)


ANSATZE: dict[str, Callable[..., Ansatz]] = {}


def register_ansatz(name: str):
    """Class decorator adding a family to :data:`ANSATZE`."""

    def wrap(cls):
        cls.name = name
        ANSATZE[name] = cls
        return cls

    return wrap


@register_ansatz("hardware_efficient")
class HardwareEfficient(Ansatz):
    """Per layer: RY then RZ on every qubit, then a CNOT chain 0->1->...->n-1."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers, self.n_qubits, 2)

    def ops(self, params: np.ndarray) -> list:
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit
        ops = []
        for layer in np.asarray(params):
            for wire in range(self.n_qubits):
                ops.append(qml.RY(layer[wire, 0], wires=wire))
                ops.append(qml.RZ(layer[wire, 1], wires=wire))
            for wire in range(self.n_qubits - 1):
                ops.append(qml.CNOT(wires=[wire, wire + 1]))
        return ops


def make_ansatz(
    name: str,
    n_qubits: int,
    layers: int,
    options: Mapping[str, Any] | None = None,
    target: Any = None,
) -> Ansatz:
    """Build the ansatz ``name``; ``target`` (a target Artefact) feeds families that adapt to the data."""
    if name not in ANSATZE:
        raise InvalidConfigError("ansatz", f"unknown ansatz {name!r}; allowed: {', '.join(sorted(ANSATZE))}")
    cls = ANSATZE[name]
    ansatz = cls(n_qubits=n_qubits, layers=layers, options=dict(options or {}))
    prepare = getattr(ansatz, "prepare", None)
    if prepare is not None:
        prepare(target)
    return ansatz
