"""The table stage: one target's metrics.h5 files into a seed-aggregated CSV and its verdict."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..files import atomic_path, write_text_atomic
from ..io import read_artefact
from ..metrics.tables import format_cell, aggregate_metrics, metrics_record
from ..metrics.verdict import decide, format_verdict
from ..schema import with_defaults
from ..provenance import STUDY_LINE

__all__ = ["write_table"]

log = logging.getLogger(__name__)


def write_table(
    metrics_paths: Sequence[str | Path],
    output_csv: str | Path,
    *,
    labels: Sequence[tuple[str, int]] | None = None,
    verdict_path: str | Path | None = None,
    verdict_spec: Mapping[str, Any] | None = None,
    study: str | None = None,
) -> Path:
    """Write the seed-aggregated table of one target's ``metrics.h5`` files as CSV, atomically.

    Args:
        metrics_paths: ``metrics.h5`` files of one target (any models and seeds).
        output_csv: destination; parent folders are created.
        labels: optional ``(model, seed)`` per path, overriding the ``model_name``
            attribute and seed stored in each file.
        verdict_path: where to write the verdict text, if anywhere.
        verdict_spec: the config's ``verdict`` section (primary metric, metrics, alpha;
            schema defaults for what it leaves out).
        study: the study's name, written as the verdict's first line (``study: NAME``),
            which the workflow reads to keep studies from replacing each other's results.

    Returns:
        The path written.
    """
    if labels is not None and len(labels) != len(metrics_paths):
        raise ValueError(f"{len(labels)} labels given for {len(metrics_paths)} metrics files")
    arts = [read_artefact(path, kind="metrics") for path in metrics_paths]
    records = [metrics_record(art, None if labels is None else labels[i]) for i, art in enumerate(arts)]
    columns, rows = aggregate_metrics(records)
    output = Path(output_csv)
    with atomic_path(output) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([format_cell(row[c]) for c in columns])
    log.info("wrote %d models x %d columns to %s", len(rows), len(columns), output)
    if verdict_path is not None:
        n_samples = None
        try:
            n_samples = int(arts[0].attrs.get("n_samples_model"))
        except (TypeError, ValueError):
            pass
        spec = with_defaults("verdict", verdict_spec or {})
        outcome = decide(records, spec["primary_metric"], spec["metrics"], float(spec["alpha"]))
        text = format_verdict(outcome, n_samples)
        if study is not None:
            text = f"{STUDY_LINE}{study}\n{text}"
        write_text_atomic(verdict_path, text)
        log.info("verdict for %s:\n%s", records[0].target if records else "?", text)
    return output
