"""Quantum generative adversarial networks, in three flavours behind one entry point.

* ``classical_discriminator``: a Born-machine generator (any registered ansatz)
  against a small classical MLP on bitstrings (:mod:`.classical`);
* ``quantum_discriminator``: quantum data after Dallaire-Demers & Killoran (2018):
  the target's ground-state vector against a generator circuit, told apart by a
  discriminator circuit with one ancilla (:mod:`.quantum`);
* ``state_preparation``: the variational baseline for quantum data, trained on the
  known target state directly (fidelity or energy; :mod:`.state_prep`).

Every flavour returns a :class:`QGANResult` with the same fields, so the training
stage writes it to model.h5 like any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ...errors import InvalidConfigError
from ..result import TrainedModel

__all__ = ["FLAVORS", "QGANResult", "TargetData", "setting", "target_data", "train_qgan"]

FLAVORS = ("classical_discriminator", "quantum_discriminator", "state_preparation")
#: Generator steps when the config gives none (as for a QCBM).
DEFAULT_STEPS = 500


def setting(spec: Mapping[str, Any], key: str, default: Any) -> Any:
    """``spec[key]``, or ``default`` when it is missing or null (null = the flavour's default)."""
    value = spec.get(key)
    return default if value is None else value


#: What a QGAN run returns (see :class:`qgenflow.models.result.TrainedModel`).
QGANResult = TrainedModel


@dataclass
class TargetData:
    """The parts of a target a QGAN uses, from an Artefact or a :class:`~qgenflow.targets.Target`."""

    n_qubits: int
    samples: np.ndarray
    probs: np.ndarray | None
    state: np.ndarray | None
    config: dict[str, Any] | None
    attrs: dict[str, Any]
    source: Any = None  # the object it was read from, for ansaetze that adapt to the target


def target_data(target: Any) -> TargetData:
    """Read a target Artefact (``read_artefact(..., kind="target")``) or an in-memory Target."""
    if hasattr(target, "datasets"):  # io.Artefact
        return TargetData(
            n_qubits=int(target.attrs["n_qubits"]),
            samples=np.asarray(target["samples"], dtype=np.uint8),
            probs=target.get("probs"),
            state=target.get("state"),
            config=target.config if "config_json" in target.attrs else None,
            attrs=dict(target.attrs),
            source=target,
        )
    return TargetData(
        n_qubits=int(target.n_qubits),
        samples=np.asarray(target.samples, dtype=np.uint8),
        probs=target.probs,
        state=target.extra.get("state"),
        config=None,
        attrs=dict(target.attrs),
        source=target,
    )


def train_qgan(flavor: str, spec: Mapping[str, Any], target: Any, seed: int, checkpointer=None) -> QGANResult:
    """Train the QGAN flavour ``flavor`` described by the model config entry ``spec``.

    Args:
        flavor: one of :data:`FLAVORS`.
        spec: the model's config slice (keys per flavour: see each module).
        target: the target Artefact (or an in-memory Target).
        seed: seeds initialisation, discriminator batches, shot noise and the final samples.
        checkpointer: a :class:`~qgenflow.fit.checkpoint.Checkpointer` to save and resume the run.

    Raises:
        InvalidConfigError: unknown flavour, or a target the flavour cannot use.
    """
    if flavor == "classical_discriminator":
        from .classical import train_classical_discriminator as train
    elif flavor == "quantum_discriminator":
        from .quantum import train_quantum_discriminator as train
    elif flavor == "state_preparation":
        from .state_prep import train_state_preparation as train
    else:
        raise InvalidConfigError("flavor", f"unknown QGAN flavour {flavor!r}; allowed: {', '.join(FLAVORS)}")
    return train(spec, target_data(target), int(seed), checkpointer)
