"""One entry point for every figure the workflow draws: :func:`draw_figure`.

The workflow's figure rules share one thin script; it hands its inputs and options
here, and the figure's name picks the drawing function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["FIGURES", "draw_figure"]

#: Figure names and what each draws.
FIGURES = {
    "training": "training curves of every model, median and min-max band over seeds",
    "distribution": "target and model probabilities of the target's most probable bitstrings",
    "correlations": "connected ZZ correlation maps (on the lattice, else the matrix) of target and models",
    "metrics": "every metric of every model with error bars, references as lines",
    "corr_r": "C(r), the ZZ correlation at distance r, of a spin target and its models",
    "porter_thomas": "histogram of 2^n p of an IQP target (and models) against exp(-x)",
    "qgan": "QGAN losses, discriminator accuracy and generator quality against the step",
    "scaling_params": "metrics against the parameter count of every model on a target",
    "scaling_qubits": "metrics against the qubit count across a sweep of targets",
}


def draw_figure(
    figure: str,
    outputs: Sequence[str | Path],
    *,
    target: str | Path | None = None,
    models: Sequence[str | Path] = (),
    labels: Sequence[str] = (),
    metrics: Sequence[str | Path] = (),
    options: Mapping[str, Any] | None = None,
) -> None:
    """Draw ``figure`` from its input artefacts into every path of ``outputs``.

    Args:
        figure: one of :data:`FIGURES`.
        outputs: figure paths; each suffix (pdf, png, svg) picks a format.
        target: the ``target.h5`` (figures about one target).
        models: ``model.h5`` files, with ``labels`` (one model name per file).
        metrics: ``metrics.h5`` files (metric and scaling figures).
        options: ``title``, ``colours``, ``dpi`` and per-figure settings
            (``max_bitstrings``, ``metrics``, ``families``).
    """
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; allowed: {', '.join(FIGURES)}")
    opts = dict(options or {})
    common = {"title": opts.get("title"), "dpi": opts.get("dpi")}
    colours = opts.get("colours")
    models, labels, metrics = list(models), list(labels), list(metrics)
    if figure == "training":
        from .training import plot_training

        plot_training(models, labels, outputs, colours=colours, **common)
    elif figure == "distribution":
        from .distribution import plot_distribution

        plot_distribution(
            target, models, labels, outputs, max_bitstrings=int(opts.get("max_bitstrings", 64)),
            colours=colours, **common,
        )
    elif figure == "correlations":
        from .correlations import plot_correlation_maps

        plot_correlation_maps(target, models, labels, outputs, **common)
    elif figure == "corr_r":
        from .correlations import plot_correlation_function

        plot_correlation_function(target, models, labels, outputs, colours=colours, **common)
    elif figure == "porter_thomas":
        from .porter_thomas import plot_porter_thomas

        plot_porter_thomas(target, models, labels, outputs, colours=colours, **common)
    elif figure == "qgan":
        from .qgan import plot_qgan_dynamics

        plot_qgan_dynamics(models, labels, outputs, colours=colours, **common)
    else:
        from .metrics import DEFAULT_METRICS, plot_metrics, plot_scaling

        chosen = opts.get("metrics") or DEFAULT_METRICS
        if figure == "metrics":
            plot_metrics(metrics, outputs, metrics=chosen, colours=colours, **common)
        elif figure == "scaling_params":
            plot_scaling(metrics, outputs, "n_params", lines=opts.get("families"), metrics=chosen,
                         colours=colours, **common)
        else:
            plot_scaling(metrics, outputs, "n_qubits", metrics=chosen, colours=colours, **common)
