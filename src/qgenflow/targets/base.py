"""What every target family produces, and the helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Target"]


@dataclass
class Target:
    """A target distribution over ``n_qubits`` bits.

    Attributes:
        n_qubits: number of bits per sample.
        samples: [N, n] uint8 samples (see :mod:`qgenflow.io` for bit conventions).
        probs: exact big-endian probability vector of length 2^n, or None.
        extra: further datasets to store (e.g. ``state`` for Hamiltonian targets).
        attrs: further root attributes (e.g. ``energy``).
        held_out: samples a data set ships for ``validation`` or ``test`` (a file target's
            ``validation_path`` / ``test_path``); those splits are then not cut from ``samples``.
        dataset_attrs: attributes of datasets in ``extra`` (e.g. the axis names of MPS tensors).
    """

    n_qubits: int
    samples: np.ndarray
    probs: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    held_out: dict[str, np.ndarray] = field(default_factory=dict)
    dataset_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
