"""Clifford Born machines: circuits of Clifford gates only, the classically simulable control.

Every gate maps Pauli strings to Pauli strings, so the circuit's state is a stabiliser
state and sampling it is classically efficient (Gottesman-Knill): PennyLane's
``default.clifford`` device (stim) samples hundreds of qubits in milliseconds. The
output distribution of a stabiliser state in the computational basis is uniform on an
affine subspace of bitstrings, which bounds what such a model can learn.

The parameters are discrete: per layer and qubit, the index (0..23) of one of the 24
single-qubit Clifford gates (up to a global phase; :data:`SINGLE_QUBIT_CLIFFORDS`),
followed by a chain of CNOT (or CZ) gates. Index 0 is the identity. They are stored as
floats in ``/params/theta`` like every circuit's angles and rounded when the circuit is built.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidConfigError
from .ansatz import Ansatz, register_ansatz

__all__ = ["CliffordAnsatz", "ENTANGLERS", "SINGLE_QUBIT_CLIFFORDS", "gate_indices"]

#: The 24 single-qubit Clifford gates modulo a global phase, as words in H and S applied
#: left to right; shortest words first (breadth-first over H and S), index 0 the identity.
SINGLE_QUBIT_CLIFFORDS = (
    "", "H", "S", "HS", "SH", "SS", "HSH", "HSS", "SHS", "SSH", "SSS", "HSHS", "HSSH", "HSSS",
    "SHSS", "SSHS", "HSHSS", "HSSHS", "SHSSH", "SHSSS", "SSHSS", "HSHSSH", "HSHSSS", "HSSHSS",
)
#: Two-qubit gates of the entangling chain.
ENTANGLERS = ("cnot", "cz")


def gate_indices(params: np.ndarray) -> np.ndarray:
    """The integer gate indices stored as floats in ``params``; a ValueError unless each is an integer in 0..23."""
    params = np.asarray(params, dtype=np.float64)
    index = np.rint(params)
    bad = (np.abs(params - index) > 1e-9) | (index < 0) | (index >= len(SINGLE_QUBIT_CLIFFORDS))
    if np.any(bad):
        raise ValueError(
            f"Clifford gate indices must be integers in 0..{len(SINGLE_QUBIT_CLIFFORDS) - 1}, got {params[bad][:5]}"
        )
    return index.astype(np.int64)


@register_ansatz("clifford")
class CliffordAnsatz(Ansatz):
    """Per layer: one of the 24 single-qubit Cliffords on every qubit, then a CNOT (or CZ) chain 0-1-...-(n-1).

    Options: ``entangler`` (``cnot`` or ``cz``, default ``cnot``).
    """

    def prepare(self, target: object) -> None:
        """Check the options (called by :func:`~qgenflow.models.ansatz.make_ansatz`; the target is not used)."""
        entangler = self.options.get("entangler", "cnot")
        if entangler not in ENTANGLERS:
            raise InvalidConfigError(
                "ansatz_options.entangler", f"unknown entangler {entangler!r}; allowed: {', '.join(ENTANGLERS)}"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers, self.n_qubits)

    @property
    def n_choices(self) -> int:
        """Gates to choose from at each site."""
        return len(SINGLE_QUBIT_CLIFFORDS)

    def ops(self, params: np.ndarray) -> list:
        """Hadamard, S and CNOT (or CZ) operations: all native to ``default.clifford``."""
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit

        gates = {"H": qml.Hadamard, "S": qml.S}
        pair = qml.CNOT if self.options.get("entangler", "cnot") == "cnot" else qml.CZ
        ops = []
        for layer in gate_indices(np.reshape(params, self.shape)):
            for wire, index in enumerate(layer):
                ops.extend(gates[letter](wires=wire) for letter in SINGLE_QUBIT_CLIFFORDS[index])
            ops.extend(pair(wires=[wire, wire + 1]) for wire in range(self.n_qubits - 1))
        return ops

    def init_params(self, rng: np.random.Generator, scale: float) -> np.ndarray:
        """Gate indices drawn uniformly (``scale`` is ignored: the parameters are discrete)."""
        return rng.integers(0, self.n_choices, size=self.shape).astype(np.float64)
