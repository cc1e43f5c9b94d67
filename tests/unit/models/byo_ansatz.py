"""A user's own circuit for the bring-your-own-ansatz tests: ``tests.unit.models.byo_ansatz:build``.

RY layers (angles ``scale * params``, so the gate angles are not the parameters themselves)
with an entangler chain; ``shape`` is the documented companion.
"""

import numpy as np
import pennylane as qml


def shape(n_qubits, layers, **options):
    """One angle per qubit and layer."""
    return (layers, n_qubits)


def build(params, wires, entangler="CNOT", scale=1.0):
    """RY(scale * theta) on every wire, then the entangler on neighbouring wires, per layer."""
    gate = getattr(qml, entangler)
    for layer in params:
        for wire, theta in zip(wires, layer):
            qml.RY(scale * theta, wires=wire)
        for a, b in zip(wires[:-1], wires[1:]):
            gate(wires=[a, b])


def build_phase(params, wires):
    """Hadamards, then RZ and a CRZ ladder: gate angles 2 theta and theta_0 + theta_1 (a non-trivial Jacobian)."""
    for wire in wires:
        qml.Hadamard(wires=wire)
    for wire in wires:
        qml.RZ(2 * params[0, wire], wires=wire)
    for a, b in zip(wires[:-1], wires[1:]):
        qml.CRX(params[0, a] + params[0, b], wires=[a, b])


def build_numpy(params, wires):
    """Gate angles through numpy's sin: not traceable by JAX, so refused."""
    for wire in wires:
        qml.RY(np.sin(params[0, wire]), wires=wire)
