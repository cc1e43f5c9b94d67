"""Quantum generative adversarial networks, in three flavours behind one entry point.

* ``classical_discriminator``: a Born-machine generator (any registered ansatz)
  against a small classical MLP on bitstrings (:mod:`.classical`);
* ``quantum_discriminator``: quantum data after Dallaire-Demers & Killoran (2018):
  the target's ground-state vector against a generator circuit, told apart by a
  discriminator circuit with one ancilla (:mod:`.quantum`);
* ``state_preparation``: the variational baseline for quantum data, trained on the
  known target state directly (fidelity or energy; :mod:`.state_prep`).

Every flavour is a trainer of :data:`qgenflow.train.TRAINERS` (``qgan/<flavour>``)
and returns a :class:`~qgenflow.models.result.TrainedModel`, written like any model.
"""

from __future__ import annotations

from typing import Any, Mapping


from ..result import TargetData, TrainedModel, target_data

__all__ = ["FLAVORS", "QGANResult", "TargetData", "setting", "target_data"]

FLAVORS = ("classical_discriminator", "quantum_discriminator", "state_preparation")


def setting(spec: Mapping[str, Any], key: str, default: Any) -> Any:
    """``spec[key]``, or ``default`` when it is missing or null (null = the flavour's default)."""
    value = spec.get(key)
    return default if value is None else value


#: What a QGAN run returns (see :class:`qgenflow.models.result.TrainedModel`).
QGANResult = TrainedModel
