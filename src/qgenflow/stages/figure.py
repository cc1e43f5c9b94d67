"""The figure stage: read one figure's input artefacts and draw it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io import read_artefact
from ..plots.figures import plot_figure

__all__ = ["draw_figure"]


def draw_figure(
    figure: str,
    outputs: Sequence[str | Path],
    *,
    target: str | Path | None = None,
    models: Sequence[str | Path] = (),
    labels: Sequence[str] = (),
    metrics: Sequence[str | Path] = (),
    audit: str | Path | None = None,
    tuning: Sequence[str | Path] = (),
    trainability: str | Path | None = None,
    deploy: Sequence[str | Path] = (),
    options: Mapping[str, Any] | None = None,
) -> None:
    """Draw ``figure`` from the artefacts at the given paths into every path of ``outputs``.

    Args:
        figure: one of :data:`qgenflow.catalog.FIGURES`.
        outputs: figure paths; each suffix (pdf, png, svg) picks a format.
        target: the ``target.h5`` (figures about one target).
        models: ``model.h5`` files, with ``labels`` (one model name per file).
        metrics: ``metrics.h5`` files (metric and scaling figures).
        audit: the target's ``audit.h5`` (the audit figure).
        tuning: the ``tuning.h5`` of every tuned model of the target (the tuning figure).
        trainability: the target's ``trainability.h5`` (the trainability figure).
        deploy: every ``deploy.h5`` of the target (the deploy figure).
        options: ``title``, ``colours``, ``dpi`` and per-figure settings
            (``max_bitstrings``, ``metrics``, ``families``).

    Raises:
        ValueError: ``figure`` is not in the registry.
        ArtefactError: an input is missing, unreadable or of the wrong kind.
    """
    plot_figure(
        figure,
        outputs,
        target=None if target is None else read_artefact(target, kind="target"),
        models=[read_artefact(path, kind="model") for path in models],
        labels=labels,
        metrics=[read_artefact(path, kind="metrics") for path in metrics],
        audit=None if audit is None else read_artefact(audit, kind="audit"),
        tuning=[read_artefact(path, kind="tuning") for path in tuning],
        trainability=None if trainability is None else read_artefact(trainability, kind="trainability"),
        deploy=[read_artefact(path, kind="deploy") for path in deploy],
        options=options,
    )
