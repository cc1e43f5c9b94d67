"""Circuit execution: one :class:`Runner` protocol, four implementations.

* :class:`CircuitRunner` (:mod:`.exact`): exact probabilities and adjoint gradients on a
  PennyLane simulator;
* :class:`FastAdjointRunner` (:mod:`.numba`): the same on qgenflow's numba kernels;
* :class:`ShotRunner` (:mod:`.shots`): finite shots and parameter shift on any device;
* :class:`ExpvalRunner` (:mod:`.expval`): expectation values of any observable (quantum
  discriminators, state preparation).

Every runner gives big-endian probabilities, the gradient of ``sum_x diag[x] p(x)``
and samples, each for a step index that seeds shot noise reproducibly.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import InvalidConfigError
from .exact import CircuitRunner
from .expval import ExpvalRunner
from .numba import FastAdjointRunner
from .shots import ShotRunner

__all__ = [
    "FINAL_SAMPLING_STEP",
    "CircuitRunner",
    "ExpvalRunner",
    "FastAdjointRunner",
    "Runner",
    "ShotRunner",
    "gradient_method",
]

#: Step index of the final samples drawn after training: seeds their shots apart from every training step's.
FINAL_SAMPLING_STEP = 2**40


@runtime_checkable
class Runner(Protocol):
    """What every circuit runner does for a circuit given as a list of PennyLane operations."""

    n_qubits: int

    def probs(self, ops: Sequence, step: int = 0) -> np.ndarray:
        """Big-endian probabilities of the state ``ops`` prepare from |0...0> (a shot estimate with shots)."""

    def diagonal_grad(self, ops: Sequence, diag: np.ndarray, step: int = 0) -> np.ndarray:
        """Gradient of ``sum_x diag[x] p(x)`` with respect to every angle of ``ops``, in operation order."""

    def samples(self, ops: Sequence, step: int, shots: int) -> np.ndarray:
        """[shots, n] uint8 samples, reproducible for a given step."""


def gradient_method(spec: Mapping[str, Any]) -> str:
    """``adjoint`` for exact simulation, ``parameter_shift`` with finite shots (``gradient: auto``)."""
    requested = spec.get("gradient", "auto")
    shots = spec.get("device", {}).get("shots")
    if requested == "auto":
        return "adjoint" if shots is None else "parameter_shift"
    if requested == "adjoint" and shots is not None:
        raise InvalidConfigError("gradient", "adjoint needs exact simulation (device.shots: null); use parameter_shift")
    if requested == "parameter_shift" and shots is None:
        raise InvalidConfigError("device.shots", "parameter_shift needs a shot count (e.g. 2000)")
    return requested
