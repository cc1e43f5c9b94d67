"""Metric comparison and scaling figures, QGAN dynamics and the Porter-Thomas histogram."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.patches import StepPatch

from qgenflow.io import Artefact, read_artefact, write_artefact
from qgenflow.metrics.tables import metrics_record
from qgenflow.plots.metrics import _log_floor, plot_metrics, plot_scaling, summarise
from qgenflow.plots import porter_thomas, qgan
from qgenflow.plots.porter_thomas import plot_porter_thomas, rescaled_probabilities
from qgenflow.plots.qgan import discriminator_accuracy, plot_qgan_dynamics
from qgenflow.stages.figure import draw_figure


def _metrics(tmp_path: Path, target: str, model: str, kind: str, seed: int, values: dict, n_qubits=4, n_params=10):
    path = write_artefact(
        tmp_path / target / model / f"seed{seed}" / "metrics.h5",
        "metrics",
        datasets={k: np.float64(v) for k, v in values.items()},
        dataset_attrs={k: {"stderr": 0.01, "source": "samples"} for k in values},
        config={},
        seed=seed,
        attrs={"model_name": model, "target_name": target, "model_kind": kind, "n_params": n_params,
               "n_qubits": n_qubits},
    )
    return read_artefact(path, kind="metrics")


@pytest.fixture
def study_metrics(tmp_path: Path, rng: np.random.Generator) -> list[Artefact]:
    """Three seeds of two models and both references on one target, plus a negative MMD² estimate."""
    paths = []
    for seed in range(3):
        paths.append(_metrics(tmp_path, "t", "qcbm", "qcbm", seed,
                              {"mmd2_samples": 1e-3 * (1 + 0.1 * seed), "tv_samples": 0.1, "valid_rate": 1.0}))
        paths.append(_metrics(tmp_path, "t", "made", "autoregressive", seed,
                              {"mmd2_samples": -2e-6 if seed == 0 else 3e-6, "tv_samples": 0.05, "valid_rate": 1.0}))
        paths.append(_metrics(tmp_path, "t", "data", "data", seed,
                              {"mmd2_samples": -1e-7, "tv_samples": 0.02, "valid_rate": 1.0}))
        paths.append(_metrics(tmp_path, "t", "uniform", "uniform", seed,
                              {"mmd2_samples": 0.05, "tv_samples": 0.7, "valid_rate": 1.0}))
    return paths


def test_summary_is_mean_and_seed_spread(study_metrics):
    records = [metrics_record(art) for art in study_metrics if "qcbm" in str(art.path)]
    s = summarise(records, "mmd2_samples")
    np.testing.assert_allclose(s.mean, 1.1e-3)
    np.testing.assert_allclose(s.error, np.std([1e-3, 1.1e-3, 1.2e-3], ddof=1))
    assert summarise(records, "kl_exact") is None


def test_single_seed_uses_the_bootstrap_error(study_metrics):
    s = summarise([metrics_record(study_metrics[0])], "mmd2_samples")
    assert s.error == 0.01


def test_log_axis_only_for_metrics_spanning_decades():
    assert _log_floor("mmd2_samples", [1e-3, 2e-5, -1e-6]) == pytest.approx(2e-5 / 3)
    assert _log_floor("valid_rate", [0.2, 1.0]) is None
    assert _log_floor("tv_samples", [0.0, -1.0]) is None


def test_metrics_figure(tmp_path: Path, study_metrics, caplog: pytest.LogCaptureFixture):
    """The constant valid rate is left out; a negative estimate does not break the log axis."""
    out = [tmp_path / "m.png", tmp_path / "m.svg"]
    with caplog.at_level(logging.INFO):
        plot_metrics(study_metrics, out, metrics=["mmd2_samples", "tv_samples", "valid_rate", "kl_exact"], title="t",
                     colours={"qcbm": "#332288", "made": "#CC6677"}, dpi=120)
    assert all(p.stat().st_size > 5000 for p in out)
    assert "valid_rate" in caplog.text and "cut off" not in caplog.text
    from PIL import Image

    width, height = Image.open(out[0]).size
    assert width == pytest.approx(3.4 * 120, abs=2)  # two panels left: single column at the configured dpi


def test_metrics_figure_needs_a_known_metric(tmp_path: Path, study_metrics):
    with pytest.raises(ValueError, match="available: mmd2_samples"):
        plot_metrics(study_metrics, [tmp_path / "m.png"], metrics=["kl_exact"])


def test_scaling_figures(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    evaluations = []
    for n, name in ((4, "bas2x2"), (9, "bas3x3")):
        for seed in range(2):
            for model, kind, layers in (("qcbm", "qcbm", 2), ("qcbm_deep", "qcbm", 6), ("rbm", "rbm", 0)):
                evaluations.append(_metrics(tmp_path, name, model, kind, seed, {"tv_samples": 0.01 * n * (1 + seed)},
                                            n_qubits=n, n_params=n * max(layers, 1) * 2))
    with caplog.at_level(logging.WARNING):
        plot_scaling(evaluations, [tmp_path / "q.png"], "n_qubits", metrics=["tv_samples"])
        bas3 = [art for art in evaluations if "bas3x3" in str(art.path)]
        plot_scaling(bas3, [tmp_path / "p.png"], "n_params", lines={"qcbm": ["qcbm", "qcbm_deep"]},
                     metrics=["tv_samples", "mmd2_samples"])
    assert (tmp_path / "q.png").stat().st_size > 5000 and (tmp_path / "p.png").stat().st_size > 5000
    assert "cut off" not in caplog.text
    with pytest.raises(ValueError, match="n_qubits"):
        plot_scaling(evaluations, [tmp_path / "x.png"], "layers")


def _qgan(tmp_path: Path, seed: int, quantum: bool) -> Artefact:
    steps = np.arange(41)
    log_step = np.arange(0, 41, 5)
    history = {"history/step": steps, "history/loss": 0.7 + 0.1 * np.cos(steps / 5), "history/d_loss": 0.69 + 0 * steps,
               "history/log_step": log_step}
    if quantum:
        history.update({"history/fidelity": np.linspace(0.2, 0.99, log_step.size),
                        "history/p_real_real": np.full(log_step.size, 0.8),
                        "history/p_real_fake": np.full(log_step.size, 0.4)})
    else:
        history.update({"history/d_accuracy": np.full(log_step.size, 0.55),
                        "history/mmd": np.geomspace(0.1, 1e-3, log_step.size)})
    name = "qgan_q" if quantum else "qgan"
    path = write_artefact(tmp_path / name / f"seed{seed}.h5", "model", {"samples": np.zeros((4, 3), np.uint8), **history},
                          config={}, seed=seed, attrs={"n_qubits": 3, "model_kind": "qgan"})
    return read_artefact(path, kind="model")


def test_quantum_discriminator_accuracy_formula(tmp_path: Path):
    """Accuracy on an even real/fake mix: (P(real|real) + 1 - P(real|fake)) / 2."""
    acc = discriminator_accuracy(_qgan(tmp_path, 0, quantum=True))
    np.testing.assert_allclose(acc, 0.5 * (0.8 + 1 - 0.4))


def test_qgan_figure(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    models = [_qgan(tmp_path, s, False) for s in (0, 1)] + [_qgan(tmp_path, 0, True)]
    with caplog.at_level(logging.WARNING):
        plot_qgan_dynamics(models, ["qgan", "qgan", "qgan_q"], [tmp_path / "g.png"], title="t")
    assert (tmp_path / "g.png").stat().st_size > 5000 and "cut off" not in caplog.text


def test_qgan_rows_are_named_by_title_and_y_labels_are_one_line(tmp_path: Path, monkeypatch):
    models = [_qgan(tmp_path, 0, False), _qgan(tmp_path, 0, True)]
    drawn = []
    monkeypatch.setattr(qgan, "save_figure", lambda fig, outputs, dpi=None: drawn.append(fig))
    plot_qgan_dynamics(models, ["qgan", "qgan_q"], [tmp_path / "g.png"])
    axes = drawn[0].get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "discriminator accuracy", "MMD² to target",
                                                "loss", "discriminator accuracy", "state fidelity"]
    assert [axes[0].get_title(loc="left"), axes[3].get_title(loc="left")] == ["qgan", "qgan_q"]


def test_qgan_figure_rejects_other_models(tmp_path: Path, write_model, rng):
    model = write_model("qcbm", rng.integers(0, 2, (10, 3)))
    with pytest.raises(ValueError, match="not a QGAN"):
        plot_qgan_dynamics([model], ["qcbm"], [tmp_path / "g.png"])


def test_haar_random_probabilities_follow_porter_thomas(rng: np.random.Generator):
    """Dirichlet(1) probabilities (Haar-random states): 2^n p is exponential, so 2^n sum p^2 -> 2."""
    probs = rng.dirichlet(np.ones(2**14))
    x = rescaled_probabilities(probs)
    assert x.mean() == pytest.approx(1.0)
    assert np.mean(x**2) == pytest.approx(2.0, abs=0.1)
    assert np.mean(x > 3) == pytest.approx(math.exp(-3), abs=0.01)


def test_porter_thomas_figure(tmp_path: Path, write_target, write_model, rng, caplog: pytest.LogCaptureFixture):
    p = rng.dirichlet(np.ones(2**6))
    target = write_target(rng.integers(0, 2, (10, 6)), p)
    models = [write_model("q", rng.integers(0, 2, (10, 6)), rng.dirichlet(np.ones(2**6))),
              write_model("s", rng.integers(0, 2, (10, 6)), None)]
    with caplog.at_level(logging.INFO):
        draw_figure("porter_thomas", [tmp_path / "pt.png"], target=target.path, models=[m.path for m in models],
                    labels=["q", "s"], options={"title": "iqp", "dpi": 100})
    assert (tmp_path / "pt.png").stat().st_size > 5000
    assert "no exact probabilities" in caplog.text and "cut off" not in caplog.text
    sample_only = write_target(rng.integers(0, 2, (10, 6)), None, name="s.h5")
    with pytest.raises(ValueError, match="exact IQP or random-circuit target"):
        plot_porter_thomas(sample_only, [], [], [tmp_path / "x.png"])


def test_porter_thomas_draws_one_panel_per_model(tmp_path: Path, write_target, write_model, rng, monkeypatch):
    """Seven models: seven small panels sharing their axes, each with the target and one model, never an overlay."""
    target = write_target(rng.integers(0, 2, (10, 6)), rng.dirichlet(np.ones(2**6)))
    names = [f"m{i}" for i in range(7)]
    models = [write_model(n, rng.integers(0, 2, (10, 6)), rng.dirichlet(np.ones(2**6))) for n in names]
    drawn = []
    monkeypatch.setattr(porter_thomas, "save_figure", lambda fig, outputs, dpi=None: drawn.append(fig))
    plot_porter_thomas(target, models, names, [tmp_path / "pt.png"], title="iqp")
    axes = [ax for ax in drawn[0].get_axes() if ax.get_visible()]
    assert len(axes) == 7
    for ax, name in zip(axes, names):
        assert [type(p) for p in ax.patches].count(StepPatch) == 1  # exactly one model per panel
        assert ax.get_title().startswith(f"{name} (") and ax.get_yscale() == "log"
    assert len({ax.get_ylim() for ax in axes}) == 1  # shared axes: panels compare at a glance


def test_unknown_figure_names_the_allowed_ones(tmp_path: Path):
    with pytest.raises(ValueError, match="allowed: training, distribution"):
        draw_figure("histogram", [tmp_path / "x.png"])
