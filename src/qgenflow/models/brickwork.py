"""The brickwork hardware-efficient circuit of MPS Born machines, as PennyLane operations.

Per layer ``RY`` then ``RZ`` on every qubit, then a CNOT (control on the left) or CZ on the
even bonds ``(0, 1), (2, 3), ...``, then on the odd bonds ``(1, 2), (3, 4), ...``; with
``layout: staircase``, on every bond in turn, ``(0, 1), (1, 2), ...`` (a sequential circuit,
whose correlations are not bounded by a light cone). The
``mps_qcbm`` model simulates it as a matrix product state
(:func:`qgenflow.circuits.mps.simulate`); these operations are the same circuit for the
statevector references, the audit and the QASM export.
"""

from __future__ import annotations

import numpy as np

from ..catalog import BRICKWORK_LAYOUTS as LAYOUTS
from ..errors import InvalidConfigError
from .ansatz import Ansatz, register_ansatz
from .clifford import ENTANGLERS

__all__ = ["Brickwork"]


@register_ansatz("brickwork")
class Brickwork(Ansatz):
    """Per layer: RY, RZ on every qubit, then CNOT (or CZ) on the even bonds, then on the odd bonds.

    Options: ``entangler`` (``cnot`` or ``cz``, default ``cnot``); ``layout`` (``brickwork`` or
    ``staircase``, default ``brickwork``).
    """

    def prepare(self, target: object) -> None:
        """Check the options (called by :func:`~qgenflow.models.ansatz.make_ansatz`; the target is not used)."""
        if self.entangler not in ENTANGLERS:
            raise InvalidConfigError(
                "ansatz_options.entangler", f"unknown entangler {self.entangler!r}; allowed: {', '.join(ENTANGLERS)}"
            )
        if self.layout not in LAYOUTS:
            raise InvalidConfigError(
                "ansatz_options.layout", f"unknown layout {self.layout!r}; allowed: {', '.join(LAYOUTS)}"
            )

    @property
    def entangler(self) -> str:
        """``cnot`` or ``cz``."""
        return str(self.options.get("entangler", "cnot"))

    @property
    def layout(self) -> str:
        """``brickwork`` or ``staircase``."""
        return str(self.options.get("layout", "brickwork"))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers, self.n_qubits, 2)

    def ops(self, params: np.ndarray) -> list:
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit

        pair = qml.CNOT if self.entangler == "cnot" else qml.CZ
        ops = []
        for layer in np.reshape(params, self.shape):
            for wire in range(self.n_qubits):
                ops.append(qml.RY(layer[wire, 0], wires=wire))
                ops.append(qml.RZ(layer[wire, 1], wires=wire))
            if self.layout == "staircase":
                ops.extend(pair(wires=[w, w + 1]) for w in range(self.n_qubits - 1))
                continue
            for first in (0, 1):
                ops.extend(pair(wires=[w, w + 1]) for w in range(first, self.n_qubits - 1, 2))
        return ops
