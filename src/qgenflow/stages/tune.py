"""The tuning stages: one trial (train a setting, score it on the validation split) and the selection.

A trial job writes ``trial.h5`` (kind ``trial``): the setting the sampler gives trial k,
its validation score and its wall time. The selection job tells every trial's score to
an Optuna study and writes ``tuning.h5`` (kind ``tuning``): all trials and the chosen
setting, which the training stage applies to every seed's final model.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ArtefactError
from ..io import Artefact, read_artefact, write_artefact
from ..metrics.evaluate import VALIDATION_SPLIT, evaluate
from ..models.result import TrainedModel
from ..tune.keys import apply_setting, get_dotted, trial_budget
from ..tune.sampler import select_trial, trial_setting
from .train import fit_entry

__all__ = ["run_selection", "run_trial", "validation_score"]

log = logging.getLogger(__name__)


def validation_score(target: Artefact, result: TrainedModel, spec: Mapping[str, Any], seed: int) -> float:
    """The tuning metric of a trained model against the target's validation split (never its test split).

    ``spec`` is a trial's slice: ``metric`` and the study's ``evaluation`` settings (sample
    counts and bandwidths; no bootstrap: a trial is ranked by its value).
    """
    model = Artefact(
        path=Path("<tuning trial>"), kind="model", attrs={"n_qubits": int(target.attrs["n_qubits"])},
        datasets=result.datasets(),
    )
    if "samples" not in model:
        raise ArtefactError(f"the trained model has no samples: it cannot be scored by {spec['metric']} for tuning")
    metrics = evaluate(target, model, {**spec["evaluation"], "n_bootstrap": 0}, seed, split=VALIDATION_SPLIT)
    return float(metrics[spec["metric"]]["value"])


def run_trial(
    spec: Mapping[str, Any],
    target_path: str | Path,
    seed: int,
    trial: int,
    output: str | Path,
    *,
    model_name: str,
    target_name: str,
) -> Path:
    """Run trial ``trial`` of a model's search on one target and write ``trial.h5``.

    The sampler gives the trial's setting (:func:`qgenflow.tune.sampler.trial_setting`);
    it is applied to the model's training slice, which trains with ``seed`` (the first
    study seed) on the target's training split exactly as a final model does
    (:func:`~qgenflow.stages.train.fit_entry`), and is scored on the validation split.

    Root attributes: ``trial``, ``setting`` (``{dotted key: value}``), ``score``, ``metric``,
    ``seconds`` (the trial's wall time: training and scoring), ``train_seconds``,
    ``n_params``, ``trial_steps`` (the optimiser steps it trained for: ``tuning.steps_fraction`` of
    the setting's), ``model_name``, ``target_name``; dataset ``score``. Wall times are attributes
    only, so two runs of the same trial give bit-identical datasets.
    """
    start = time.perf_counter()
    setting = trial_setting(spec["search"], spec["sampler"], int(spec["seed"]), int(trial))
    log.info("trial %d of %s on %s: %s", trial, model_name, target_name, setting)
    target = read_artefact(target_path, kind="target")
    entry = trial_budget(apply_setting(spec["model"], setting), float(spec.get("steps_fraction", 1.0)))
    result, _ = fit_entry(entry, target, seed)
    score = validation_score(target, result, spec, seed)
    seconds = time.perf_counter() - start
    log.info("trial %d: validation %s = %.6g in %.1f s", trial, spec["metric"], score, seconds)
    attrs = {
        "trial": int(trial),
        "setting": setting,
        "score": score,
        "metric": spec["metric"],
        "seconds": seconds,
        "train_seconds": float(result.seconds),
        "n_params": int(result.n_params),
        "trial_steps": _steps(entry),
        "model_name": model_name,
        "target_name": target_name,
    }
    datasets = {"score": np.float64(score)}
    return write_artefact(output, "trial", datasets, config=dict(spec), seed=seed, inputs=[target_path], attrs=attrs)


def _steps(entry: Mapping[str, Any]) -> int:
    """The optimiser steps a trial trained for (-1: the model has no optimiser steps)."""
    try:
        return int(get_dotted(entry, "optimizer.steps"))
    except KeyError:
        return -1


def _column(values: list[Any]) -> np.ndarray:
    """One search key's values over the trials as a dataset (strings when the choices mix types)."""
    array = np.asarray(values)
    return array.astype(str) if array.dtype.kind == "O" else array


def run_selection(
    spec: Mapping[str, Any],
    trial_paths: Sequence[str | Path],
    output: str | Path,
    *,
    model_name: str,
    target_name: str,
) -> Path:
    """Select the best of a model's trials on one target and write ``tuning.h5``.

    Every trial's recorded setting is checked against the sampler's, its score told to
    an Optuna study (:func:`qgenflow.tune.sampler.select_trial`): the lowest validation
    score wins, the earliest trial on ties; a non-finite score is a failed trial.

    Root attributes: ``tuned_params`` (the chosen setting), ``best_trial``, ``best_score``,
    ``tuning_trials``, ``tuning_seconds`` (the trials' summed wall time), ``tuning_override``,
    ``tuning_study_trials``, ``tuning_trial_seconds`` (per trial), ``metric``, ``sampler``,
    ``model_name``, ``target_name``. Datasets, one entry per trial: ``scores`` and ``params/<dotted key>``.
    """
    trials = [read_artefact(path, kind="trial") for path in trial_paths]
    if len(trials) != int(spec["trials"]):
        raise ValueError(f"{len(trials)} trial files given for a budget of {spec['trials']} trials")
    for k, art in enumerate(trials):
        if int(art.attrs["trial"]) != k:
            raise ArtefactError(f"{art.path}: holds trial {art.attrs['trial']}, expected trial {k}")
    settings = [json.loads(art.attrs["setting"]) for art in trials]
    scores = [float(art["score"]) for art in trials]
    seconds = [float(art.attrs["seconds"]) for art in trials]
    best = select_trial(spec["search"], spec["sampler"], int(spec["seed"]), settings, scores)
    log.info("%s on %s: trial %d of %d chosen (%s %.6g): %s", model_name, target_name, best, len(trials),
             spec["metric"], scores[best], settings[best])
    datasets = {"scores": np.asarray(scores, dtype=np.float64)}
    datasets.update({f"params/{key}": _column([s[key] for s in settings]) for key in sorted(spec["search"])})
    attrs = {
        "tuned_params": settings[best],
        "best_trial": best,
        "best_score": scores[best],
        "tuning_trials": len(trials),
        "tuning_seconds": float(math.fsum(seconds)),
        "tuning_trial_seconds": seconds,
        "tuning_override": bool(spec["override"]),
        "tuning_study_trials": int(spec["study_trials"]),
        "metric": spec["metric"],
        "sampler": spec["sampler"],
        "steps_fraction": float(spec.get("steps_fraction", 1.0)),
        "model_name": model_name,
        "target_name": target_name,
    }
    seed = trials[0].seed if trials else None
    return write_artefact(
        output, "tuning", datasets, config=dict(spec), seed=seed, inputs=list(trial_paths), attrs=attrs
    )
