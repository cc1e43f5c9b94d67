"""Export a trained circuit as OpenQASM 2.0 text, a portable record beside its angles in model.h5.

PennyLane's :func:`pennylane.to_openqasm` decomposes every operation into ``qelib1.inc``
gates and measures every wire: wire ``i`` is ``q[i]``, measured into ``c[i]``, which is bit
``i`` of a qgenflow sample (:data:`qgenflow.describe.QASM_BIT_ORDER` says how Qiskit orders them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pennylane as qml

__all__ = ["QASM_DATASET", "circuit_qasm", "qasm_record"]

log = logging.getLogger(__name__)

#: Where model.h5 stores the circuit's OpenQASM text.
QASM_DATASET = "circuit/qasm"


def circuit_qasm(ops: Sequence[Any], n_qubits: int) -> str:
    """OpenQASM 2.0 text of the operations ``ops`` on wires ``0..n_qubits-1``, every wire measured.

    Global phases (``gphase``, which OpenQASM 2.0's ``qelib1.inc`` lacks) are dropped: they
    change no probability. Parameters are written in full (``repr``) precision.

    Raises:
        ValueError: an operation has no decomposition into OpenQASM 2.0 gates.
    """
    tape = qml.tape.QuantumScript(list(ops))
    text = qml.to_openqasm(tape, wires=range(int(n_qubits)), rotations=False, measure_all=True)
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("gphase"))


def qasm_record(ops: Sequence[Any], n_qubits: int) -> dict[str, str]:
    """``{"circuit/qasm": text}`` for a trained model's extra datasets; empty where the circuit cannot be exported.

    A circuit with gates OpenQASM 2.0 cannot express (a user's template) is logged and left
    out, so a finished training is never lost to its export.
    """
    try:
        return {QASM_DATASET: circuit_qasm(ops, n_qubits)}
    except (ValueError, NotImplementedError) as exc:
        log.warning("the trained circuit is not stored as OpenQASM: %s", exc)
        return {}
