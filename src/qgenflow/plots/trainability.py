"""The trainability figure: gradient variance against qubit and layer count, and the loss's shot noise.

From ``trainability.h5``: one panel per QCBM with the variance over random
initialisations of its loss gradient, averaged over parameters, against the qubit count
(log scale), one line per layer count, its fitted decay rate (slope of log2 Var per
qubit) in the legend, and the variance of the first parameter as open markers (the
McClean et al. 2018 picture); and a last panel with the standard deviation of the
shot-estimated loss against the shot budget, with the 1/sqrt(shots) law for reference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np

from ..io import Artefact
from .style import DOUBLE_COLUMN_IN, HEIGHT_IN, check_outputs, new_figure, paper_style, save_figure, series_colours

__all__ = ["plot_trainability"]

#: Panels per row.
_COLUMNS = 3
#: A variance below this fraction of the panel's largest mean variance is round-off of an exactly zero gradient.
_ZERO_VARIANCE = 1e-12


def _json_attr(art: Artefact, key: str, default: Any) -> Any:
    value = art.attrs.get(key, default)
    return json.loads(value) if isinstance(value, str) else value


def _variance_panel(ax, art: Artefact, model: str, skipped: int, colour: str) -> None:
    prefix = f"models/{model}"
    qubits, layers = np.asarray(art[f"{prefix}/qubits"]), np.asarray(art[f"{prefix}/layers"])
    mean, first = np.asarray(art[f"{prefix}/var_mean"]), np.asarray(art[f"{prefix}/var_first"])
    slopes = np.atleast_1d(art.dataset_attrs.get(f"{prefix}/var_mean", {}).get("slope_log2", np.full(layers.size, np.nan)))
    shades = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, layers.size))
    # a first parameter that acts trivially (e.g. a Z rotation on |0>) has a zero gradient: round-off, not a point
    trivial = first <= _ZERO_VARIANCE * np.nanmax(mean)
    for j, depth in enumerate(layers):
        ax.plot(qubits, mean[:, j], color=shades[j], marker="o", ms=2.5, lw=1.0,
                label=f"L={depth}: slope {slopes[j]:.2f}")
        ax.plot(qubits, np.where(trivial[:, j], np.nan, first[:, j]), color=shades[j], marker="o", ms=2.5, lw=0,
                mfc="none", mew=0.6)
    note = "open: first θ" + (" (zero gradient: not drawn)" if trivial.all() else "")
    ax.text(0.98, 0.98, note, transform=ax.transAxes, fontsize=5, ha="right", va="top")
    ax.set_yscale("log")
    ax.set_xlabel("qubits n")
    ax.set_ylabel("Var[∂L/∂θ] (mean over θ)")
    ax.set_title(model if not skipped else f"{model} ({skipped} points skipped)", color=colour)
    ax.legend(fontsize=5, title="log2 Var per qubit", title_fontsize=5)


def _shot_panel(ax, art: Artefact, models: Sequence[str], palette: Mapping[str, str]) -> None:
    drawn = False
    for model in models:
        key = f"models/{model}/shot_noise/std"
        if key not in art:
            continue
        shots, std = np.asarray(art[f"models/{model}/shot_noise/shots"]), np.asarray(art[key])
        ax.plot(shots, std, color=palette[model], marker="o", ms=2.5, lw=1.0, label=model)
        if not drawn:  # the 1/sqrt(shots) law through the first model's smallest budget
            ax.plot(shots, std[0] * np.sqrt(shots[0] / shots), color="black", lw=0.8, ls=":", label="∝ 1/√shots")
            drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("shots")
    ax.set_ylabel("std of the shot-estimated loss")
    ax.set_title("loss shot noise at initial θ")
    if drawn:
        ax.legend(fontsize=5)


def plot_trainability(
    trainability: Artefact,
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Gradient variance against qubits and layers for every QCBM of a target, and the shot noise of its loss."""
    check_outputs(outputs)
    models = list(_json_attr(trainability, "models_json", []))
    skipped = _json_attr(trainability, "skipped_json", [])
    palette = series_colours(models, colours)
    panels = len(models) + 1
    rows = -(-panels // _COLUMNS)
    columns = min(panels, _COLUMNS)
    with paper_style():
        fig = new_figure(DOUBLE_COLUMN_IN, HEIGHT_IN * rows)
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
        for ax, model in zip(axes, models):
            _variance_panel(ax, trainability, model, sum(entry["model"] == model for entry in skipped), palette[model])
        _shot_panel(axes[len(models)], trainability, models, palette)
        for ax in axes[panels:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)
