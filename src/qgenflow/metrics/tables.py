"""Summary tables: one CSV per target, one row per model, seeds aggregated.

Columns: ``model``, ``role``, ``n_seeds``, ``n_params``, ``train_seconds_mean``, ``data_access``
(what the model learned from: ``samples``, ``probabilities``, ``state``, ``none``), then for each
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

from ..catalog import DATA_REFERENCE, REFERENCES
from ..io import Artefact

__all__ = [
    "MetricsRecord",
    "aggregate_metrics",
    "model_role",
    "metrics_record",
    "verdict",
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


QUANTUM_KINDS = ("qcbm", "qgan")
CLASSICAL_KINDS = ("product", "rbm", "autoregressive")
# Metrics where a larger value is better; for every other metric smaller is better.
HIGHER_IS_BETTER = ("fidelity_exact", "valid_rate", "coverage", "unseen_valid_rate", "xeb")


def model_role(kind: str) -> str:
    """``quantum``, ``classical`` or ``reference`` for a model kind."""
    if kind in QUANTUM_KINDS:
        return "quantum"
    if kind in CLASSICAL_KINDS:
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
    columns = ["model", "role", "n_seeds", "n_params", "train_seconds_mean", "data_access"]
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


def _uncertainty(row: dict[str, Any], metric: str) -> float:
    """Standard error of a row's mean: seed spread / sqrt(seeds), or the bootstrap error for one seed."""
    n = int(row["n_seeds"])
    std, stderr = row.get(f"{metric}_std", math.nan), row.get(f"{metric}_stderr", math.nan)
    if n > 1 and not math.isnan(std):
        spread = std / math.sqrt(n)
        return spread if math.isnan(stderr) else math.hypot(spread, stderr / math.sqrt(n))
    return 0.0 if math.isnan(stderr) else stderr


def verdict(rows: Sequence[dict[str, Any]], metric: str, n_samples: int | None = None) -> str:
    """The decision rule in words: best quantum vs best classical model on ``metric``.

    The difference counts as real when it exceeds twice the combined standard error
    (seed spread, and bootstrap error where sample-based); the ``data`` reference row
    gives the noise floor of the metric at this sample budget.
    """
    better_high = metric in HIGHER_IS_BETTER
    key = f"{metric}_mean"

    def best(role: str) -> dict[str, Any] | None:
        candidates = [r for r in rows if r["role"] == role and not math.isnan(r.get(key, math.nan))]
        if not candidates:
            return None
        return (max if better_high else min)(candidates, key=lambda r: r[key])

    direction = "higher" if better_high else "lower"
    budget = f"{n_samples} evaluation samples per side" if n_samples else "the configured sample budget"
    lines = [f"metric: {metric} ({direction} is better), at {budget}"]
    floor = next((r for r in rows if r["model"] == DATA_REFERENCE and not math.isnan(r.get(key, math.nan))), None)
    if floor is not None:
        lines.append(f"noise floor (training data on test): {floor[key]:.4g} +- {_uncertainty(floor, metric):.2g}")
    q, c = best("quantum"), best("classical")
    for label, row in (("best quantum", q), ("best classical", c)):
        if row is not None:
            lines.append(
                f"{label}: {row['model']} = {row[key]:.4g} +- {_uncertainty(row, metric):.2g} "
                f"({int(row['n_params']) if not math.isnan(row['n_params']) else '?'} parameters, {row['n_seeds']} seed(s))"
            )
    if q is None or c is None:
        lines.append("verdict: no comparison (the study needs at least one quantum and one classical model)")
        return "\n".join(lines) + "\n"
    diff = q[key] - c[key]
    err = math.hypot(_uncertainty(q, metric), _uncertainty(c, metric))
    quantum_better = diff > 0 if better_high else diff < 0
    winner, loser = (q, c) if quantum_better else (c, q)
    if abs(diff) > 2 * err:
        outcome = (
            f"verdict: {'quantum' if quantum_better else 'classical'} model {winner['model']} beats "
            f"{loser['model']} by {abs(diff):.3g}, more than twice the combined error ({err:.2g})"
        )
    else:
        outcome = (
            f"verdict: no significant difference between {q['model']} and {c['model']} "
            f"(|difference| {abs(diff):.3g} <= 2 x combined error {err:.2g})"
        )
    lines.append(outcome)
    return "\n".join(lines) + "\n"
