"""Training curves: the loss of every model and seed against the optimisation step."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np

from ..io import read_artefact
from .style import check_labels, check_outputs, new_figure, paper_style, save_figure

__all__ = ["TrainingCurve", "read_training_curves", "median_curve", "plot_training"]

logger = logging.getLogger(__name__)

_SEED_ALPHA = 0.35
_SEED_LINEWIDTH = 0.6
_MEDIAN_LINEWIDTH = 1.4


@dataclass(frozen=True)
class TrainingCurve:
    """The loss history of one trained model (one seed)."""

    label: str
    seed: int | None
    step: np.ndarray
    loss: np.ndarray


def read_training_curves(
    model_paths: Sequence[str | Path], labels: Sequence[str]
) -> dict[str, list[TrainingCurve]]:
    """Read ``history/step`` and ``history/loss`` of each model, grouped by label.

    Returns:
        Curves by label, labels in order of first appearance.
    """
    if not model_paths:
        raise ValueError("no model artefacts given to plot")
    check_labels(model_paths, labels)
    groups: dict[str, list[TrainingCurve]] = {}
    for path, label in zip(model_paths, labels):
        art = read_artefact(path, kind="model")
        loss = np.asarray(art["history/loss"], dtype=np.float64).ravel()
        step = art.get("history/step")
        step = np.arange(loss.size) if step is None else np.asarray(step).ravel()
        if step.size != loss.size:
            raise ValueError(f"{path}: history/step has {step.size} entries but history/loss has {loss.size}")
        groups.setdefault(label, []).append(TrainingCurve(label, art.seed, step, loss))
    return groups


def median_curve(curves: Sequence[TrainingCurve]) -> tuple[np.ndarray, np.ndarray]:
    """Median loss over seeds at the steps every seed recorded (steps increase within a curve).

    Returns:
        ``(step, median_loss)``; empty arrays when the seeds share no step.
    """
    common = curves[0].step
    for curve in curves[1:]:
        common = np.intersect1d(common, curve.step)
    if common.size == 0:
        return common, np.empty(0)
    stacked = [curve.loss[np.isin(curve.step, common)] for curve in curves]
    return common, np.median(np.vstack(stacked), axis=0)


def _positive(loss: np.ndarray) -> np.ndarray:
    """The loss with non-positive values (possible for unbiased MMD estimates) masked."""
    return np.where(loss > 0, loss, np.nan)


def plot_training(
    model_paths: Sequence[str | Path],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
) -> None:
    """Plot loss against step on a log axis for every model and seed.

    Curves with the same label (one model, several seeds) share a colour: each seed is
    drawn as a thin line, and when there are several seeds their median is drawn in bold.
    Non-positive loss values cannot be shown on a log axis and are left out.

    Args:
        model_paths: ``model.h5`` artefacts, with a ``history/step`` and ``history/loss``.
        labels: one legend label per model path; repeat a label for the seeds of a model.
        outputs: figure paths; the suffix (``.pdf``, ``.png``, ``.svg``) picks the format.
        title: optional axes title, e.g. the target name.
    """
    check_outputs(outputs)
    groups = read_training_curves(model_paths, labels)
    n_hidden = sum(int(np.sum(~(c.loss > 0))) for cs in groups.values() for c in cs)
    if n_hidden:
        logger.warning("%d non-positive loss values are not shown on the log axis", n_hidden)

    with paper_style():
        fig = new_figure()
        ax = fig.add_subplot()
        cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        handles = []
        for i, (label, curves) in enumerate(groups.items()):
            colour = cycle[i % len(cycle)]
            several = len(curves) > 1
            for curve in curves:
                (line,) = ax.plot(
                    curve.step,
                    _positive(curve.loss),
                    color=colour,
                    lw=_SEED_LINEWIDTH if several else mpl.rcParams["lines.linewidth"],
                    alpha=_SEED_ALPHA if several else 1.0,
                )
            if several:
                step, med = median_curve(curves)
                if step.size:
                    (line,) = ax.plot(step, _positive(med), color=colour, lw=_MEDIAN_LINEWIDTH)
                else:
                    logger.warning("seeds of '%s' share no step; no median drawn", label)
            line.set_label(label)
            handles.append(line)
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss (own objective)")  # MMD^2 for Born machines, NLL for baselines
        ax.set_xlim(left=0)
        if title:
            ax.set_title(title)
        ax.legend(handles=handles, loc="best")
        save_figure(fig, outputs)
