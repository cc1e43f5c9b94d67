"""The deploy figure: deployed circuit models, metric against the shot budget and ideal against noisy.

From the ``deploy.h5`` of every deployed model and device of a target: left, the deploy
metric of the device samples against the shot budget (log scale), one line per model
(its colour) and device (its marker and line style), bootstrap error bars, and each
model's own value from its simulated samples as a dotted line (for ``tv_model``, the
total variation that ideal sampling of the same size gives, dotted, instead); right, at
the largest budget, one bar per device for each model, noiseless devices first, the
model's own value as a dotted mark.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import Artefact
from ..metrics.deployed import metric_series
from .style import DOUBLE_COLUMN_IN, HEIGHT_IN, check_outputs, new_figure, paper_style, save_figure, series_colours

__all__ = ["DEFAULT_DEPLOY_METRIC", "plot_deploy"]

#: The metric drawn when the figure's options name none (the schema's ``deploy.metric`` default).
DEFAULT_DEPLOY_METRIC = "mmd2_samples"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_LINES = ("-", "--", ":", "-.")


def _noisy(art: Artefact) -> bool:
    noise = art.attrs.get("noise_model") or {}
    return bool(json.loads(noise) if isinstance(noise, str) else noise)


def _by_model(deploys: Sequence[Artefact]) -> tuple[dict[str, list[Artefact]], list[str]]:
    """Deploy artefacts grouped by model (input order), and the device labels, noiseless first."""
    models: dict[str, list[Artefact]] = {}
    devices: dict[str, bool] = {}
    for art in deploys:
        models.setdefault(str(art.attrs["model_name"]), []).append(art)
        devices[str(art.attrs["device_label"])] = _noisy(art)
    return models, sorted(devices, key=lambda label: (devices[label], list(devices).index(label)))


def _shots_panel(ax, models, devices, metric, palette) -> None:
    for model, arts in models.items():
        for art in arts:
            j = devices.index(str(art.attrs["device_label"]))
            shots = np.asarray(art["shots"])
            values, errors, _ = metric_series(art, metric)
            ax.errorbar(shots, values, yerr=np.nan_to_num(errors), color=palette[model], marker=_MARKERS[j % len(_MARKERS)],
                        ls=_LINES[j % len(_LINES)], ms=3, lw=1.0, capsize=1.5, label=f"{model} on {devices[j]}")
        ax.plot(shots, metric_series(arts[0], metric)[2], color=palette[model], ls=":", lw=0.8,
                label=f"{model}: {'ideal sampling' if metric == 'tv_model' else 'simulated'}")
    ax.set_xscale("log")
    ax.set_xlabel("shots")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against the shot budget")
    ax.legend(fontsize=5)


def _device_panel(ax, models, devices, metric, palette) -> None:
    width = 0.8 / max(len(devices), 1)
    largest, ticks, names = 0, [], []
    for i, (model, arts) in enumerate(models.items()):
        for art in arts:
            j = devices.index(str(art.attrs["device_label"]))
            values, errors, _ = metric_series(art, metric)
            largest = max(largest, int(np.asarray(art["shots"])[-1]))
            x = i - 0.4 + width * (j + 0.5)
            ax.bar(x, values[-1], width * 0.9, color=palette[model], alpha=1.0 if not _noisy(art) else 0.55,
                   hatch=None if not _noisy(art) else "//", edgecolor="black", linewidth=0.4)
            if np.isfinite(errors[-1]):
                ax.errorbar(x, values[-1], yerr=errors[-1], color="black", lw=0.8, capsize=1.5)
            ticks.append(x)
            names.append(f"{model}\n{devices[j]}")
        ax.hlines(metric_series(arts[0], metric)[2][-1], i - 0.45, i + 0.45, colors="black", linestyles=":", lw=0.9)
    ax.set_xticks(ticks, names, fontsize=5)
    ax.set_ylabel(metric)
    ax.set_title(f"ideal (solid), noisy (hatched): {largest} shots")


def plot_deploy(
    deploys: Sequence[Artefact],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
    metric: str = DEFAULT_DEPLOY_METRIC,
) -> None:
    """The deploy metric against the shot budget, and ideal against noisy devices, of a target's deployed models."""
    check_outputs(outputs)
    if not deploys:
        raise ValueError("the deploy figure needs at least one deploy.h5")
    models, devices = _by_model(deploys)
    palette = series_colours(list(models), colours)
    with paper_style():
        fig = new_figure(DOUBLE_COLUMN_IN, HEIGHT_IN * 1.2)
        left, right = fig.subplots(1, 2)
        _shots_panel(left, models, devices, metric, palette)
        _device_panel(right, models, devices, metric, palette)
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)
