"""The training stage: read target.h5, train the configured model, write model.h5."""

from __future__ import annotations

import json
import resource
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..fit.checkpoint import Checkpointer
from ..io import Artefact, read_artefact, write_artefact
from ..models.result import TrainedModel, target_data
from ..provenance import sha256_file
from ..schema import with_defaults
from ..train import match_parameter_count, train, trainer_name
from ..tune.keys import apply_setting

__all__ = ["fit_entry", "run_training", "tuning_choice", "tuning_record", "write_trained_model"]


def fit_entry(
    spec: Mapping[str, Any], target: Artefact, seed: int, checkpointer: Checkpointer | None = None
) -> tuple[TrainedModel, dict[str, Any]]:
    """Train the model of config entry ``spec`` on a target artefact, as every training job does.

    The entry is completed with the schema's defaults and a baseline with ``match_params``
    is sized first; the trainer sees the view the entry's ``data_access`` allows
    (:func:`qgenflow.train.train`). Tuning trials train through here too.

    Returns:
        The trained model and the completed entry.
    """
    complete = with_defaults("models", spec)
    trainer_name(complete)  # an unknown kind fails before training starts
    trained_spec = match_parameter_count(complete, target) if complete.get("match_params") else complete
    return train(trained_spec, target_data(target), seed, checkpointer), complete


def run_training(
    spec: Mapping[str, Any],
    target_path: str | Path,
    seed: int,
    output: str | Path,
    tuning_path: str | Path | None = None,
) -> Path:
    """Train the model of config entry ``spec`` on the target artefact and write model.h5.

    model.h5 records the job's own config slice; a baseline sized by ``match_params``
    trains at the matched size, which its ``n_params`` shows. A checkpoint beside
    ``output`` resumes a killed run and is removed once model.h5 is written. The slice
    carries the study-level ``data_access`` (:func:`qgenflow.plan.model_params`), which
    decides what the trainer sees (:func:`qgenflow.train.train`). A tuned model gets the
    selection's ``tuning.h5`` (``tuning_path``): its chosen setting is applied to the entry
    before training, and model.h5 records it with every trial (:func:`tuning_record`).
    """
    complete = with_defaults("models", spec)
    name = trainer_name(complete)  # an unknown kind fails before the target is read
    if (spec.get("tuning") or {}).get("trials") and tuning_path is None:
        raise ValueError("the model is tuned (its slice has tuning trials): pass the selection's tuning.h5")
    target = read_artefact(target_path, kind="target")
    tuning = None if tuning_path is None else read_artefact(tuning_path, kind="tuning")
    identity = {"config": dict(spec), "seed": seed, "target": sha256_file(target_path)}
    if tuning_path is not None:
        identity["tuning"] = sha256_file(tuning_path)
    checkpointer = Checkpointer(
        path=Path(f"{output}.checkpoint"),
        every=int(complete.get("checkpoint_every") or 0),  # kinds without the key (product) never checkpoint
        identity=identity,
    )
    tuned = complete if tuning is None else apply_setting(complete, tuning_choice(tuning))
    result, _ = fit_entry(tuned, target, seed, checkpointer)
    attrs = {"flavor": complete["flavor"]} if name.startswith("qgan/") else {}
    if spec.get("tuning") is not None:
        record_attrs, record = tuning_record(spec, tuning)
        attrs.update(record_attrs)
        result.extra.update(record)
    inputs = [target_path] + ([] if tuning_path is None else [tuning_path])
    path = write_trained_model(result, output, spec, seed, inputs, int(target.attrs["n_qubits"]), attrs)
    checkpointer.remove()
    return path


def tuning_choice(tuning: Artefact) -> dict[str, Any]:
    """The setting ``{dotted key: value}`` a selection's tuning.h5 chose."""
    return json.loads(tuning.attrs["tuned_params"])


def tuning_record(
    spec: Mapping[str, Any], tuning: Artefact | None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Root attributes and datasets model.h5 records of its tuning (``spec`` is the job's slice, with ``tuning``).

    Attributes: ``tuned_params`` (the chosen setting; ``{}`` untuned), ``tuning_trials``,
    ``tuning_seconds`` (the trials' summed wall time), ``tuning_override``,
    ``tuning_study_trials``, and for a tuned model ``tuning_metric``, ``tuning_best_trial``,
    ``tuning_trial_seconds`` and ``trained_config`` (the slice without ``tuning``, the chosen
    setting applied: what the model trained with, for readers that rebuild it, e.g. the audit).
    Datasets of a tuned model, one entry per trial: ``tuning/scores`` (validation scores) and
    ``tuning/params/<dotted key>`` (the settings).
    """
    plan = spec["tuning"]
    attrs: dict[str, Any] = {
        "tuned_params": {} if tuning is None else tuning_choice(tuning),
        "tuning_trials": 0 if tuning is None else int(tuning.attrs["tuning_trials"]),
        "tuning_seconds": 0.0 if tuning is None else float(tuning.attrs["tuning_seconds"]),
        "tuning_override": bool(plan["override"]),
        "tuning_study_trials": int(plan["study_trials"]),
    }
    if tuning is None:
        return attrs, {}
    attrs.update(
        tuning_metric=tuning.attrs["metric"],
        tuning_best_trial=int(tuning.attrs["best_trial"]),
        tuning_trial_seconds=list(tuning.attrs["tuning_trial_seconds"]),
        trained_config=apply_setting({k: v for k, v in spec.items() if k != "tuning"}, tuning_choice(tuning)),
    )
    datasets = {f"tuning/{name}": np.asarray(tuning[name]) for name in tuning.datasets}
    return attrs, datasets


def write_trained_model(
    result: TrainedModel,
    output: str | Path,
    spec: Mapping[str, Any],
    seed: int,
    inputs: str | Path | Sequence[str | Path],
    n_qubits: int,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``result`` as model.h5: the common summary attributes, then ``attrs``, then the result's own.

    ``inputs`` is the target artefact's path, or the paths of every input (target first).
    """
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    root = {
        "n_qubits": int(n_qubits),
        "model_kind": spec.get("kind"),
        "n_params": int(result.n_params),
        "train_seconds": float(result.seconds),
        "seconds_per_step": float(result.seconds_per_step),
        "final_loss": float(result.history["loss"][-1]),
        "steps_done": int(result.history["step"][-1]),
        # The classical cost of what was done: the training process's peak resident memory (Linux: KiB).
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        **dict(attrs or {}),
        **result.attrs,
    }
    return write_artefact(
        output, "model", result.datasets(), config=dict(spec), seed=seed, inputs=paths, attrs=root
    )
