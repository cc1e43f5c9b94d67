"""Generative models: Born machines (and, later, QGANs and classical baselines)."""

from .ansatz import ANSATZE, Ansatz, HardwareEfficient, make_ansatz, register_ansatz
from .qcbm import QCBM

__all__ = ["ANSATZE", "Ansatz", "HardwareEfficient", "QCBM", "make_ansatz", "register_ansatz"]
