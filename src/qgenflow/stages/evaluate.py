"""The evaluation stage: read a target and a model (or a reference row), evaluate, write metrics.h5."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..catalog import REFERENCES
from ..io import read_artefact, write_artefact
from ..metrics.evaluate import SELECTION_METRIC, TEST_SPLIT, evaluate, reference_model, selection_score
from ..schema import with_defaults

__all__ = ["run_evaluation"]

log = logging.getLogger(__name__)

#: Model and target attributes copied into metrics.h5, so tables need no other file.
_MODEL_ATTRS = (
    "model_kind", "n_params", "train_seconds", "seconds_per_step", "data_access", "n_train_samples",
    "tuning_trials", "tuning_seconds", "tuning_override", "tuning_study_trials",
)
_TARGET_ATTRS = ("target_kind",)


def run_evaluation(
    target_path: str | Path,
    model_path: str | Path,
    spec: Mapping[str, Any],
    seed: int,
    output: str | Path,
    *,
    model_name: str | None = None,
    target_name: str | None = None,
) -> Path:
    """Read a target and a model artefact, evaluate, and write ``metrics.h5``.

    ``model_path`` may also name a reference row of :data:`~qgenflow.catalog.REFERENCES`
    (see :func:`reference_model`).

    Each metric is a scalar float64 dataset with ``stderr`` and ``source`` attributes.
    Root attributes: ``n_qubits``, ``model_name``, ``target_name`` (default: the
    artefacts' own name attributes, else their kinds), the number of samples used
    per side (``n_samples_target`` counts the target's test split), and the model's ``model_kind``, ``n_params``, ``train_seconds``,
    ``seconds_per_step``, ``data_access`` (what it learned from), ``n_train_samples``, its tuning
    (``tuning_trials``, ``tuning_seconds``, ``tuning_override``, ``tuning_study_trials``) and the target's
    ``target_kind`` when present.

    Returns:
        The path written.
    """
    complete = with_defaults("evaluation", spec)  # metrics.h5 records the job's own slice, as given
    target = read_artefact(target_path, kind="target")
    if str(model_path) in REFERENCES:
        model = reference_model(target, str(model_path), seed)
        inputs = [target_path]
    else:
        model = read_artefact(model_path, kind="model")
        inputs = [target_path, model_path]
    metrics = evaluate(target, model, complete, seed)
    selection = selection_score(target, model, complete)
    if selection is not None:
        metrics[SELECTION_METRIC] = selection
    attrs: dict[str, Any] = {"n_qubits": int(target.attrs["n_qubits"])}
    for key in _MODEL_ATTRS:
        if key in model.attrs:
            attrs[key] = model.attrs[key]
    for key in _TARGET_ATTRS:
        if key in target.attrs:
            attrs[key] = target.attrs[key]
    attrs["model_name"] = str(
        model_name or model.attrs.get("model_name") or model.attrs.get("model_kind", "model")
    )
    attrs["target_name"] = str(
        target_name or target.attrs.get("target_name") or target.attrs.get("target_kind", "target")
    )
    n_samples = complete["n_samples"]
    for side, art, name in (("model", model, "samples"), ("target", target, TEST_SPLIT)):
        if name not in art:
            continue
        available = int(np.shape(art[name])[0])
        attrs[f"n_samples_{side}"] = available if n_samples is None else min(int(n_samples), available)
    path = write_artefact(
        output,
        "metrics",
        datasets={name: np.float64(m["value"]) for name, m in metrics.items()},
        dataset_attrs={name: {"stderr": m["stderr"], "source": m["source"]} for name, m in metrics.items()},
        config=dict(spec),
        seed=seed,
        inputs=inputs,
        attrs=attrs,
    )
    log.info("wrote %d metrics to %s", len(metrics), path)
    return path
