"""Quantum GAN training dynamics: both losses, discriminator accuracy and generator quality.

One row per QGAN model, three panels: generator and discriminator loss against the
step, the discriminator's accuracy on an even real/fake mix (0.5 means it can no
longer tell them apart), and how close the generator is to the target (MMD² for a
classical discriminator, state fidelity for a quantum one). Several seeds are drawn
as their median and a min-max band.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import Artefact
from .style import (
    DOUBLE_COLUMN_IN,
    check_labels,
    check_outputs,
    new_figure,
    paper_style,
    save_figure,
    series_colours,
)

__all__ = ["discriminator_accuracy", "plot_qgan_dynamics"]

logger = logging.getLogger(__name__)

_BAND_ALPHA = 0.25
_ROW_HEIGHT_IN = 1.55


def discriminator_accuracy(art: Artefact) -> np.ndarray:
    """Accuracy at each logged step: recorded directly (classical discriminator), or
    ``(P(real | real) + 1 - P(real | fake)) / 2`` (quantum discriminator)."""
    if "history/d_accuracy" in art:
        return np.asarray(art["history/d_accuracy"], dtype=np.float64)
    if "history/p_real_real" in art and "history/p_real_fake" in art:
        real = np.asarray(art["history/p_real_real"], dtype=np.float64)
        fake = np.asarray(art["history/p_real_fake"], dtype=np.float64)
        return 0.5 * (real + 1.0 - fake)
    raise ValueError(f"{art.path}: no discriminator accuracy in /history (not a QGAN artefact?)")


def _quality(art: Artefact) -> tuple[str, np.ndarray]:
    if "history/fidelity" in art:
        return "state fidelity", np.asarray(art["history/fidelity"], dtype=np.float64)
    if "history/mmd" in art:
        return "MMD² to target", np.asarray(art["history/mmd"], dtype=np.float64)
    raise ValueError(f"{art.path}: neither history/fidelity nor history/mmd recorded")


def _band(ax, x: np.ndarray, ys: list[np.ndarray], colour: str, **line) -> None:
    size = min(len(y) for y in ys)
    stacked = np.vstack([y[:size] for y in ys])
    x = x[:size]
    if len(ys) > 1:
        ax.fill_between(x, stacked.min(axis=0), stacked.max(axis=0), color=colour, alpha=_BAND_ALPHA, lw=0)
    ax.plot(x, np.median(stacked, axis=0), color=colour, **line)


def plot_qgan_dynamics(
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Draw the training dynamics of every QGAN model (one row each; seeds as bands).

    Args:
        models: QGAN ``model.h5`` artefacts.
        labels: one label per model; repeat a label for the seeds of one model.
        outputs: figure paths; the suffix picks the format.
        title, colours, dpi: figure title, colour of each label, PNG resolution.
    """
    check_outputs(outputs)
    check_labels(models, labels)
    groups: dict[str, list[Artefact]] = {}
    for art, label in zip(models, labels):
        if art.attrs.get("model_kind") != "qgan":
            raise ValueError(f"{art.path}: model kind {art.attrs.get('model_kind')!r} is not a QGAN")
        groups.setdefault(label, []).append(art)
    if not groups:
        raise ValueError("no QGAN artefacts given")
    palette = series_colours(list(groups), colours)

    with paper_style():
        fig = new_figure(DOUBLE_COLUMN_IN, 0.3 + _ROW_HEIGHT_IN * len(groups))
        axes = fig.subplots(len(groups), 3, squeeze=False)
        for row, (label, arts) in zip(axes, groups.items()):
            colour = palette[label]
            ax_loss, ax_acc, ax_q = row
            step = np.asarray(arts[0]["history/step"])
            _band(ax_loss, step, [np.asarray(a["history/loss"]) for a in arts], colour, lw=1.0, label="generator")
            _band(ax_loss, step, [np.asarray(a["history/d_loss"]) for a in arts], colour, lw=1.0, ls="--",
                  label="discriminator")
            # the model names its row (a title over the row's first panel); y labels stay one line each
            ax_loss.set_title(label, loc="left", color=colour, fontsize=8, fontweight="bold")
            ax_loss.set_ylabel("loss")
            ax_loss.legend(loc="best", fontsize=6)

            log_step = np.asarray(arts[0]["history/log_step"])
            _band(ax_acc, log_step, [discriminator_accuracy(a) for a in arts], colour, lw=1.0)
            ax_acc.axhline(0.5, color="0.5", lw=0.6, ls=":")
            ax_acc.set_ylim(0.0, 1.02)
            ax_acc.set_ylabel("discriminator accuracy")

            name, _ = _quality(arts[0])
            _band(ax_q, log_step, [_quality(a)[1] for a in arts], colour, lw=1.0)
            ax_q.set_ylabel(name)
            if name.startswith("MMD"):
                ax_q.set_yscale("log")
            else:
                ax_q.set_ylim(top=1.0)
        for ax in axes[-1]:
            ax.set_xlabel("training step")
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)
