"""Facts about single config entries that every part of the plan reads."""

from __future__ import annotations

from typing import Any, Mapping

from ..schema import load_schema
from ..targets import target_kind

__all__ = [
    "EXACT_LOSS_MODELS",
    "canonical",
    "data_access",
    "learns_from_state",
    "target_has_distribution",
    "target_has_probs",
    "target_qubits",
    "uses_estimator",
]

def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted, recursively.

    Snakemake compares ``params`` by their text, so a config slice must not
    depend on the order keys were written in the YAML file.
    """
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


EXACT_LOSS_MODELS = ("qcbm",)


def target_qubits(spec: Mapping[str, Any]) -> int | None:
    """Number of qubits (bits) of a target config entry; None when only the data file knows."""
    return target_kind(spec).qubits(spec)


def target_has_probs(spec: Mapping[str, Any]) -> bool:
    """Whether the target artefact will hold exact probabilities."""
    return spec["kind"] != "file" and spec.get("method", "exact") == "exact"


def target_has_distribution(spec: Mapping[str, Any]) -> bool:
    """Whether a dense distribution exists to train on: exact probabilities or a data file's histogram."""
    return target_has_probs(spec) or spec["kind"] == "file"


def uses_estimator(model: Mapping[str, Any]) -> bool:
    """Whether a model trains with the classical IQP Z-string estimator (no statevector)."""
    return model.get("kind") == "qcbm" and model.get("training", {}).get("method", "exact") == "estimator"


def data_access(config: Mapping[str, Any]) -> str:
    """The study's ``data_access`` (``samples`` or ``probabilities``; the schema's default when absent)."""
    return str(config.get("data_access", load_schema()["properties"]["data_access"]["default"]))


def learns_from_state(model: Mapping[str, Any]) -> bool:
    """Whether a model learns from the target's state vector, not from samples (the quantum-data QGANs;
    :data:`qgenflow.train.LEARNS_FROM`)."""
    return model.get("kind") == "qgan" and model.get("flavor", "classical_discriminator") != "classical_discriminator"
