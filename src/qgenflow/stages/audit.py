"""The audit stage: every trained quantum model of one target, audited for classical ease.

Writes ``audit.h5`` (per model and seed: entropies and bond dimensions per cut and the
scalar findings; the target's own state where it has one), the audit table as CSV, and
the decision rule in words.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_path, write_text_atomic
from ..io import Artefact, read_artefact, write_artefact
from ..metrics.advantage import AUDIT_COLUMNS, decision_rule, summarise
from ..metrics.audit import audit_model, state_profile
from ..metrics.deployed import metric_series
from ..metrics.tables import format_cell, metrics_record
from ..metrics.verdict import decide
from ..schema import with_defaults
from ..targets import target_kind

__all__ = ["run_audit"]

log = logging.getLogger(__name__)

#: Scalar findings of :func:`audit_model` stored per model and seed in audit.h5.
#: Wall time and memory are not among them: they differ between identical runs (the CSV has them).
_SCALARS = (
    "n_params", "statevector_bytes", "clifford", "anticoncentration", "entropy_half", "max_bond_dimension",
    "flip_mmd2_samples", "model_mmd2_samples", "truncation_error",
)


def _by_seed(paths: Sequence[str | Path]) -> dict[int, Artefact]:
    arts = [read_artefact(path, kind="target") for path in paths]
    return {int(art.seed or 0): art for art in arts}


def _datasets(label: str, seed: int, audit: Mapping[str, Any]) -> dict[str, np.ndarray]:
    prefix = f"models/{label}/seed{seed}"
    out = {f"{prefix}/{key}": np.asarray(audit[key]) for key in ("entropies", "bond_dimensions") if np.size(audit[key])}
    for key in _SCALARS:
        value = audit.get(key)
        if value is not None:
            out[f"{prefix}/{key}"] = np.float64(value)
    return out


def run_audit(
    targets: Sequence[str | Path],
    models: Sequence[str | Path],
    labels: Sequence[str],
    metrics: Sequence[str | Path],
    spec: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
    name: str | None = None,
    deploy: Sequence[str | Path] = (),
    deploy_metric: str = "mmd2_samples",
) -> Path:
    """Audit every quantum model of one target; write ``outputs["audit"]``, ``["table"]`` and ``["rule"]``.

    Args:
        targets: the target's ``target.h5`` of every seed.
        models: the ``model.h5`` of every quantum model and seed, with ``labels`` (model names).
        metrics: every ``metrics.h5`` of the target (for the verdict's primary-metric gap).
        spec: ``evaluation`` (bandwidths for the IQP analogue's score) and ``verdict`` config sections.
        outputs: paths of ``audit`` (audit.h5), ``table`` (CSV) and ``rule`` (the decision rule, text).
        name: the target's name in the study (default: the artefact's name or kind).
        deploy: every ``deploy.h5`` of the target; the table then gains, per model, ``deploy_metric``
            from its simulated samples (``<metric>_simulated``) and on each device at its largest
            shot budget (``<metric>_<device label>``), and that budget (``deploy_shots``).
    """
    evaluation, verdict_spec = with_defaults("evaluation", spec["evaluation"]), with_defaults("verdict", spec["verdict"])
    target_arts = _by_seed(targets)
    first = target_arts[min(target_arts)]
    datasets: dict[str, np.ndarray] = {}
    per_model: dict[str, list[dict[str, Any]]] = {}
    for label, path in zip(labels, models, strict=True):
        model = read_artefact(path, kind="model")
        seed = int(model.seed or 0)
        audit = audit_model(model, target_arts[seed], evaluation["sigmas"], n_samples=evaluation["n_samples"], seed=seed)
        audit["peak_memory_mb"] = float(model.attrs.get("peak_memory_mb", np.nan))
        per_model.setdefault(label, []).append(audit)
        datasets.update(_datasets(label, seed, audit))
    if first.get("state") is not None:
        profile = state_profile(np.asarray(first["state"]))
        datasets.update({f"target/{key}": np.asarray(value) for key, value in profile.items()})
    records = [metrics_record(read_artefact(path, kind="metrics")) for path in metrics]
    verdict = decide(records, verdict_spec["primary_metric"], verdict_spec["metrics"], float(verdict_spec["alpha"]))
    primary = next((c for c in verdict.comparisons if c.metric == verdict.primary), None)
    rival = primary.classical if primary is not None else None  # the classical model the verdict chose
    summaries = [summarise(m, audits, records, verdict.primary, rival) for m, audits in per_model.items()]
    columns = _add_deployed(summaries, deploy, deploy_metric)
    _write_table(outputs["table"], summaries, columns)
    name = name or str(first.attrs.get("target_name", first.attrs.get("target_kind", "target")))
    facts = {"kind": first.config["kind"], "quantum": target_kind(first.config).quantum,
             "sampling_class": target_kind(first.config).sampling_class}
    write_text_atomic(outputs["rule"], decision_rule(name, facts, summaries, verdict))
    attrs = {"n_qubits": int(first.attrs["n_qubits"]), "target_name": name, "models_json": list(per_model)}
    return write_artefact(outputs["audit"], "audit", datasets, config=dict(spec), seed=None,
                          inputs=[*targets, *models, *deploy], attrs=attrs)


def _add_deployed(summaries: list[dict[str, Any]], deploy: Sequence[str | Path], metric: str) -> list[str]:
    """Put the deployed metric of each model's deploy.h5 files into its row; the columns added, in order."""
    columns: dict[str, None] = {}
    rows = {summary["model"]: summary for summary in summaries}
    for path in deploy:
        art = read_artefact(path, kind="deploy")
        values, _, reference = metric_series(art, metric)
        row = rows.get(str(art.attrs["model_name"]))
        if row is None:
            continue
        label = f"{metric}_{art.attrs['device_label']}"
        row.update({f"{metric}_simulated": float(reference[-1]), label: float(values[-1]),
                    "deploy_shots": int(np.asarray(art["shots"])[-1])})
        columns.update(dict.fromkeys((f"{metric}_simulated", label, "deploy_shots")))
    for row in summaries:
        for column in columns:
            row.setdefault(column, float("nan"))
    return list(columns)


def _write_table(path: str | Path, summaries, extra: Sequence[str] = ()) -> None:
    header = [*AUDIT_COLUMNS, *extra]
    with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for summary in summaries:
            writer.writerow([format_cell(summary[c]) if not isinstance(summary[c], bool) else str(summary[c]).lower()
                             for c in header])
    log.info("wrote the audit of %d quantum models to %s", len(summaries), path)
