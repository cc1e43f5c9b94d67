"""What each job's artefacts must be: config slices, identities, and the study that owns results/."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Mapping

from ..errors import InvalidConfigError
from ..provenance import STUDY_LINE
from ..targets.samples_file import data_files
from .entries import canonical, data_access
from .evaluation import evaluation_settings, target_slice
from ..tune.keys import TUNING_KEYS
from .resources import model_for_job
from .studies import deploy_devices, study_pairs, trainability_models
from .tuning import model_tuning

__all__ = [
    "artefact_identity",
    "deploy_params",
    "check_results_owner",
    "model_params",
    "selection_params",
    "study_name",
    "training_slice",
    "trainability_params",
    "trial_params",
]

def training_slice(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """What a model trains with: its entry (without ``search`` and ``tuning``) as a training job sees it.

    It carries the study-level ``data_access``, so changing it reruns training. A
    baseline sized to a quantum model (``match_params``) also gets what fixes that
    model's parameter count, and only that, so the quantum model's learning rate or
    step count does not rerun the baseline.
    """
    spec = {k: v for k, v in model_for_job(config, model).items() if k not in TUNING_KEYS}
    spec["data_access"] = data_access(config)
    if spec.get("match_params"):
        matched = config["models"][spec["match_params"]]
        spec["match_params_spec"] = {
            key: matched[key] for key in ("kind", "ansatz", "layers", "ansatz_options") if key in matched
        }
    return canonical(spec)


def model_params(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The config slice a model's training job receives (and its model.h5 records).

    The :func:`training_slice`, plus, when tuning applies to the model, its ``tuning``
    (:func:`qgenflow.plan.tuning.model_tuning`: budget, override, search, sampler); with
    the study's trials at 0 and no override, the training slice alone.
    """
    spec = training_slice(config, model)
    tuning = model_tuning(config, model)
    if tuning is not None:
        spec["tuning"] = tuning
    return canonical(spec)


def trial_params(config: Mapping[str, Any], target: str, model: str) -> dict[str, Any]:
    """The config slice of a model's trial jobs on a target (each trial.h5 records it; the trial number is in the path).

    The model's training slice, its search, the sampler and its seed, the tuning metric
    and the target's evaluation settings it is scored with (:func:`evaluation_settings`:
    bandwidths and sample count; a trial is ranked by its value, without bootstrap errors)
    and the fraction of the optimiser steps a trial trains for. The budget is left out, so
    a larger budget reruns no trial already made.
    """
    tuning = model_tuning(config, model)
    if tuning is None or not tuning["trials"]:
        raise InvalidConfigError(f"models.{model}", "the model is not tuned (no trials, or an empty search)")
    keys = ("search", "sampler", "seed", "metric", "steps_fraction")
    evaluation = {k: v for k, v in evaluation_settings(config, target).items() if k != "n_bootstrap"}
    spec = {"model": training_slice(config, model), "evaluation": evaluation}
    spec.update({key: tuning[key] for key in keys})
    return canonical(spec)


def selection_params(config: Mapping[str, Any], target: str, model: str) -> dict[str, Any]:
    """The config slice of a model's selection job on a target (its tuning.h5 records it): trials' slice and budget."""
    tuning = model_tuning(config, model) or {}
    spec = trial_params(config, target, model)
    spec.update({key: tuning[key] for key in ("trials", "study_trials", "override")})
    return canonical(spec)


def trainability_params(config: Mapping[str, Any], target: str) -> dict[str, Any]:
    """The config slice of a target's trainability job (its trainability.h5 records it).

    The study's ``trainability`` section and the training slice of every diagnosed qcbm,
    so changing what a model trains with, or the scan, reruns the diagnosis.
    """
    models = {model: training_slice(config, model) for model in trainability_models(config, target)}
    return canonical({"models": models, "trainability": config.get("trainability", {})})


def deploy_params(config: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The config slice of a deploy job on the device labelled ``label`` (its deploy.h5 records it):
    the device spec, the shot budgets and the evaluation settings the deployed samples are scored with."""
    section = config.get("deploy") or {}
    return canonical({"device": deploy_devices(config)[label], "label": label,
                      "shots": sorted(int(s) for s in section.get("shots") or ()),
                      "evaluation": config.get("evaluation", {})})


_ARTEFACT_PATHS = (
    ("trial", re.compile(r"results/tuning/(?P<target>[^/]+)/(?P<model>[^/]+)/trial(?P<trial>\d+)/trial\.h5")),
    ("tuning", re.compile(r"results/tuning/(?P<target>[^/]+)/(?P<model>[^/]+)/tuning\.h5")),
    ("target", re.compile(r"results/targets/(?P<target>[^/]+)/seed(?P<seed>\d+)/target\.h5")),
    ("model", re.compile(r"results/models/(?P<target>[^/]+)/(?P<model>[^/]+)/seed(?P<seed>\d+)/model\.h5")),
    ("metrics", re.compile(r"results/eval/(?P<target>[^/]+)/(?P<model>[^/]+)/seed(?P<seed>\d+)/metrics\.h5")),
    ("trainability", re.compile(r"results/trainability/(?P<target>[^/]+)/trainability\.h5")),
    ("deploy", re.compile(r"results/deploy/(?P<target>[^/]+)/(?P<model>[^/]+)/(?P<device>[^/]+)/deploy\.h5")),
)


def artefact_identity(config: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """What a job reading the artefact at ``path`` expects of it (see :func:`qgenflow.io.check_inputs`).

    Returns None for a path that is not a workflow artefact (a user's data file).
    """
    for kind, pattern in _ARTEFACT_PATHS:
        match = pattern.fullmatch(str(path))
        if match:
            break
    else:
        return None
    if kind in ("trial", "tuning"):
        return _tuning_identity(config, kind, match)
    if kind == "deploy":
        seed, target, model = int(config["seeds"][0]), match["target"], match["model"]
        return {"kind": kind, "seed": seed, "config": deploy_params(config, match["device"]),
                "attrs": {"target_name": target, "model_name": model, "device_label": match["device"]},
                "made_from": [f"results/targets/{target}/seed{seed}/target.h5",
                              f"results/models/{target}/{model}/seed{seed}/model.h5"]}
    if kind == "trainability":
        seed = int(config["seeds"][0])
        return {"kind": kind, "seed": seed, "config": trainability_params(config, match["target"]),
                "made_from": [f"results/targets/{match['target']}/seed{seed}/target.h5"]}
    target, seed = match["target"], int(match["seed"])
    target_file = f"results/targets/{target}/seed{seed}/target.h5"
    if kind == "target":
        spec = config["targets"][target]
        identity = {"kind": kind, "seed": seed, "config": target_slice(config, target)}
        if spec["kind"] == "file":
            identity["made_from"] = data_files(spec)  # the user's data, as it is now
        return identity
    if kind == "model":
        made_from = [target_file]
        if (model_tuning(config, match["model"]) or {}).get("trials"):
            made_from.append(f"results/tuning/{target}/{match['model']}/tuning.h5")
        return {"kind": kind, "seed": seed, "config": model_params(config, match["model"]), "made_from": made_from}
    model = match["model"]
    made_from = [target_file]
    if not model.startswith("_"):
        made_from.append(f"results/models/{target}/{model}/seed{seed}/model.h5")
    return {
        "kind": kind,
        "seed": seed,
        "config": evaluation_settings(config, target),
        "attrs": {"target_name": target, "model_name": model.removeprefix("_")},
        "made_from": made_from,
    }


def _tuning_identity(config: Mapping[str, Any], kind: str, match: re.Match) -> dict[str, Any]:
    """What a trial.h5 or tuning.h5 must be: made with the first study seed from the slice its job gets."""
    target, model = match["target"], match["model"]
    seed = int(config["seeds"][0])
    attrs: dict[str, Any] = {"target_name": target, "model_name": model}
    if kind == "trial":
        attrs["trial"] = int(match["trial"])
        config_slice = trial_params(config, target, model)
        made_from = [f"results/targets/{target}/seed{seed}/target.h5"]
    else:
        config_slice = selection_params(config, target, model)
        made_from = [f"results/tuning/{target}/{model}/trial{k}/trial.h5" for k in range(config_slice["trials"])]
    return {"kind": kind, "seed": seed, "config": config_slice, "attrs": attrs, "made_from": made_from}


def study_name(config: Mapping[str, Any], configfiles: Sequence[str | Path] = ()) -> str:
    """The study's name: the config's ``study`` key, else the stem of the last config file read."""
    if config.get("study"):
        return str(config["study"])
    return Path(str(configfiles[-1])).stem if configfiles else "config"


def _owner(verdict: Path) -> str | None:
    try:
        first = verdict.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    return first.removeprefix(STUDY_LINE).strip() if first.startswith(STUDY_LINE) else None


def check_results_owner(config: Mapping[str, Any], study: str, root: str | Path = ".") -> None:
    """Stop before any job when this study would replace another study's results.

    One ``results/`` folder holds one study. Each verdict file records the study that
    wrote it; if a target of this study already has a table written by another study,
    the run stops, naming the files it would replace and how to keep both.
    """
    root = Path(root)
    for target in sorted({t for t, _ in study_pairs(config)}):
        owner = _owner(root / f"results/tables/{target}_verdict.txt")
        if owner is None or owner == study:
            continue
        raise InvalidConfigError(
            f"targets.{target}",
            f"results/tables/{target}.csv, its verdict, its figures (results/figures/{target}_*) and the "
            f"publish folder were written by study {owner!r}; running study {study!r} here would replace them. "
            f"To keep both, run this study in a folder of its own (snakemake -d OTHER_FOLDER ...), or move "
            f"results/ aside first; if it is the same study under a new file name, set `study: {owner}`",
        )
