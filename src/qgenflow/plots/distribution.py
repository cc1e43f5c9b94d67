"""Target against learned distributions over the target's most probable bitstrings.

The figure shows the probability of the target's ``k`` most probable bitstrings
under the target and under each model, plus one "other" bar with the mass outside
them: a model that leaks probability off the target's support shows a tall "other"
bar. Distributions come from exact ``probs`` when an artefact has them and from
sample frequencies otherwise; up to :data:`DENSE_MAX_QUBITS` qubits they are dense
big-endian vectors, beyond that the distinct sampled rows are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from ..bits import bits_to_index, empirical_probs, index_to_bits, unique_counts
from ..limits import MAX_DENSE_QUBITS
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

__all__ = [
    "DEFAULT_MAX_BITSTRINGS",
    "DENSE_MAX_QUBITS",
    "BITSTRING_LABELS_MAX_QUBITS",
    "TopBitstrings",
    "DistributionTable",
    "top_bitstrings",
    "distribution_table",
    "distribution_figsize",
    "plot_distribution",
]

logger = logging.getLogger(__name__)

DENSE_MAX_QUBITS = MAX_DENSE_QUBITS
#: Most probable bitstrings of the target shown when the caller does not say.
DEFAULT_MAX_BITSTRINGS = 64
#: Bars are labelled by their bitstring ('0101', rotated when long or many) up to this many
#: qubits; beyond it (a label too long to read) by the bitstring's rank in the target.
BITSTRING_LABELS_MAX_QUBITS = 32
#: Beyond this many bars the bitstring labels use a smaller font.
_SMALL_LABELS_BARS = 16
OTHER_LABEL = "other"
_ERRORBAR_COLOUR = "0.15"
_OTHER_PANEL_WIDTH = 1.6
_SINGLE_COLUMN_MAX_BARS = 16
#: Beyond this many bars (bitstrings x series), models are drawn as markers on the target's bars.
DENSE_BARS = 160
_XLABELS = {
    "bitstring": "bitstring (wire 0 leftmost)",
    "rank": "rank of bitstring in target",
}


@dataclass(frozen=True)
class TopBitstrings:
    """The most probable outcomes of a distribution and the mass outside them.

    Attributes:
        indices: positions into the probability array, most probable first.
        bits: the bitstrings themselves, shape [k, n], ``uint8``.
        labels: tick labels: '0101' strings (qubit 0 leftmost), or 1-based ranks for wide registers.
        label_kind: ``"bitstring"`` or ``"rank"``.
        other: total probability of every outcome not in ``indices``.
    """

    indices: np.ndarray
    bits: np.ndarray
    labels: list[str]
    label_kind: str
    other: float


@dataclass(frozen=True)
class DistributionTable:
    """The numbers :func:`plot_distribution` draws.

    Attributes:
        top: the target's most probable bitstrings.
        target: [k + 1] target probability of each, then the target's "other" mass.
        models: by label (in order of first appearance), [n_seeds, k + 1] each model's
            probability of the same bitstrings, then its mass outside them.
    """

    top: TopBitstrings
    target: np.ndarray
    models: dict[str, np.ndarray]

    @property
    def tick_labels(self) -> list[str]:
        return [*self.top.labels, OTHER_LABEL]


def top_bitstrings(probs: np.ndarray, k: int, rows: np.ndarray | None = None) -> TopBitstrings:
    """The ``k`` most probable outcomes (zero-probability ones never count) and the rest's mass.

    Args:
        probs: a dense big-endian probability vector of length ``2**n``; or, with
            ``rows``, the probability of each of ``rows``.
        k: how many outcomes at most.
        rows: [m, n] distinct bitstrings that ``probs`` refers to (sparse form).

    Returns:
        A :class:`TopBitstrings`; ties are broken by position, so the result is deterministic.
    """
    if k < 1:
        raise ValueError(f"max_bitstrings must be >= 1, got {k}")
    probs = np.asarray(probs, dtype=np.float64).ravel()
    if rows is None:
        n = int(round(np.log2(max(probs.size, 1))))
        if 2**n != probs.size:
            raise ValueError(f"probability vector length {probs.size} is not a power of two")
    else:
        rows = np.asarray(rows, dtype=np.uint8)
        if rows.ndim != 2 or rows.shape[0] != probs.size:
            raise ValueError(f"rows of shape {rows.shape} do not match {probs.size} probabilities")
        n = rows.shape[1]
    order = np.argsort(-probs, kind="stable")
    indices = order[probs[order] > 0][:k]
    bits = index_to_bits(indices, n) if rows is None else rows[indices]
    rest = np.ones(probs.size, dtype=bool)
    rest[indices] = False
    other = max(float(probs[rest].sum()), 0.0)

    if n <= BITSTRING_LABELS_MAX_QUBITS:
        kind, labels = "bitstring", ["".join(map(str, row)) for row in bits]
    else:
        kind, labels = "rank", [str(r + 1) for r in range(indices.size)]
    return TopBitstrings(indices=indices, bits=bits, labels=labels, label_kind=kind, other=other)


def _n_qubits(art: Artefact) -> int:
    if "n_qubits" in art.attrs:
        return int(art.attrs["n_qubits"])
    return int(np.asarray(art["samples"]).shape[1])


def _distribution(art: Artefact, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(probs, rows)``: a dense vector and None up to DENSE_MAX_QUBITS, else sampled rows."""
    if n <= DENSE_MAX_QUBITS:
        if "probs" in art:
            probs = np.asarray(art["probs"], dtype=np.float64).ravel()
            if probs.size != 2**n:
                raise ValueError(f"{art.path}: /probs has {probs.size} entries, expected 2^{n}")
            return probs, None
        return empirical_probs(_samples(art, n), n), None
    rows, counts = unique_counts(_samples(art, n))
    return counts / max(counts.sum(), 1), rows


def _samples(art: Artefact, n: int) -> np.ndarray:
    samples = np.asarray(art["samples"], dtype=np.uint8)
    if samples.ndim != 2 or samples.shape[1] != n:
        raise ValueError(f"{art.path}: /samples has shape {samples.shape}, expected [N, {n}]")
    return samples


def _mass_on(probs: np.ndarray, rows: np.ndarray | None, bits: np.ndarray) -> np.ndarray:
    """Probability of each of ``bits`` under a distribution from :func:`_distribution`."""
    if rows is None:
        return probs[bits_to_index(bits)] if len(bits) else np.empty(0)
    lookup = {row.tobytes(): p for row, p in zip(rows, probs)}
    return np.array([lookup.get(row.tobytes(), 0.0) for row in bits], dtype=np.float64)


def distribution_table(
    target: Artefact,
    models: Sequence[Artefact],
    labels: Sequence[str],
    max_bitstrings: int = DEFAULT_MAX_BITSTRINGS,
) -> DistributionTable:
    """Target and model probabilities of the target's ``max_bitstrings`` most probable bitstrings."""
    check_labels(models, labels)
    n = _n_qubits(target)
    t_probs, t_rows = _distribution(target, n)
    top = top_bitstrings(t_probs, max_bitstrings, rows=t_rows)
    t_values = np.append(t_probs[top.indices], top.other)

    groups: dict[str, list[np.ndarray]] = {}
    for art, label in zip(models, labels):
        if _n_qubits(art) != n:
            raise ValueError(f"{art.path}: model has {_n_qubits(art)} qubits, the target {target.path} has {n}")
        probs, rows = _distribution(art, n)
        mass = _mass_on(probs, rows, top.bits)
        other = max(float(probs.sum() - mass.sum()), 0.0)
        groups.setdefault(label, []).append(np.append(mass, other))
    return DistributionTable(top=top, target=t_values, models={k: np.vstack(v) for k, v in groups.items()})


def distribution_figsize(n_bars: int) -> tuple[float, float]:
    """Figure size in inches: single column for a few bars, double column beyond."""
    width = SINGLE_COLUMN_IN if n_bars <= _SINGLE_COLUMN_MAX_BARS else DOUBLE_COLUMN_IN
    return width, HEIGHT_IN


def plot_distribution(
    target: Artefact,
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    max_bitstrings: int = DEFAULT_MAX_BITSTRINGS,
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Bar chart of target and model probabilities over the target's most probable bitstrings.

    The last bar, "other", holds the mass outside the shown bitstrings. Models sharing a
    label (several seeds) are drawn as the mean over seeds with min-max error bars.

    Args:
        target: a ``target.h5`` artefact (exact ``probs`` used when present).
        models: ``model.h5`` artefacts (``probs`` used when present, else ``samples``).
        labels: one legend label per model; repeat a label for the seeds of a model.
        outputs: figure paths; the suffix (``.pdf``, ``.png``, ``.svg``) picks the format.
        max_bitstrings: how many of the target's most probable bitstrings to show.
        title: optional axes title, e.g. the target name.
        colours: colour of each model label (default: the style's cycle).
        dpi: raster resolution of PNG output (default 300).
    """
    check_outputs(outputs)
    table = distribution_table(target, models, labels, max_bitstrings)
    n_top = len(table.top.labels)
    n_series = 1 + len(table.models)
    kind = table.top.label_kind

    with paper_style():
        fig = new_figure(*distribution_figsize(n_top + 1))
        ax, ax_other = fig.subplots(
            1, 2, gridspec_kw={"width_ratios": [max(n_top, 1) + 0.2, _OTHER_PANEL_WIDTH]}
        )
        palette = series_colours(list(table.models), colours)
        bar_colours = [TARGET_COLOUR] + [palette[label] for label in table.models]
        series = [("target", table.target[None, :])] + list(table.models.items())
        _draw_top_bars(ax, table, series, bar_colours)
        _draw_bars(ax_other, np.zeros(1), [v[:, -1:] for _, v in series], bar_colours, None)
        rotate = kind != "bitstring" or n_top > 4 or n_series > 4 or table.top.bits.shape[-1] > 6
        _label_bitstrings(ax, table.top, rotate)
        handles, names = ax.get_legend_handles_labels()
        order = sorted(range(len(names)), key=lambda i: names[i] != "target")  # the target first
        handles, names = [handles[i] for i in order], [names[i] for i in order]
        max_cols = 4 if fig.get_figwidth() <= SINGLE_COLUMN_IN else 6
        fig.legend(handles, names, loc="outside upper center", ncols=min(n_series, max_cols))
        _scale_other_panel(ax_other, ax.get_ylim()[1], series, rotate)
        if title:
            ax.set_title(title)
        save_figure(fig, outputs, dpi=dpi)


def _draw_top_bars(
    ax: Axes, table: DistributionTable, series: Sequence[tuple[str, np.ndarray]], colours: Sequence[str]
) -> None:
    """The main panel: grouped bars per bitstring, or with too many bars the target as bars and
    each model's seed mean as markers on them."""
    n_top = len(table.top.labels)
    if n_top * len(series) > DENSE_BARS:
        x = np.arange(n_top)
        ax.bar(x, table.target[:-1], 0.8, color=TARGET_COLOUR, label="target")
        for (label, values), colour in zip(table.models.items(), colours[1:]):
            ax.plot(x, values[:, :-1].mean(axis=0), ls="none", marker="o", ms=2.2, color=colour, label=label)
    else:
        _draw_bars(ax, np.arange(n_top), [v[:, :-1] for _, v in series], colours, [n for n, _ in series])


def _label_bitstrings(ax: Axes, top: TopBitstrings, rotate: bool) -> None:
    """Tick labels (bitstrings in monospace, indices or ranks), limits and axis labels of the main panel."""
    n_top = len(top.labels)
    kind = top.label_kind
    ax.set_xticks(np.arange(n_top), top.labels)
    ax.tick_params(
        axis="x", length=0, labelsize=6 if kind == "bitstring" and n_top <= _SMALL_LABELS_BARS else 5,
        labelrotation=90 if rotate else 0
    )
    if kind == "bitstring":
        for tick in ax.get_xticklabels():
            tick.set_fontfamily("monospace")
    ax.set_xlim(-0.6, max(n_top, 1) - 0.4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_XLABELS[kind])
    ax.set_ylabel("probability")


def _scale_other_panel(
    ax_other: Axes, main_top: float, series: Sequence[tuple[str, np.ndarray]], rotate: bool
) -> None:
    """The "other" panel gets its own axis when a large leak would flatten the main panel,
    but never a finer one: a small leak must not look larger than it is."""
    other_top = 1.1 * max(float(v[:, -1].max()) for _, v in series)
    ax_other.set_xlim(-0.6, 0.6)
    ax_other.set_xticks([0], [OTHER_LABEL])
    ax_other.tick_params(axis="x", length=0, labelsize=6, labelrotation=90 if rotate else 0)
    ax_other.spines[["left", "top", "right"]].set_visible(False)
    if other_top <= main_top:
        ax_other.set_ylim(0, main_top)
        ax_other.tick_params(axis="y", left=False, labelleft=False)
    else:
        ax_other.set_ylim(0, other_top)
        ax_other.yaxis.tick_right()
        ax_other.spines["right"].set_visible(True)


def _draw_bars(
    ax: Axes,
    x: np.ndarray,
    values: Sequence[np.ndarray],
    colours: Sequence[str],
    names: Sequence[str] | None,
) -> None:
    """Grouped bars: one group per ``x``, one bar per series (mean, min-max error bars over rows)."""
    width = 0.8 / len(values)
    for j, (vals, colour) in enumerate(zip(values, colours)):
        offset = x - 0.4 + (j + 0.5) * width
        mean = vals.mean(axis=0)
        ax.bar(offset, mean, width, color=colour, label=None if names is None else names[j])
        if vals.shape[0] > 1:
            err = np.vstack([mean - vals.min(axis=0), vals.max(axis=0) - mean])
            ax.errorbar(
                offset, mean, yerr=err, fmt="none", ecolor=_ERRORBAR_COLOUR, elinewidth=0.5, capthick=0.5
            )
