"""Tests of the training-curve figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from qgenflow.plots import plot_training
from qgenflow.plots.style import HEIGHT_IN, SINGLE_COLUMN_IN
from qgenflow.plots.training import TrainingCurve, median_curve, training_curves

DPI = 300


def _figures_ok(paths: list[Path]) -> None:
    for path in paths:
        assert path.stat().st_size > 0
    assert not [p for p in paths[0].parent.iterdir() if p.name.startswith(".")], "temp file left"


def test_writes_pdf_and_png(tmp_path: Path, small_study):
    """plot_training writes every requested format; the PNG is 300 dpi at single-column size."""
    _, models, labels = small_study
    outputs = [tmp_path / "fig" / "training.pdf", tmp_path / "fig" / "training.png"]
    plot_training(models, labels, outputs, title="toy")
    _figures_ok(outputs)
    image = imread(outputs[1])
    assert image.shape[:2] == (round(HEIGHT_IN * DPI), round(SINGLE_COLUMN_IN * DPI))


def test_curves_grouped_by_label(small_study):
    """Seeds sharing a label are grouped, in order of first appearance."""
    _, models, labels = small_study
    groups = training_curves(models, labels)
    assert list(groups) == ["qcbm", "rbm"]
    assert [c.seed for c in groups["qcbm"]] == [0, 1]


def test_median_over_common_steps():
    """The median is taken over seeds at the steps all of them recorded."""
    a = TrainingCurve("m", 0, np.array([0, 1, 2, 3]), np.array([4.0, 3.0, 2.0, 1.0]))
    b = TrainingCurve("m", 1, np.array([0, 1, 2]), np.array([2.0, 1.0, 0.0]))
    c = TrainingCurve("m", 2, np.array([0, 1, 2]), np.array([3.0, 5.0, 1.0]))
    step, med = median_curve([a, b, c])
    np.testing.assert_array_equal(step, [0, 1, 2])
    np.testing.assert_array_equal(med, [3.0, 3.0, 1.0])


def test_non_positive_loss_is_tolerated(tmp_path: Path, rng: np.random.Generator, write_model):
    """Negative (unbiased-estimator) and zero losses do not break the log axis."""
    loss = np.array([0.5, 0.1, 0.0, -1e-4, 1e-3])
    model = write_model("m", rng.integers(0, 2, (10, 3)), loss=loss)
    plot_training([model], ["m"], [tmp_path / "t.png"])
    assert (tmp_path / "t.png").stat().st_size > 0


def test_label_count_must_match(tmp_path: Path, small_study):
    """One label per model artefact is required."""
    _, models, _ = small_study
    with pytest.raises(ValueError, match="one label per model"):
        plot_training(models, ["only-one"], [tmp_path / "t.png"])
