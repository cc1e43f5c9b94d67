"""One drawing entry point for every figure the workflow draws: :func:`plot_figure`.

The figure stage (:func:`qgenflow.stages.figure.draw_figure`) reads a figure's input
artefacts and hands them here with its options; the figure's entry in
:data:`qgenflow.catalog.FIGURES` says which drawing function gets which of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..catalog import FIGURES, Figure
from ..io import Artefact
from .audit import plot_audit
from .deploy import DEFAULT_DEPLOY_METRIC, plot_deploy
from .correlations import plot_correlation_function, plot_correlation_maps
from .distribution import DEFAULT_MAX_BITSTRINGS, plot_distribution
from .metrics import DEFAULT_METRICS, plot_metrics, plot_scaling
from .porter_thomas import plot_porter_thomas
from .qgan import plot_qgan_dynamics
from .trainability import plot_trainability
from .training import plot_training
from .tuning import plot_tuning

__all__ = ["FIGURES", "PLOTTERS", "plot_figure"]

#: The drawing functions, by the name a registry entry gives as its ``draw``.
PLOTTERS: dict[str, Callable[..., None]] = {
    plot.__name__: plot
    for plot in (
        plot_training,
        plot_distribution,
        plot_correlation_maps,
        plot_correlation_function,
        plot_porter_thomas,
        plot_qgan_dynamics,
        plot_metrics,
        plot_scaling,
        plot_audit,
        plot_tuning,
        plot_trainability,
        plot_deploy,
    )
}


def _option_keywords(figure: Figure, opts: Mapping[str, Any]) -> dict[str, Any]:
    """The drawing function's keywords for the figure's own options (defaults where absent)."""
    keywords: dict[str, Any] = {}
    if "max_bitstrings" in figure.options:
        keywords["max_bitstrings"] = int(opts.get("max_bitstrings", DEFAULT_MAX_BITSTRINGS))
    if "families" in figure.options:
        keywords["lines"] = opts.get("families")
    if "metrics" in figure.options:
        keywords["metrics"] = opts.get("metrics") or DEFAULT_METRICS
    if "deploy_metric" in figure.options:
        keywords["metric"] = opts.get("deploy_metric") or DEFAULT_DEPLOY_METRIC
    return keywords


def plot_figure(
    figure: str,
    outputs: Sequence[str | Path],
    *,
    target: Artefact | None = None,
    models: Sequence[Artefact] = (),
    labels: Sequence[str] = (),
    metrics: Sequence[Artefact] = (),
    audit: Artefact | None = None,
    tuning: Sequence[Artefact] = (),
    trainability: Artefact | None = None,
    deploy: Sequence[Artefact] = (),
    options: Mapping[str, Any] | None = None,
) -> None:
    """Draw ``figure`` from its input artefacts into every path of ``outputs``.

    Args:
        figure: one of :data:`qgenflow.catalog.FIGURES`.
        outputs: figure paths; each suffix (pdf, png, svg) picks a format.
        target: the ``target.h5`` artefact (figures about one target).
        models: ``model.h5`` artefacts, with ``labels`` (one model name per artefact).
        metrics: ``metrics.h5`` artefacts (metric and scaling figures).
        audit: the target's ``audit.h5`` artefact (the audit figure).
        tuning: the ``tuning.h5`` artefacts of the target's tuned models (the tuning figure).
        trainability: the target's ``trainability.h5`` artefact (the trainability figure).
        deploy: the target's ``deploy.h5`` artefacts (the deploy figure).
        options: ``title``, ``colours``, ``dpi`` and per-figure settings
            (``max_bitstrings``, ``metrics``, ``families``).
    """
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; allowed: {', '.join(FIGURES)}")
    spec = FIGURES[figure]
    opts = dict(options or {})
    args: list[Any] = []
    if spec.target:
        args.append(target)
    if spec.models:
        args += [list(models), list(labels)]
    if spec.metrics:
        args.append(list(metrics))
    if spec.audit:
        args.append(audit)
    if spec.tuning:
        args.append(list(tuning))
    if spec.trainability:
        args.append(trainability)
    if spec.deploy:
        args.append(list(deploy))
    args.append(outputs)
    if spec.x is not None:
        args.append(spec.x)
    keywords = _option_keywords(spec, opts)
    if spec.colours:
        keywords["colours"] = opts.get("colours")
    PLOTTERS[spec.draw](*args, title=opts.get("title"), dpi=opts.get("dpi"), **keywords)
