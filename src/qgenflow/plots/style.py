"""The paper style, argument checks and atomic output shared by every qgenflow figure.

Figures are built as :class:`matplotlib.figure.Figure` objects (never through
pyplot, so no global figure state and no GUI backend) inside :func:`paper_style`,
and written with :func:`save_figure`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import matplotlib.style
from matplotlib.figure import Figure

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
]

logger = logging.getLogger(__name__)

STYLE_NAME = "qgenflow.mplstyle"
FORMATS = ("pdf", "png", "svg")
SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
HEIGHT_IN = 2.4

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


def check_labels(model_paths: Sequence[str | Path], labels: Sequence[str]) -> None:
    """Require one legend label per model path (seeds of one model repeat its label)."""
    if len(labels) != len(model_paths):
        raise ValueError(
            f"got {len(labels)} labels for {len(model_paths)} model artefacts; "
            "give one label per model path (repeat a label for the seeds of one model)"
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


def save_figure(fig: Figure, outputs: Sequence[str | Path]) -> None:
    """Write ``fig`` to every path in ``outputs``, each atomically.

    The format comes from each path's suffix. Each file is rendered to a temporary
    sibling (keeping the suffix) and renamed into place, so an interrupted job never
    leaves a truncated figure.
    """
    paths = check_outputs(outputs)
    # fontTools logs every glyph of PDF font subsetting at INFO; keep workflow logs readable
    # unless the user configured that logger explicitly.
    font_logger = logging.getLogger("fontTools")
    if font_logger.level == logging.NOTSET:
        font_logger.setLevel(logging.WARNING)
    for path in paths:
        fmt = path.suffix.lower().lstrip(".")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        try:
            # Save-time settings (dpi, font embedding, svg ids) come from the style too.
            with paper_style():
                fig.savefig(tmp, format=fmt, metadata=_METADATA[fmt])
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        logger.info("wrote %s", path)
