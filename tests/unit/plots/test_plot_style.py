"""Tests of the paper style and atomic figure output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib as mpl
import pytest

from qgenflow.plots.style import check_outputs, new_figure, paper_style, save_figure


def _figure():
    with paper_style():
        fig = new_figure()
        fig.add_subplot().plot([0, 1, 2], [1, 0.5, 0.2], label="a")
    return fig


def test_style_is_packaged_and_temporary():
    """The packaged style sets paper sizes inside the block and restores rcParams after it."""
    before = mpl.rcParams["savefig.dpi"]
    with paper_style():
        assert mpl.rcParams["savefig.dpi"] == 300
        assert mpl.rcParams["font.size"] == 8
        assert list(mpl.rcParams["figure.figsize"]) == [3.4, 2.4]
    assert mpl.rcParams["savefig.dpi"] == before


def test_unknown_format_is_rejected(tmp_path: Path):
    """A figure path with an unsupported suffix fails before any work."""
    with pytest.raises(ValueError, match=r"\.jpg"):
        check_outputs([tmp_path / "fig.jpg"])
    with pytest.raises(ValueError, match="no output"):
        check_outputs([])


def test_save_leaves_no_temp_files_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A failing render leaves neither the figure nor a temporary file behind."""
    fig = _figure()

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        save_figure(fig, [tmp_path / "fig.png"])
    assert list(tmp_path.iterdir()) == []


def test_vector_output_is_reproducible(tmp_path: Path):
    """Rendering the same figure twice gives byte-identical pdf and svg files."""
    for name in ("a", "b"):
        save_figure(_figure(), [tmp_path / f"{name}.pdf", tmp_path / f"{name}.svg"])
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_import_is_light():
    """Importing qgenflow.plots loads neither pyplot nor the quantum stack."""
    code = (
        "import sys, qgenflow.plots; "
        "print(sorted(m for m in ('matplotlib.pyplot', 'jax', 'pennylane', 'netket') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
