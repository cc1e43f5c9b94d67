"""Generative models: Born machines (and, later, QGANs and classical baselines)."""

from .ansatz import ANSATZE, Ansatz, HardwareEfficient, make_ansatz, register_ansatz
from .brickwork import Brickwork
from .clifford import CliffordAnsatz
from .iqp import IQPAnsatz
from .liu_wang import LiuWang
from .qcbm import QCBM
from .symmetry import SymmetryPreserving

__all__ = [
    "ANSATZE",
    "Ansatz",
    "Brickwork",
    "CliffordAnsatz",
    "HardwareEfficient",
    "IQPAnsatz",
    "LiuWang",
    "QCBM",
    "SymmetryPreserving",
    "make_ansatz",
    "register_ansatz",
]
