"""Which figures a config asks for: sweeps, per-target figures and model colours."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qgenflow.plan import (
    MODEL_PALETTE,
    model_colours,
    models_for_target,
    parameter_sweeps,
    qubit_sweeps,
    target_figures,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def default_config() -> dict:
    """The default study with the schema's defaults filled in, as the workflow sees it."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    return config


def test_default_study_figures(default_config):
    assert target_figures(default_config, "uniform3") == [
        "training", "distribution", "correlations", "metrics", "audit", "tuning",
    ]
    assert all("tuning" in target_figures(default_config, t) for t in default_config["targets"])  # 2 trials each
    assert all("audit" in target_figures(default_config, t) for t in default_config["targets"])  # each has a QCBM
    assert "corr_r" in target_figures(default_config, "heis4x4")
    assert {"porter_thomas", "scaling_params"} <= set(target_figures(default_config, "iqp8"))
    assert "qgan" in target_figures(default_config, "bas2x2")


def test_depth_sweep_is_found(default_config):
    """qcbm and qcbm_l2/l4/l10 differ only in layers; the baselines are not part of it."""
    assert parameter_sweeps(default_config, "iqp8") == {"qcbm": ["qcbm", "qcbm_l2", "qcbm_l4", "qcbm_l10"]}
    assert parameter_sweeps(default_config, "bas2x2") == {}


def test_qubit_sweep_is_found(default_config):
    assert qubit_sweeps(default_config) == {
        "bars_and_stripes": {"targets": ["bas2x2", "bas3x3"], "models": ["qcbm", "product", "rbm", "made"]}
    }


def test_no_sweep_when_anything_but_size_differs():
    config = {
        "targets": {"a": {"kind": "uniform", "n_bits": 2, "n_samples": 100},
                    "b": {"kind": "uniform", "n_bits": 3, "n_samples": 200}},
        "models": {"m": {"kind": "qcbm", "layers": 1, "optimizer": {"lr": 0.1}},
                   "n": {"kind": "qcbm", "layers": 2, "optimizer": {"lr": 0.2}}},
        "studies": [{"targets": ["a", "b"], "models": ["m", "n"]}],
    }
    assert qubit_sweeps(config) == {} and parameter_sweeps(config, "a") == {}


def test_a_model_keeps_its_colour_in_every_figure(default_config):
    """Colours follow the config's model order, whichever subset a figure shows."""
    everywhere = model_colours(default_config, list(default_config["models"]))
    for target in ("uniform3", "heis4x4", "iqp8"):
        models = models_for_target(default_config, target)
        assert model_colours(default_config, models) == {m: everywhere[m] for m in models}
    assert len(set(everywhere.values())) == min(len(everywhere), len(MODEL_PALETTE))
