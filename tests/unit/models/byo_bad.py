"""Malformed user circuits for the error tests (no ``shape`` in this module)."""

import numpy as np
import pennylane as qml


def build_one(params):
    """Takes no wires: the wrong signature."""


def build_two(params, wires):
    """Right signature, but the module has no shape."""
    qml.RY(np.sin(params[0]), wires=wires[0])
