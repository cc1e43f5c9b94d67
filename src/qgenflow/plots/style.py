"""The paper style, argument checks and atomic output shared by every qgenflow figure.

Figures are built as :class:`matplotlib.figure.Figure` objects (never through
pyplot, so no global figure state and no GUI backend) inside :func:`paper_style`,
and written with :func:`save_figure`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..catalog import DATA_REFERENCE, UNIFORM_REFERENCE
from ..files import atomic_path
from ..io import Artefact

__all__ = [
    "STYLE_NAME",
    "FORMATS",
    "SINGLE_COLUMN_IN",
    "DOUBLE_COLUMN_IN",
    "HEIGHT_IN",
    "paper_style",
    "new_figure",
    "check_labels",
    "check_outputs",
    "save_figure",
    "TARGET_COLOUR",
    "REFERENCE_STYLES",
    "series_colours",
    "clipped_texts",
]

logger = logging.getLogger(__name__)

STYLE_NAME = "qgenflow.mplstyle"
FORMATS = ("pdf", "png", "svg")
SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
HEIGHT_IN = 2.4

#: Every figure draws the target in this grey, so models keep the palette to themselves.
TARGET_COLOUR = "0.55"
#: Marker of a model by its role, in every figure: circles quantum, squares classical.
ROLE_MARKERS = {"quantum": "o", "classical": "s", "other": "D"}
#: Reference rows (training data scored on test, uniform bits) are horizontal lines, never model colours.
REFERENCE_STYLES = {
    DATA_REFERENCE: {"color": "0.2", "linestyle": "--", "label": "training data"},
    UNIFORM_REFERENCE: {"color": "0.6", "linestyle": ":", "label": "uniform bits"},
}

# Drop the creation date so that rerunning a study gives byte-identical figures.
_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}


@contextmanager
def paper_style() -> Iterator[None]:
    """Apply matplotlib's defaults plus the packaged ``qgenflow.mplstyle`` for the block."""
    ref = resources.files(__package__).joinpath(STYLE_NAME)
    with resources.as_file(ref) as path, matplotlib.style.context(["default", str(path)]):
        yield


def new_figure(width_in: float = SINGLE_COLUMN_IN, height_in: float = HEIGHT_IN) -> Figure:
    """A pyplot-free figure with constrained layout; call inside :func:`paper_style`."""
    return Figure(figsize=(width_in, height_in), layout="constrained")


def check_labels(models: Sequence[Artefact], labels: Sequence[str]) -> None:
    """Require one legend label per model artefact (seeds of one model repeat its label)."""
    if len(labels) != len(models):
        raise ValueError(
            f"got {len(labels)} labels for {len(models)} model artefacts; "
            "give one label per model artefact (repeat a label for the seeds of one model)"
        )


def check_outputs(outputs: Sequence[str | Path]) -> list[Path]:
    """Validate figure paths before any work: at least one, each with a known suffix."""
    paths = [Path(p) for p in outputs]
    if not paths:
        raise ValueError("no output paths given for the figure")
    for path in paths:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(
                f"{path}: unsupported figure format '{path.suffix}'; use one of "
                + ", ".join(f".{f}" for f in FORMATS)
            )
    return paths


def series_colours(labels: Sequence[str], colours: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour for each label: ``colours[label]`` when given, else the style's cycle in order.

    The workflow passes every model's colour from the config (its place in ``models``),
    so one model has the same colour in every figure of a study.
    """
    colours = dict(colours or {})
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    out: dict[str, str] = {}
    for i, label in enumerate(dict.fromkeys(labels)):
        out[label] = colours.get(label, cycle[i % len(cycle)])
    return out


def clipped_texts(fig: Figure) -> list[str]:
    """The visible, non-empty text artists of ``fig`` that extend beyond its canvas.

    Draws the figure; an empty list means no tick label, axis label, title or legend
    entry is cut off at the figure's edge.
    """
    canvas_agg = FigureCanvasAgg(fig)
    canvas_agg.draw()
    renderer = canvas_agg.get_renderer()
    canvas = fig.bbox
    hidden = set()  # labels of ticks outside the view limits: matplotlib does not draw them
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not lo - tol <= loc <= hi + tol:
                    hidden.update((id(tick.label1), id(tick.label2)))
    clipped = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip() or text.get_figure(root=True) is not fig:
            continue
        box = text.get_window_extent(renderer)
        if box.width == 0 or box.height == 0:
            continue
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            clipped.append(text.get_text())
    return clipped


def save_figure(fig: Figure, outputs: Sequence[str | Path], dpi: float | None = None) -> None:
    """Write ``fig`` to every path in ``outputs``, each atomically.

    The format comes from each path's suffix; ``dpi`` sets the raster resolution
    (PNG; default the style's 300). Each file is rendered to a temporary
    sibling (keeping the suffix) and renamed into place, so an interrupted job never
    leaves a truncated figure.
    """
    paths = check_outputs(outputs)
    with paper_style():
        clipped = clipped_texts(fig)
    if clipped:
        logger.warning("text cut off at the figure edge: %s", "; ".join(repr(t) for t in clipped))
    # fontTools logs every glyph of PDF font subsetting at INFO; keep workflow logs readable
    # unless the user configured that logger explicitly.
    font_logger = logging.getLogger("fontTools")
    if font_logger.level == logging.NOTSET:
        font_logger.setLevel(logging.WARNING)
    for path in paths:
        fmt = path.suffix.lower().lstrip(".")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            # Save-time settings (dpi, font embedding, svg ids) come from the style too.
            with paper_style():
                fig.savefig(tmp, format=fmt, metadata=_METADATA[fmt], **({"dpi": dpi} if dpi else {}))
        logger.info("wrote %s", path)
