"""The tuning figure: every tuned model's validation score against its trial, the chosen trial marked.

One line per model from its ``tuning.h5``: the score of each trial (trial 0, 1, ...) in
the metric the study tunes on, on the target's validation split, and a ring on the
trial the selection chose (the lowest score). Failed trials (no finite score) are gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import Artefact
from .style import SINGLE_COLUMN_IN, HEIGHT_IN, check_outputs, new_figure, paper_style, save_figure, series_colours

__all__ = ["plot_tuning"]


def plot_tuning(
    tunings: Sequence[Artefact],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Validation score against trial index for every tuned model (one ``tuning.h5`` each), chosen trials ringed."""
    check_outputs(outputs)
    if not tunings:
        raise ValueError("the tuning figure needs the tuning.h5 of at least one tuned model")
    labels = [str(t.attrs["model_name"]) for t in tunings]
    palette = series_colours(labels, colours)
    metrics = sorted({str(t.attrs["metric"]) for t in tunings})
    with paper_style():
        fig = new_figure(SINGLE_COLUMN_IN * 1.4, HEIGHT_IN)
        ax = fig.subplots()
        finite = []
        for label, tuning in zip(labels, tunings):
            scores = np.asarray(tuning["scores"], dtype=np.float64)
            finite.extend(scores[np.isfinite(scores)])
            trials = np.arange(scores.size)
            ax.plot(trials, scores, color=palette[label], marker="o", ms=3, lw=1.0, label=label)
            best = int(tuning.attrs["best_trial"])
            ax.plot([best], [scores[best]], ls="none", marker="o", ms=8, mfc="none", mec=palette[label], mew=1.2)
        ax.plot([], [], ls="none", marker="o", ms=8, mfc="none", mec="black", label="chosen")
        if finite and min(finite) > 0 and max(finite) > 10 * min(finite):  # scores spanning decades
            ax.set_yscale("log")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"validation {' / '.join(metrics)}")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if title:
            ax.set_title(title)
        fig.legend(loc="outside right upper", fontsize=6)
        save_figure(fig, outputs, dpi=dpi)
