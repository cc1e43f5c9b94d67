"""Training curves: the loss of every model and seed against the optimisation step."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import Artefact
from .style import HEIGHT_IN, check_labels, check_outputs, new_figure, paper_style, save_figure, series_colours

__all__ = ["TrainingCurve", "training_curves", "median_curve", "seed_band", "loss_name", "training_figure",
           "plot_training"]

logger = logging.getLogger(__name__)

_BAND_ALPHA = 0.25
_MEDIAN_LINEWIDTH = 1.2


@dataclass(frozen=True)
class TrainingCurve:
    """The loss history of one trained model (one seed)."""

    label: str
    seed: int | None
    step: np.ndarray
    loss: np.ndarray


def training_curves(models: Sequence[Artefact], labels: Sequence[str]) -> dict[str, list[TrainingCurve]]:
    """The ``history/step`` and ``history/loss`` of each model, grouped by label.

    Returns:
        Curves by label, labels in order of first appearance.
    """
    if not models:
        raise ValueError("no model artefacts given to plot")
    check_labels(models, labels)
    groups: dict[str, list[TrainingCurve]] = {}
    for art, label in zip(models, labels):
        loss = np.asarray(art["history/loss"], dtype=np.float64).ravel()
        step = art.get("history/step")
        step = np.arange(loss.size) if step is None else np.asarray(step).ravel()
        if step.size != loss.size:
            raise ValueError(f"{art.path}: history/step has {step.size} entries but history/loss has {loss.size}")
        groups.setdefault(label, []).append(TrainingCurve(label, art.seed, step, loss))
    return groups


def seed_band(curves: Sequence[TrainingCurve]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median, minimum and maximum loss over seeds at the steps every seed recorded.

    Steps increase within a curve. Seeds stopped early (early stopping) only
    contribute the steps they share with the others.

    Returns:
        ``(step, median, low, high)``; empty arrays when the seeds share no step.
    """
    common = curves[0].step
    for curve in curves[1:]:
        common = np.intersect1d(common, curve.step)
    if common.size == 0:
        empty = np.empty(0)
        return common, empty, empty, empty
    stacked = np.vstack([curve.loss[np.isin(curve.step, common)] for curve in curves])
    return common, np.median(stacked, axis=0), stacked.min(axis=0), stacked.max(axis=0)


def median_curve(curves: Sequence[TrainingCurve]) -> tuple[np.ndarray, np.ndarray]:
    """Median loss over seeds at the steps every seed recorded (see :func:`seed_band`)."""
    step, median, _, _ = seed_band(curves)
    return step, median


def _positive(loss: np.ndarray) -> np.ndarray:
    """The loss with non-positive values (possible for unbiased MMD estimates) masked."""
    return np.where(loss > 0, loss, np.nan)


#: Names of the ``loss_definition`` attribute the classical baselines record.
_LOSS_DEFINITIONS = {"nll": "NLL", "minibatch_nll": "NLL (minibatch)",
                     "neg_log_pseudo_likelihood": "neg. log pseudo-likelihood"}
_QUANTUM_LOSSES = {"mmd": "MMD²", "kl": "KL"}
#: Height of each further panel, as a fraction of the one-panel figure's height.
_PANEL_HEIGHT = 0.65


def loss_name(art: Artefact) -> str:
    """A short name (the panel's y label) of what a model's ``history/loss`` records: the baselines'
    recorded ``loss_definition``, what a circuit or GAN kind optimises (MMD² or KL, the generator
    loss), else the first words of the dataset's own ``loss`` attribute (its full description)."""
    definition = art.attrs.get("loss_definition")
    if definition is not None:
        return _LOSS_DEFINITIONS.get(str(definition), str(definition))
    kind = str(art.config.get("kind", art.attrs.get("model_kind", "")))
    if kind in ("qgan", "gan"):
        return "generator loss"
    if kind == "qcbm":
        loss_type = (art.config.get("loss") or {}).get("type", "mmd")
        return _QUANTUM_LOSSES.get(loss_type, str(loss_type))
    own = art.dataset_attrs.get("history/loss", {}).get("loss")
    if own is not None:
        head = str(own).split(" (")[0].split(",")[0]
        return {"mmd2": "MMD²", "kl": "KL"}.get(head.lower(), head)
    return "training loss"


def _draw_model(ax, label: str, curves: Sequence[TrainingCurve], colour: str) -> None:
    """One model's median curve over seeds with its band (or each seed alone) on ``ax``."""
    if len(curves) == 1 or all(c.step.size == 1 for c in curves):
        # one seed, or a closed-form fit with a single recorded loss (a marker per seed)
        for j, curve in enumerate(curves):
            ax.plot(curve.step, _positive(curve.loss), color=colour, label=label if j == 0 else None,
                    marker="o" if curve.step.size == 1 else None)
        return
    step, median, low, high = seed_band(curves)
    if not step.size:
        logger.warning("seeds of '%s' share no step; each seed drawn alone", label)
        for j, curve in enumerate(curves):
            ax.plot(curve.step, _positive(curve.loss), color=colour, label=label if j == 0 else None)
        return
    ax.fill_between(step, _positive(low), _positive(high), color=colour, alpha=_BAND_ALPHA, lw=0)
    ax.plot(step, _positive(median), color=colour, lw=_MEDIAN_LINEWIDTH, label=label)


def training_figure(
    models: Sequence[Artefact],
    labels: Sequence[str],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
):
    """The training figure: one log-scale panel per loss (MMD², NLL, generator loss...), so
    objectives of different scales never share an axis; panels share the step axis."""
    groups = training_curves(models, labels)
    losses: dict[str, str] = {}
    for art, label in zip(models, labels):
        name = loss_name(art)
        if losses.setdefault(label, name) != name:
            raise ValueError(f"model '{label}': seeds record different losses ({losses[label]}, {name})")
    panels = list(dict.fromkeys(losses.values()))
    fig = new_figure(height_in=HEIGHT_IN * (1 + _PANEL_HEIGHT * (len(panels) - 1)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    palette = series_colours(list(groups), colours)
    for ax, panel in zip(axes, panels):
        for label, curves in groups.items():
            if losses[label] == panel:
                _draw_model(ax, label, curves, palette[label])
        ax.set_yscale("log")
        ax.set_ylabel(panel)
        ax.set_xlim(left=0)
    axes[-1].set_xlabel("training step")
    if title:
        axes[0].set_title(title)
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    names = [n for ax in axes for n in ax.get_legend_handles_labels()[1]]
    fig.legend(handles, names, loc="outside upper center", ncols=min(len(names), 4))
    return fig


def plot_training(
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Plot loss against step on a log axis for every model, with a band over seeds.

    Each model (label) is one colour: with several seeds, the median over seeds is a
    line and the band spans the lowest to the highest seed at each step; a single seed
    is drawn as its own line. Models are grouped by the loss they record (see
    :func:`loss_name`), one panel and y axis per loss. Non-positive loss values (possible
    for unbiased MMD estimates) cannot be shown on a log axis and are left out.

    Args:
        models: ``model.h5`` artefacts, with a ``history/step`` and ``history/loss``.
        labels: one legend label per model; repeat a label for the seeds of a model.
        outputs: figure paths; the suffix (``.pdf``, ``.png``, ``.svg``) picks the format.
        title: optional title over the top panel, e.g. the target name.
        colours: colour of each label (default: the style's cycle).
        dpi: raster resolution of PNG output (default 300).
    """
    check_outputs(outputs)
    check_labels(models, labels)
    n_hidden = sum(int(np.sum(~(np.asarray(m["history/loss"]) > 0))) for m in models)
    if n_hidden:
        logger.warning("%d non-positive loss values are not shown on the log axis", n_hidden)
    with paper_style():
        fig = training_figure(models, labels, title, colours)
        save_figure(fig, outputs, dpi=dpi)
