"""Two-point Z correlations: maps on the lattice and the correlation function C(r).

Spins are ``z = 1 - 2 b`` (bit 0 is spin up, ``z = +1``). Moments come from exact
``/probs`` when an artefact has them (up to :data:`DENSE_MAX_QUBITS` qubits) and from
``/samples`` otherwise.

* :func:`plot_correlation_maps` draws the connected correlation
  ``<z_0 z_j> - <z_0><z_j>`` of every site with site 0 on the lattice (spin targets,
  bars-and-stripes grids), or the whole connected correlation matrix when the bits
  have no lattice, for the target and each model.
* :func:`plot_correlation_function` draws ``C(r)``, the mean of ``<z_i z_j>`` over the
  pairs of sites at distance ``r`` (minimum image on periodic lattices), for a spin
  target and each model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Rectangle

from ..bits import index_to_bits
from ..io import Artefact
from ..metrics.tables import model_role
from .distribution import DENSE_MAX_QUBITS
from .style import (
    DOUBLE_COLUMN_IN,
    ROLE_MARKERS,
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
    "Moments",
    "z_moments",
    "lattice_of",
    "pair_distances",
    "correlation_function",
    "plot_correlation_maps",
    "plot_correlation_function",
]

logger = logging.getLogger(__name__)

_CMAP = "PuOr_r"  # diverging and colour-blind safe; orange is positive, purple negative
_BLANK_COLOUR = "0.82"  # site 0 on a map, the diagonal of a matrix
# Correlations below this do not get the full colour range: sampling noise should look like noise.
_MIN_COLOUR_RANGE = 0.05
_MAP_PANEL_IN = 1.25
_MAX_MAP_COLUMNS = 5


@dataclass(frozen=True)
class Moments:
    """First and second Z moments of a distribution over ``n`` bits.

    Attributes:
        z: [n] ``<z_i>``.
        zz: [n, n] ``<z_i z_j>`` (ones on the diagonal).
        source: ``"exact"`` (from probabilities) or ``"samples"``.
    """

    z: np.ndarray
    zz: np.ndarray
    source: str

    @property
    def connected(self) -> np.ndarray:
        """``<z_i z_j> - <z_i><z_j>``."""
        return self.zz - np.outer(self.z, self.z)


def z_moments(art: Artefact) -> Moments:
    """``<z_i>`` and ``<z_i z_j>`` of an artefact, exactly from ``/probs`` when it has them."""
    n = int(art.attrs["n_qubits"]) if "n_qubits" in art.attrs else int(np.shape(art["samples"])[1])
    if n <= DENSE_MAX_QUBITS and "probs" in art:
        probs = np.asarray(art["probs"], dtype=np.float64).ravel()
        if probs.size != 2**n:
            raise ValueError(f"{art.path}: /probs has {probs.size} entries, expected 2^{n}")
        support = np.flatnonzero(probs > 0)
        z = 1.0 - 2.0 * index_to_bits(support, n).astype(np.float64)
        weights = probs[support] / probs[support].sum()
        return Moments(z=weights @ z, zz=(z * weights[:, None]).T @ z, source="exact")
    if "samples" not in art:
        raise ValueError(f"{art.path}: neither /probs (n <= {DENSE_MAX_QUBITS}) nor /samples to take moments from")
    samples = np.asarray(art["samples"])
    if samples.ndim != 2 or samples.shape[1] != n or samples.shape[0] == 0:
        raise ValueError(f"{art.path}: /samples has shape {samples.shape}, expected [N > 0, {n}]")
    z = 1.0 - 2.0 * samples.astype(np.float64)
    return Moments(z=z.mean(axis=0), zz=z.T @ z / len(z), source="samples")


@dataclass(frozen=True)
class Lattice:
    """Integer site coordinates of the bits and whether the lattice wraps around.

    Attributes:
        positions: [n, d] coordinates of bit ``i`` (``d`` is 1 or 2).
        extent: [d] sites along each direction.
        pbc: periodic boundaries (distances use the minimum image).
    """

    positions: np.ndarray
    extent: np.ndarray
    pbc: bool


def lattice_of(target: Artefact) -> Lattice | None:
    """The lattice a target's bits live on, or None when they have none.

    Spin targets store ``/site_positions`` (NetKet's node order is the bit order);
    bars-and-stripes bits are the grid read row-major (bit ``r * cols + c`` at
    column ``c``, row ``r``).
    """
    config = target.config if "config_json" in target.attrs else {}
    if "site_positions" in target:
        positions = np.rint(np.asarray(target["site_positions"], dtype=np.float64)).astype(np.int64)
        if positions.ndim == 1:
            positions = positions[:, None]
        positions = positions - positions.min(axis=0)
        return Lattice(positions, positions.max(axis=0) + 1, bool(config.get("pbc", False)))
    if config.get("kind") == "bars_and_stripes":
        rows, cols = int(config["rows"]), int(config["cols"])
        r, c = np.divmod(np.arange(rows * cols), cols)
        return Lattice(np.stack([c, r], axis=1), np.array([cols, rows]), False)
    return None


def pair_distances(lattice: Lattice) -> np.ndarray:
    """[n, n] Euclidean distances between sites; minimum image on periodic lattices."""
    delta = np.abs(lattice.positions[:, None, :] - lattice.positions[None, :, :]).astype(np.float64)
    if lattice.pbc:
        delta = np.minimum(delta, lattice.extent[None, None, :] - delta)
    return np.sqrt((delta**2).sum(axis=-1))


def correlation_function(zz: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``C(r)``: mean of ``zz[i, j]`` over pairs ``i < j`` at each distinct distance ``r``.

    Returns:
        ``(r, C)`` sorted by distance.
    """
    iu = np.triu_indices_from(distances, k=1)
    r = np.round(distances[iu], 9)
    values = np.asarray(zz)[iu]
    radii = np.unique(r)
    return radii, np.array([values[r == radius].mean() for radius in radii])


def _grouped(models: Sequence[Artefact], labels: Sequence[str], n: int) -> dict[str, list[Moments]]:
    check_labels(models, labels)
    groups: dict[str, list[Moments]] = {}
    for art, label in zip(models, labels):
        n_model = int(art.attrs.get("n_qubits", -1))
        if n_model != n:
            raise ValueError(f"{art.path}: model has {n_model} qubits, the target has {n}")
        groups.setdefault(label, []).append(z_moments(art))
    return groups


def plot_correlation_maps(
    target: Artefact,
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
    dpi: float | None = None,
) -> None:
    """Connected Z correlations of the target and every model, one panel each.

    On a lattice, each panel colours every site by its connected correlation with
    site 0 (outlined); without one, each panel is the connected correlation matrix
    (diagonal blank). Models with several seeds show the mean over seeds. All panels
    share one symmetric colour scale.
    """
    check_outputs(outputs)
    n = int(target.attrs["n_qubits"])
    lattice = lattice_of(target)
    if lattice is not None and lattice.positions.shape[1] != 2:
        lattice = None  # a chain reads better as a matrix than as a one-row map
    panels = [("target", z_moments(target).connected)]
    for label, moments in _grouped(models, labels, n).items():
        panels.append((label, np.mean([m.connected for m in moments], axis=0)))

    images = [_map_image(c, lattice) for _, c in panels]
    vmax = max(float(np.nanmax(np.abs(img))) if np.isfinite(img).any() else 0.0 for img in images)
    vmax = max(vmax, _MIN_COLOUR_RANGE)
    ncols = math.ceil(len(panels) / math.ceil(len(panels) / _MAX_MAP_COLUMNS))  # balanced rows
    nrows = math.ceil(len(panels) / ncols)
    width = min(DOUBLE_COLUMN_IN, max(SINGLE_COLUMN_IN, ncols * _MAP_PANEL_IN + 0.6))
    height = nrows * (width - 0.6) / ncols * _aspect(images[0]) + 0.55

    cmap = mpl.colormaps[_CMAP].with_extremes(bad=_BLANK_COLOUR)
    with paper_style():
        fig = new_figure(width, height)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, (label, _), img in zip(axes, panels, images):
            mesh = ax.imshow(img, cmap=cmap, vmin=-vmax, vmax=vmax, origin="upper", interpolation="nearest")
            ax.set_title(label, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_linewidth(0.4)
            if lattice is not None:
                x0, y0 = lattice.positions[0]
                ax.add_patch(_outline(x0, y0))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        label = "connected ⟨z₀ zⱼ⟩" if lattice is not None else "connected ⟨zᵢ zⱼ⟩"
        fig.colorbar(mesh, ax=list(axes[: len(panels)]), shrink=0.9, label=label)
        if title:
            fig.suptitle(title)
        save_figure(fig, outputs, dpi=dpi)


def _map_image(connected: np.ndarray, lattice: Lattice | None) -> np.ndarray:
    if lattice is None:
        img = np.array(connected, dtype=np.float64)
        np.fill_diagonal(img, np.nan)
        return img
    cols, rows = lattice.extent
    img = np.full((rows, cols), np.nan)
    for site, (x, y) in enumerate(lattice.positions):
        img[y, x] = connected[0, site]
    img[lattice.positions[0][1], lattice.positions[0][0]] = np.nan
    return img


def _aspect(img: np.ndarray) -> float:
    return img.shape[0] / img.shape[1]


def _outline(x: float, y: float) -> Rectangle:
    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=0.8)


def plot_correlation_function(
    target: Artefact,
    models: Sequence[Artefact],
    labels: Sequence[str],
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """``C(r)`` of a lattice target (grey dashes) and of every model (markers by role: circle quantum,
    square classical; seed mean, min-max bars), all unjoined: r takes discrete values."""
    check_outputs(outputs)
    lattice = lattice_of(target)
    if lattice is None:
        raise ValueError(f"{target.path}: the target has no lattice (no /site_positions); C(r) needs one")
    n = int(target.attrs["n_qubits"])
    distances = pair_distances(lattice)
    zz_target = np.asarray(target["zz_correlations"]) if "zz_correlations" in target else z_moments(target).zz
    radii, c_target = correlation_function(zz_target, distances)
    groups = _grouped(models, labels, n)
    palette = series_colours(list(groups), colours)

    with paper_style():
        fig = new_figure()
        ax = fig.add_subplot()
        ax.axhline(0.0, color="0.8", lw=0.5, zorder=0)
        # r is discrete: markers only, no line joining distances. The target is a wide grey dash
        # (its exact value), models are markers by role (circle quantum, square classical).
        ax.plot(radii, c_target, ls="none", color=TARGET_COLOUR, marker="_", ms=11, mew=2.2, label="target", zorder=1)
        width = 0.12 * (np.diff(radii).min() if radii.size > 1 else 1.0)
        offsets = np.linspace(-width, width, len(groups)) if len(groups) > 1 else [0.0]
        roles = {label: model_role(str(art.attrs.get("model_kind", ""))) for art, label in zip(models, labels)}
        for offset, (label, moments) in zip(offsets, groups.items()):
            curves = np.array([correlation_function(m.zz, distances)[1] for m in moments])
            mean = curves.mean(axis=0)
            err = np.vstack([mean - curves.min(axis=0), curves.max(axis=0) - mean])
            ax.errorbar(
                radii + offset, mean, yerr=err if len(moments) > 1 else None,
                fmt=ROLE_MARKERS.get(roles[label], "D"), ms=3, color=palette[label], elinewidth=0.6, label=label,
                zorder=2,
            )
        ax.set_xlabel("distance r (lattice units" + (", minimum image)" if lattice.pbc else ")"))
        ax.set_ylabel("C(r) = mean ⟨z_i z_j⟩ at |i − j| = r")
        if title:
            ax.set_title(title)
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="outside upper center", ncols=min(len(names), 4))
        save_figure(fig, outputs, dpi=dpi)
