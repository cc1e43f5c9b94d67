"""Which models meet which targets, the sweeps among them, their colours and figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Mapping

from ..catalog import QUANTUM_MODEL_KINDS, TargetFacts, target_figure_names
from ..targets import target_kind
from .entries import canonical, target_has_probs, target_qubits
from .evaluation import target_slice
from .tuning import model_tuning

__all__ = [
    "DEPLOYABLE_KINDS",
    "MODEL_PALETTE",
    "deploy_devices",
    "deploy_models",
    "deploy_targets",
    "device_label",
    "model_colours",
    "models_for_target",
    "parameter_sweeps",
    "qubit_sweeps",
    "study_pairs",
    "target_figures",
    "trainability_models",
    "trainability_targets",
    "tuned_models",
]

def study_pairs(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Distinct (target, model) pairs of all studies, in a stable order."""
    pairs = {(t, m) for study in config["studies"] for t in study["targets"] for m in study["models"]}
    return sorted(pairs)


def models_for_target(config: Mapping[str, Any], target: str) -> list[str]:
    """Models trained on ``target`` in any study, in the order of the config's ``models``."""
    trained = {m for t, m in study_pairs(config) if t == target}
    return [m for m in config["models"] if m in trained]


def quantum_models_for_target(config: Mapping[str, Any], target: str) -> list[str]:
    """The quantum models trained on ``target`` (those the advantage audit examines)."""
    return [m for m in models_for_target(config, target) if config["models"][m]["kind"] in QUANTUM_MODEL_KINDS]


def audited_targets(config: Mapping[str, Any]) -> list[str]:
    """Targets with at least one quantum model, sorted: each gets an advantage audit."""
    return sorted({t for t, _ in study_pairs(config) if quantum_models_for_target(config, t)})


def trainability_models(config: Mapping[str, Any], target: str) -> list[str]:
    """The qcbm models on ``target`` whose trainability is diagnosed (none unless ``trainability.enabled``)."""
    if not (config.get("trainability") or {}).get("enabled", False):
        return []
    return [m for m in models_for_target(config, target) if config["models"][m]["kind"] == "qcbm"]


def trainability_targets(config: Mapping[str, Any]) -> list[str]:
    """Targets with a trainability diagnosis (a ``diagnose_trainability`` job and figure), sorted."""
    return sorted({t for t, _ in study_pairs(config) if trainability_models(config, t)})


def tuned_models(config: Mapping[str, Any], target: str) -> list[str]:
    """The models on ``target`` that run trials (a budget above 0 and a non-empty search), in config order."""
    return [m for m in models_for_target(config, target) if (model_tuning(config, m) or {}).get("trials", 0) > 0]


#: Model kinds whose trained circuit a ``deploy`` job samples on a device.
DEPLOYABLE_KINDS = ("qcbm", "qgan")


def device_label(device: Mapping[str, Any]) -> str:
    """A deploy device's name in paths: its ``label``, else its name with dots as underscores,
    followed by its noise model's backend (or ``noisy`` for a uniform noise model)."""
    if device.get("label"):
        return str(device["label"])
    label = str(device.get("name", "lightning.qubit")).replace(".", "_")
    noise = device.get("noise_model")
    if noise:
        label += f"_{noise['backend']}" if "backend" in noise else "_noisy"
    return label


def deploy_devices(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``deploy`` section's devices by label, each as a device spec (name, options, noise model)."""
    devices: dict[str, dict[str, Any]] = {}
    for device in (config.get("deploy") or {}).get("devices") or []:
        spec = {"name": device.get("name", "lightning.qubit"), "options": dict(device.get("options") or {})}
        if device.get("noise_model"):
            spec["noise_model"] = dict(device["noise_model"])
        devices[device_label(device)] = canonical(spec)
    return devices


def deploy_models(config: Mapping[str, Any], target: str) -> list[str]:
    """The models of ``target`` deployed on the ``deploy`` devices (none without devices), in config order."""
    section = config.get("deploy") or {}
    if not section.get("devices"):
        return []
    chosen = section.get("models")
    return [m for m in models_for_target(config, target)
            if config["models"][m]["kind"] in DEPLOYABLE_KINDS and (chosen is None or m in chosen)]


def deploy_targets(config: Mapping[str, Any]) -> list[str]:
    """Targets with a deployed model (deploy jobs and a deploy figure), sorted."""
    return sorted({t for t, _ in study_pairs(config) if deploy_models(config, t)})


#: Colour-blind-safe qualitative palette (Paul Tol's "muted"), ordered so that
#: neighbours in a config's ``models`` get contrasting colours.
MODEL_PALETTE = (
    "#332288", "#117733", "#882255", "#999933", "#88CCEE", "#AA4499", "#44AA99", "#DDCC77", "#CC6677",
)


# Keys that only set a size: entries differing in nothing else form a sweep.
_MODEL_SIZE_KEYS = ("layers", "hidden", "alpha")


_TARGET_SIZE_KEYS = ("n_bits", "n_qubits", "rows", "cols", "lattice")


def model_colours(config: Mapping[str, Any], models: Sequence[str]) -> dict[str, str]:
    """Each model's colour, fixed by its place in the config's ``models``.

    A model keeps its colour in every figure of a study; the palette repeats after
    nine models (a warning is logged by the figures that then share colours).
    """
    order = list(config["models"])
    return {m: MODEL_PALETTE[order.index(m) % len(MODEL_PALETTE)] for m in models}


def _family_key(spec: Mapping[str, Any], size_keys: Sequence[str]) -> str:
    return json.dumps(canonical({k: v for k, v in spec.items() if k not in size_keys}), sort_keys=True)


def parameter_sweeps(config: Mapping[str, Any], target: str) -> dict[str, list[str]]:
    """Families of models on ``target`` that differ only in size (layers, hidden units, alpha).

    Returns:
        ``{first member's name: [members in config order]}`` for families of two or more.
    """
    families: dict[str, list[str]] = {}
    for model in models_for_target(config, target):
        families.setdefault(_family_key(config["models"][model], _MODEL_SIZE_KEYS), []).append(model)
    return {members[0]: members for members in families.values() if len(members) > 1}


def qubit_sweeps(config: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Targets that differ only in size (qubits, grid, lattice), with the models trained on two or more.

    Their evaluation overrides do not count (bandwidths may grow with the size).

    Returns:
        ``{name: {"targets": [...], "models": [...]}}``; the name is the targets' kind,
        numbered when one kind has several sweeps.
    """
    pairs = study_pairs(config)
    families: dict[str, list[str]] = {}
    for target in dict.fromkeys(t for t, _ in pairs):
        families.setdefault(_family_key(target_slice(config, target), _TARGET_SIZE_KEYS), []).append(target)
    sweeps: dict[str, dict[str, list[str]]] = {}
    for targets in families.values():
        if len({target_qubits(config["targets"][t]) for t in targets}) < 2:
            continue
        models = [m for m in config["models"] if sum((t, m) in pairs for t in targets) >= 2]
        if not models:
            continue
        kind = config["targets"][targets[0]]["kind"]
        name = kind if kind not in sweeps else f"{kind}{sum(k.startswith(kind) for k in sweeps) + 1}"
        targets = sorted(targets, key=lambda t: target_qubits(config["targets"][t]) or 0)
        sweeps[name] = {"targets": targets, "models": models}
    return sweeps


def target_figures(config: Mapping[str, Any], target: str) -> list[str]:
    """The figures of one target, in the order of :data:`qgenflow.catalog.FIGURES`: those
    every target gets, plus those its kind, its models and its parameter sweeps call for."""
    spec = config["targets"][target]
    facts = TargetFacts(
        kind=spec["kind"],
        quantum=target_kind(spec).quantum,
        has_probs=target_has_probs(spec),
        model_kinds=frozenset(config["models"][m]["kind"] for m in models_for_target(config, target)),
        swept=bool(parameter_sweeps(config, target)),
        tuned=bool(tuned_models(config, target)),
        trainability=bool(trainability_models(config, target)),
        deployed=bool(deploy_models(config, target)),
    )
    return target_figure_names(facts)
