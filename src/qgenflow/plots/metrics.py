"""Metric figures: every model against the target, and metrics against a swept size.

Both read ``metrics.h5`` artefacts. A model's value is the mean over its seeds; its
error bar is the standard deviation over seeds (ddof=1), or the bootstrap standard
error when there is one seed. Reference rows (``data``: training samples on test, ``uniform`` bits)
are drawn as horizontal lines: ``data`` is the value a perfect model would score at
this sample budget.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from ..io import Artefact
from ..metrics.tables import HIGHER_IS_BETTER, MetricsRecord, metrics_record, model_role
from .style import (
    ROLE_MARKERS,
    DOUBLE_COLUMN_IN,
    HEIGHT_IN,
    REFERENCE_STYLES,
    SINGLE_COLUMN_IN,
    check_outputs,
    new_figure,
    paper_style,
    save_figure,
    series_colours,
)

__all__ = [
    "DEFAULT_METRICS",
    "METRIC_LABELS",
    "MetricSummary",
    "summarise",
    "plot_metrics",
    "plot_scaling",
]

logger = logging.getLogger(__name__)

#: Metrics drawn when a figure is not told which; those a target lacks are skipped.
DEFAULT_METRICS = (
    "mmd2_samples",
    "tv_samples",
    "kl_samples",
    "valid_rate",
    "fidelity_exact",
    "xeb",
    "zz_error",
    "energy_relative_error",
)
METRIC_LABELS = {
    "mmd2_samples": "MMD² (samples)",
    "mmd2_exact": "MMD² (exact)",
    "tv_samples": "total variation (samples)",
    "tv_exact": "total variation (exact)",
    "kl_samples": "KL(target‖model), samples",
    "kl_exact": "KL(target‖model), exact",
    "valid_rate": "valid rate",
    "fidelity_exact": "classical fidelity",
    "xeb": "linear XEB",
    "coverage": "coverage of support",
    "zz_error": "ZZ correlation error",
    "energy_relative_error": "relative energy error",
    "structure_factor_error": "S(π,π) error",
    "particle_number_mass": "mass in the particle-number sector",
}
# Metrics spanning orders of magnitude are drawn on a log (or symlog) axis.
_LOG_PREFIXES = ("mmd2", "kl", "tv", "zz_error", "energy_relative_error", "structure_factor_error")
_MARKERS = ROLE_MARKERS
_SEED_ALPHA = 0.45


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one model (or reference) over seeds.

    Attributes:
        values: per-seed values (NaN where a seed lacks the metric).
        mean: mean over seeds with a value.
        error: standard deviation over seeds (ddof=1), or the bootstrap error of a single seed.
    """

    values: np.ndarray
    mean: float
    error: float


def summarise(records: Sequence[MetricsRecord], metric: str) -> MetricSummary | None:
    """Mean and error of ``metric`` over ``records`` (one model's seeds); None when absent."""
    values = np.array([r.values.get(metric, math.nan) for r in records], dtype=np.float64)
    ok = np.isfinite(values)
    if not ok.any():
        return None
    if ok.sum() > 1:
        error = float(np.std(values[ok], ddof=1))
    else:
        error = float(next(r.stderrs.get(metric, math.nan) for r, good in zip(records, ok) if good))
    return MetricSummary(values=values, mean=float(values[ok].mean()), error=0.0 if math.isnan(error) else error)


def _group(records: Sequence[MetricsRecord]) -> dict[str, list[MetricsRecord]]:
    groups: dict[str, list[MetricsRecord]] = {}
    for record in records:
        groups.setdefault(record.model, []).append(record)
    return groups


def _chosen_metrics(groups: Mapping[str, Sequence[MetricsRecord]], metrics: Sequence[str]) -> list[str]:
    present = [m for m in metrics if any(summarise(rs, m) for rs in groups.values())]
    if not present:
        available = sorted({m for rs in groups.values() for r in rs for m in r.values})
        raise ValueError(
            f"none of the metrics {', '.join(metrics)} is in these artefacts; available: {', '.join(available)}"
        )
    return present


def _constant(groups: Sequence[Sequence[MetricsRecord]], metric: str) -> bool:
    """Whether every record that has ``metric`` gives it the same value (e.g. a valid rate of 1 everywhere)."""
    values = [r.values[metric] for rs in groups for r in rs if metric in r.values and np.isfinite(r.values[metric])]
    return len(values) > 1 and max(values) == min(values)


def _log_floor(metric: str, values: Sequence[float]) -> float | None:
    """None for a linear axis; else the bottom of a log axis for a metric spanning decades.

    Unbiased estimates (MMD²) can be zero or negative for a model at the noise floor;
    such values are drawn at the bottom of the axis with a downward marker.
    """
    finite = np.asarray([v for v in values if np.isfinite(v)])
    if not metric.startswith(_LOG_PREFIXES) or not (finite > 0).any():
        return None
    return float(finite[finite > 0].min()) / 3


def _fix_log_limits(ax: Axes, floor: float | None, values: Sequence[float]) -> None:
    """Log axes span from the floor to a little above the largest value."""
    finite = [v for v in values if np.isfinite(v)]
    if floor is not None and finite:
        ax.set_ylim(floor / 1.6, max(max(finite), floor) * 2.5)


def _draw_point(ax: Axes, x: float, s: MetricSummary, marker: str, colour: str, floor: float | None) -> None:
    """Seeds (faint, jittered) and the mean with its error bar; on a log axis values <= floor sit on it."""
    if floor is not None:
        ax.set_yscale("log")
    jitter = np.linspace(-0.18, 0.18, len(s.values)) if len(s.values) > 1 else np.zeros(1)
    values = s.values if floor is None else np.maximum(s.values, floor)
    ax.scatter(x + jitter, values, s=5, color=colour, alpha=_SEED_ALPHA, lw=0, marker=marker)
    if floor is not None and s.mean <= floor:
        ax.plot(x, floor, marker="v", ms=4, color=colour, fillstyle="none", clip_on=False)
        return
    low = s.mean - s.error if floor is None else max(s.mean - s.error, floor)
    ax.errorbar(x, s.mean, yerr=[[s.mean - low], [s.error]], fmt=marker, ms=3.5, color=colour, elinewidth=0.8)


def _reference_line(ax: Axes, value: float, style: Mapping[str, str], floor: float | None) -> None:
    """A horizontal reference line; on a log axis a value <= floor is drawn on the floor, marked."""
    if floor is not None:
        ax.set_yscale("log")
        if value <= floor:
            ax.axhline(floor, lw=0.8, **style)
            ax.annotate("≤ 0" if value <= 0 else "below", (1.0, floor), xycoords=("axes fraction", "data"),
                        xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom", fontsize=5.5,
                        color=style["color"])
            return
    ax.axhline(value, lw=0.8, **style)


def _label(metric: str) -> str:
    arrow = "↑" if metric in HIGHER_IS_BETTER else "↓"
    return f"{METRIC_LABELS.get(metric, metric)} {arrow}"


def plot_metrics(
    evaluations: Sequence[Artefact],
    outputs: Sequence[str | Path],
    metrics: Sequence[str] = DEFAULT_METRICS,
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """One panel per metric: each model's seeds (faint) and mean with error bar; references as lines.

    Args:
        evaluations: ``metrics.h5`` artefacts of every model and seed on one target, references included.
        outputs: figure paths; the suffix picks the format.
        metrics: metric names to draw, in order; those no model has are skipped.
        title: optional figure title, e.g. the target name.
        colours: colour of each model (default: the style's cycle).
        dpi: raster resolution of PNG output.
    """
    check_outputs(outputs)
    records = [metrics_record(art) for art in evaluations]
    groups = _group(records)
    models = {m: rs for m, rs in groups.items() if model_role(rs[0].model_kind) != "reference"}
    references = {rs[0].model_kind: rs for rs in groups.values() if model_role(rs[0].model_kind) == "reference"}
    if not models:
        raise ValueError("no model metrics given; only references")
    chosen = _chosen_metrics(models, metrics)
    varying = [m for m in chosen if not _constant(list(models.values()) + list(references.values()), m)]
    if varying != chosen:
        logger.info("left out metrics equal for every model and reference: %s", sorted(set(chosen) - set(varying)))
    chosen = varying or chosen[:1]
    palette = series_colours(list(models), colours)
    ncols = len(chosen) if len(chosen) <= 2 else 3 if len(chosen) in (3, 5, 6) else 4
    nrows = math.ceil(len(chosen) / ncols)
    width = DOUBLE_COLUMN_IN if ncols > 2 else SINGLE_COLUMN_IN
    x = np.arange(len(models))

    with paper_style():
        fig = new_figure(width, 0.35 + nrows * (1.35 + 0.06 * max(len(m) for m in models)))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, metric in zip(axes, chosen):
            summaries = {m: summarise(rs, metric) for m, rs in models.items()}
            ref_values = {k: s.mean for k, rs in references.items() if (s := summarise(rs, metric)) is not None}
            shown = [v for s in summaries.values() if s is not None for v in (*s.values, s.mean)]
            floor = _log_floor(metric, shown + list(ref_values.values()))
            for i, (model, s) in enumerate(summaries.items()):
                if s is None:
                    continue
                marker = _MARKERS.get(model_role(models[model][0].model_kind), "D")
                _draw_point(ax, i, s, marker, palette[model], floor)
            for kind, value in ref_values.items():
                style = REFERENCE_STYLES.get(kind, {"color": "0.5", "linestyle": "-.", "label": kind})
                _reference_line(ax, value, style, floor)
            _fix_log_limits(ax, floor, shown + list(ref_values.values()))
            if floor is None:
                ax.ticklabel_format(axis="y", useOffset=False)  # 0.99998, not 1e-5 + 9.9999e-1
            ax.set_title(_label(metric), fontsize=7)
            ax.set_xticks(x, list(models), rotation=60, ha="right", rotation_mode="anchor", fontsize=6)
            ax.set_xlim(-0.6, len(models) - 0.4)
        for ax in axes[len(chosen):]:
            ax.set_visible(False)
        handles, names = [], []
        for h, n in zip(*axes[0].get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
        if handles:
            fig.legend(handles, names, loc="outside lower center", ncols=len(handles))
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)


def plot_scaling(
    evaluations: Sequence[Artefact],
    outputs: Sequence[str | Path],
    x: str,
    lines: Mapping[str, Sequence[str]] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    max_panels: int = 4,
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Metrics against a swept size: qubit count (across targets) or parameter count (across models).

    Args:
        evaluations: ``metrics.h5`` artefacts of every (target, model, seed) point; references are ignored.
        outputs: figure paths.
        x: ``"n_qubits"`` (one line per model, one point per target) or ``"n_params"``
            (one point per model; models named together in ``lines`` are joined).
        lines: for ``x="n_params"``, sweep families to join, ``{family: [model, ...]}``.
        metrics: candidates, in order; the first ``max_panels`` present are drawn.
        title, colours, dpi: as for :func:`plot_metrics`.
    """
    if x not in ("n_qubits", "n_params"):
        raise ValueError(f"x must be 'n_qubits' or 'n_params', got {x!r}")
    check_outputs(outputs)
    points, sizes = _scaling_points(evaluations, x)
    chosen = _chosen_metrics({f"{m}/{t}": rs for (m, t), rs in points.items()}, metrics)
    chosen = [m for m in chosen if not _constant(list(points.values()), m)][:max_panels] or chosen[:1]
    models = list(dict.fromkeys(m for m, _ in points))
    palette = series_colours(models, colours)
    if x == "n_qubits":
        series = {m: [k for k in points if k[0] == m] for m in models}
    else:
        series = {name: [k for k in points if k[0] in members] for name, members in (lines or {}).items()}
    ncols = min(len(chosen), 2)
    nrows = math.ceil(len(chosen) / ncols)

    with paper_style():
        fig = new_figure(SINGLE_COLUMN_IN if ncols == 1 else DOUBLE_COLUMN_IN * 0.75, 0.5 + nrows * HEIGHT_IN * 0.75)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, metric in zip(axes, chosen):
            _draw_scaling_panel(ax, metric, x, points, sizes, series, palette)
        for ax in axes[len(chosen):]:
            ax.set_visible(False)
        roles = {m: model_role(rs[0].model_kind) for (m, _), rs in points.items()}
        handles = [
            Line2D([], [], color=palette[m], marker=_MARKERS.get(roles[m], "D"), ms=3.5,
                   ls="-" if x == "n_qubits" else "none", lw=0.8)
            for m in models
        ]
        fig.legend(handles, models, loc="outside lower center", ncols=min(len(models), 5))
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)


def _scaling_points(
    evaluations: Sequence[Artefact], x: str
) -> tuple[dict[tuple[str, str], list[MetricsRecord]], dict[tuple[str, str], float]]:
    """The model records by (model, target), and each point's size on the ``x`` axis; references left out."""
    points: dict[tuple[str, str], list[MetricsRecord]] = {}
    sizes: dict[tuple[str, str], float] = {}
    for art in evaluations:
        record = metrics_record(art)
        if model_role(record.model_kind) == "reference":
            continue
        key = (record.model, record.target)
        points.setdefault(key, []).append(record)
        sizes[key] = float(art.attrs["n_qubits"]) if x == "n_qubits" else record.n_params
    if not points:
        raise ValueError("no model metrics given")
    return points, sizes


def _draw_scaling_panel(
    ax: Axes,
    metric: str,
    x: str,
    points: Mapping[tuple[str, str], Sequence[MetricsRecord]],
    sizes: Mapping[tuple[str, str], float],
    series: Mapping[str, Sequence[tuple[str, str]]],
    palette: Mapping[str, str],
) -> None:
    """One metric of a scaling figure: a line per series, a point with error bar per (model, target)."""
    summaries = {key: summarise(rs, metric) for key, rs in points.items()}
    floor = _log_floor(metric, [s.mean for s in summaries.values() if s is not None])
    for keys in series.values():
        xy = sorted(
            (sizes[k], s.mean if floor is None else max(s.mean, floor))
            for k in keys
            if (s := summarise(points[k], metric)) is not None
        )
        if len(xy) > 1:
            colour = palette[keys[0][0]] if x == "n_qubits" else "0.6"
            ax.plot(*zip(*xy), color=colour, lw=0.8, zorder=1)
    for key, s in summaries.items():
        if s is None:
            continue
        marker = _MARKERS.get(model_role(points[key][0].model_kind), "D")
        if floor is not None:
            ax.set_yscale("log")
        if floor is not None and s.mean <= floor:
            ax.plot(sizes[key], floor, marker="v", ms=4, color=palette[key[0]], fillstyle="none",
                    label=key[0], clip_on=False)
            continue
        low = s.mean - s.error if floor is None else max(s.mean - s.error, floor)
        ax.errorbar(
            sizes[key], s.mean, yerr=[[s.mean - low], [s.error]], fmt=marker, ms=3.5,
            color=palette[key[0]], elinewidth=0.8, label=key[0], zorder=2,
        )
    _fix_log_limits(ax, floor, [v for s in summaries.values() if s is not None for v in (s.mean, s.mean + s.error)])
    if floor is None:
        ax.ticklabel_format(axis="y", useOffset=False)
    if x == "n_params" and all(v > 0 for v in sizes.values()):
        ax.set_xscale("log")
    ax.set_xlabel("qubits" if x == "n_qubits" else "trainable parameters")
    ax.set_title(_label(metric), fontsize=7)
