"""Generative models: Born machines (and, later, QGANs and classical baselines)."""

from .ansatz import ANSATZE, build_ops, param_shape
from .qcbm import QCBM

__all__ = ["ANSATZE", "QCBM", "build_ops", "param_shape"]
