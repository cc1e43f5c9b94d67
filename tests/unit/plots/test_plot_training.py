"""Tests of the training-curve figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from qgenflow.io import read_artefact, write_artefact
from qgenflow.plots import plot_training
from qgenflow.plots.style import HEIGHT_IN, SINGLE_COLUMN_IN, paper_style
from qgenflow.plots.training import TrainingCurve, loss_name, median_curve, training_curves, training_figure

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


def _model(tmp_path: Path, name: str, seed: int, config: dict, attrs: dict | None = None, scale: float = 1.0):
    loss = scale * np.geomspace(1.0, 1e-2, 20) * (1 + 0.1 * seed)
    path = write_artefact(tmp_path / name / f"seed{seed}.h5", "model",
                          {"samples": np.zeros((4, 3), np.uint8), "history/step": np.arange(20), "history/loss": loss},
                          config=config, seed=seed, attrs={"n_qubits": 3, "model_kind": config["kind"], **(attrs or {})})
    return read_artefact(path, kind="model")


def test_each_loss_gets_its_own_panel(tmp_path: Path):
    """MMD² (Born machine), NLL (baseline) and the generator loss (QGAN) never share a y axis."""
    models = [
        _model(tmp_path, "qcbm", 0, {"kind": "qcbm"}), _model(tmp_path, "qcbm", 1, {"kind": "qcbm"}),
        _model(tmp_path, "product", 0, {"kind": "product"}, {"loss_definition": "nll"}, scale=3.0),
        _model(tmp_path, "qcbm_kl", 0, {"kind": "qcbm", "loss": {"type": "kl"}}),
        _model(tmp_path, "qgan", 0, {"kind": "qgan"}),
    ]
    labels = ["qcbm", "qcbm", "product", "qcbm_kl", "qgan"]
    assert [loss_name(m) for m in models] == ["MMD²", "MMD²", "NLL", "KL", "generator loss"]
    with paper_style():
        fig = training_figure(models, labels, title="toy")
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["MMD²", "NLL", "KL", "generator loss"]
    assert [[line.get_label() for line in ax.get_lines()] for ax in axes] == [["qcbm"], ["product"], ["qcbm_kl"],
                                                                               ["qgan"]]
    assert all(ax.get_yscale() == "log" for ax in axes)
    assert fig.get_figheight() > HEIGHT_IN
    plot_training(models, labels, [tmp_path / "t.png"])
    assert imread(tmp_path / "t.png").shape[0] > round(HEIGHT_IN * DPI)
