"""Summary tables: one CSV per target, one row per model, seeds aggregated.

Columns: ``model``, ``role``, ``n_seeds``, ``n_params``, ``train_seconds_mean``, ``data_access``
(what the model learned from: ``samples``, ``probabilities``, ``state``, ``none``), ``trials`` (tuning
trials run for the model; 0 untuned) and ``tuning_seconds`` (their summed wall time), then for each
metric ``<metric>_mean``, ``<metric>_std`` (sample standard deviation across seeds,
ddof=1; 0 for a single seed) and ``<metric>_stderr`` (mean bootstrap error across
seeds; empty for exact metrics). Missing values are empty cells.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..catalog import CLASSICAL_MODEL_KINDS, QUANTUM_MODEL_KINDS, REFERENCES
from ..io import Artefact

__all__ = [
    "MetricsRecord",
    "aggregate_metrics",
    "model_role",
    "metrics_record",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsRecord:
    """The metrics of one (target, model, seed) evaluation."""

    path: Path
    target: str
    model: str
    seed: int | None
    n_params: float
    train_seconds: float
    values: dict[str, float]
    stderrs: dict[str, float]
    sources: dict[str, str]
    model_kind: str = ""
    data_access: str = ""
    n_train_samples: int = 0
    n_samples: int = 0
    tuning_trials: int = 0
    tuning_seconds: float = 0.0
    tuning_override: bool = False
    tuning_study_trials: int = 0


# Metrics where a larger value is better; for every other metric smaller is better.
HIGHER_IS_BETTER = ("fidelity_exact", "valid_rate", "coverage", "unseen_valid_rate", "xeb", "particle_number_mass")


def model_role(kind: str) -> str:
    """``quantum``, ``classical`` or ``reference`` for a model kind."""
    if kind in QUANTUM_MODEL_KINDS:
        return "quantum"
    if kind in CLASSICAL_MODEL_KINDS:
        return "classical"
    if kind in REFERENCES:
        return "reference"
    return "other"


def metrics_record(art: Artefact, label: tuple[str, int] | None = None) -> MetricsRecord:
    """The record of one ``metrics.h5`` artefact; ``label = (model, seed)`` overrides the names stored in it."""
    values, stderrs, sources = {}, {}, {}
    for name, data in art.datasets.items():
        values[name] = float(np.asarray(data))
        attrs = art.dataset_attrs.get(name, {})
        stderrs[name] = float(attrs.get("stderr", math.nan))
        sources[name] = str(attrs.get("source", "samples"))
    model = str(art.attrs.get("model_name", art.attrs.get("model_kind", "model")))
    seed = art.seed
    if label is not None:
        model, seed = str(label[0]), int(label[1])
    return MetricsRecord(
        path=art.path,
        target=str(art.attrs.get("target_name", art.attrs.get("target_kind", "target"))),
        model=model,
        seed=seed,
        n_params=float(art.attrs.get("n_params", math.nan)),
        train_seconds=float(art.attrs.get("train_seconds", math.nan)),
        values=values,
        stderrs=stderrs,
        sources=sources,
        model_kind=str(art.attrs.get("model_kind", "")),
        data_access=str(art.attrs.get("data_access", "")),
        n_train_samples=int(art.attrs.get("n_train_samples", 0)),
        n_samples=int(art.attrs.get("n_samples_model", 0)),
        tuning_trials=int(art.attrs.get("tuning_trials", 0)),
        tuning_seconds=float(art.attrs.get("tuning_seconds", 0.0)),
        tuning_override=bool(art.attrs.get("tuning_override", False)),
        tuning_study_trials=int(art.attrs.get("tuning_study_trials", 0)),
    )


def _mean(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def _std(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan
    return 0.0 if len(values) == 1 else float(np.std(values, ddof=1))


def _data_access(model: str, group: Sequence[MetricsRecord]) -> str:
    """What a model learned from, one value for all its seeds (mixed values are joined, with a warning)."""
    values = sorted({r.data_access for r in group if r.data_access})
    if len(values) > 1:
        log.warning("model '%s' learned from different data across seeds: %s", model, ", ".join(values))
    return "/".join(values)


def aggregate_metrics(records: Sequence[MetricsRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    """Aggregate records over seeds, one row per model in order of first appearance.

    Returns:
        ``(columns, rows)``; each row maps a column to a value (NaN for missing).

    Raises:
        ValueError: the records span several targets, or repeat a (model, seed) pair.
    """
    targets = sorted({r.target for r in records})
    if len(targets) > 1:
        raise ValueError(f"a table covers one target; these metrics span {', '.join(targets)}")
    by_model: dict[str, list[MetricsRecord]] = {}
    metric_names: list[str] = []
    for record in records:
        group = by_model.setdefault(record.model, [])
        if any(r.seed == record.seed for r in group):
            raise ValueError(f"{record.path}: model '{record.model}' seed {record.seed} appears twice")
        group.append(record)
        metric_names.extend(m for m in record.values if m not in metric_names)
    columns = ["model", "role", "n_seeds", "n_params", "train_seconds_mean", "data_access", "trials", "tuning_seconds"]
    for metric in metric_names:
        columns += [f"{metric}_mean", f"{metric}_std", f"{metric}_stderr"]
    rows = []
    for model, group in by_model.items():
        n_params = {r.n_params for r in group if not math.isnan(r.n_params)}
        if len(n_params) > 1:
            log.warning("model '%s' has different n_params across seeds: %s", model, sorted(n_params))
        row: dict[str, Any] = {
            "model": model,
            "role": model_role(group[0].model_kind),
            "n_seeds": len(group),
            "n_params": _mean([r.n_params for r in group]),
            "train_seconds_mean": _mean([r.train_seconds for r in group]),
            "data_access": _data_access(model, group),
            "trials": max(r.tuning_trials for r in group),
            "tuning_seconds": _mean([r.tuning_seconds for r in group]),
        }
        for metric in metric_names:
            present = [r for r in group if metric in r.values]
            values = [r.values[metric] for r in present]
            row[f"{metric}_mean"] = _mean(values)
            row[f"{metric}_std"] = _std(values)
            sample_based = [r.stderrs[metric] for r in present if r.sources[metric] != "exact"]
            row[f"{metric}_stderr"] = _mean(sample_based)
        rows.append(row)
    return columns, rows


def format_cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)
