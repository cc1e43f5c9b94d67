"""Porter-Thomas check of an IQP or random-circuit target: the distribution of rescaled probabilities.

For a random circuit that anticoncentrates, ``x = 2^n p(s)`` over all bitstrings
follows the exponential (Porter-Thomas) law ``P(x) = exp(-x)`` and ``2^n sum p^2``
approaches 2. The figure shows the target's histogram of ``x`` on a log axis with
that law and its anticoncentration value, in one panel per model with exact probabilities
(small multiples with shared axes), each adding that model's histogram (pooled over seeds).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import Artefact
from .style import (
    DOUBLE_COLUMN_IN,
    HEIGHT_IN,
    SINGLE_COLUMN_IN,
    TARGET_COLOUR,
    check_labels,
    check_outputs,
    new_figure,
    paper_style,
    save_figure,
    series_colours,
)

__all__ = ["rescaled_probabilities", "plot_porter_thomas"]

logger = logging.getLogger(__name__)

_N_BINS = 24
#: One panel per model (small multiples), at most this many side by side.
_MAX_COLUMNS = 4
#: Height of each further row of panels, as a fraction of the one-row figure's height.
_ROW_HEIGHT = 0.8


def rescaled_probabilities(probs: np.ndarray) -> np.ndarray:
    """``2^n p`` for a dense probability vector of length ``2^n`` (mean 1 by construction)."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    return probs * probs.size


def plot_porter_thomas(
    target: Artefact,
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Histogram of ``2^n p`` for the target (bars) against ``exp(-x)``, one panel per model (its steps):
    small multiples sharing both axes, so no panel overlays more than the target and one model."""
    check_outputs(outputs)
    check_labels(models, labels)
    if "probs" not in target:
        raise ValueError(f"{target.path}: no exact /probs; the Porter-Thomas figure needs an exact IQP or random-circuit target")
    x_target = rescaled_probabilities(target["probs"])
    anticoncentration = float(np.mean(x_target**2))
    rescaled: dict[str, list[np.ndarray]] = {}
    for art, label in zip(models, labels):
        if "probs" in art:
            rescaled.setdefault(label, []).append(rescaled_probabilities(art["probs"]))
        else:
            logger.info("%s has no exact probabilities; left out of the Porter-Thomas figure", art.path)
    palette = series_colours(list(rescaled), colours)
    upper = max(float(x_target.max()), *(float(np.concatenate(v).max()) for v in rescaled.values()), 1.0)
    bins = np.linspace(0.0, min(upper, 12.0), _N_BINS + 1)
    target_density, _ = np.histogram(np.clip(x_target, 0, bins[-1]), bins=bins, density=True)
    panels = list(rescaled) or [None]
    ncols = min(len(panels), _MAX_COLUMNS)
    nrows = -(-len(panels) // ncols)

    with paper_style():
        fig = new_figure(DOUBLE_COLUMN_IN if ncols > 1 else SINGLE_COLUMN_IN,
                         HEIGHT_IN * (1 + _ROW_HEIGHT * (nrows - 1)))
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
        for ax, label in zip(axes, panels):
            ax.bar(bins[:-1], target_density, width=np.diff(bins), align="edge", color=TARGET_COLOUR, alpha=0.6,
                   label=f"target (2ⁿ Σp² = {anticoncentration:.2f})")
            grid = np.linspace(0.0, bins[-1], 200)
            ax.plot(grid, np.exp(-grid), color="black", lw=0.9, ls="--", label="Porter-Thomas exp(−x) (2ⁿ Σp² = 2)")
            if label is not None:
                pooled = np.concatenate(rescaled[label])
                hist, _ = np.histogram(np.clip(pooled, 0, bins[-1]), bins=bins, density=True)
                ax.stairs(hist, bins, color=palette[label], lw=1.2)
                ax.set_title(f"{label} (2ⁿ Σq² = {np.mean(pooled**2):.2f})", fontsize=7, color=palette[label])
            ax.set_yscale("log")
            ax.set_xlim(0.0, bins[-1])
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.supxlabel("x = 2ⁿ p(s)  (last bin includes larger x)", fontsize=8)
        fig.supylabel("density over bitstrings", fontsize=8)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside upper center", ncols=2, fontsize=6, title=title or None,
                   title_fontsize=8)
        save_figure(fig, outputs, dpi=dpi)
