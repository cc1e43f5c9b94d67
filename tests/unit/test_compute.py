"""The compute section: simulator switch, GPU requests and the install check."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from qgenflow.plan import check_compute, job_gpus, model_for_job
from qgenflow.errors import InvalidConfigError

REPO = Path(__file__).resolve().parents[2]

CONFIG = {
    "targets": {"t": {"kind": "uniform", "n_bits": 3}, "v": {"kind": "heisenberg", "lattice": [6, 6], "method": "vmc"}},
    "models": {
        "qcbm": {"kind": "qcbm", "device": {}},
        "aer": {"kind": "qcbm", "device": {"name": "qiskit.aer", "shots": 100}},
        "qgan": {"kind": "qgan", "device": {"name": "lightning.qubit", "options": {"batch_obs": True}}},
        "rbm": {"kind": "rbm"},
    },
}


def _with(compute: dict) -> dict:
    return {**CONFIG, "compute": compute}


def test_default_simulator_changes_nothing():
    config = _with({"simulator": "lightning.qubit", "jax_platform": "cpu"})
    for model in CONFIG["models"]:
        assert model_for_job(config, model) == CONFIG["models"][model]
    assert job_gpus(config, "t", "qcbm") == 0 and job_gpus(config, "v") == 0


def test_gpu_simulator_moves_only_default_devices():
    config = _with({"simulator": "lightning.gpu", "jax_platform": "cuda"})
    assert model_for_job(config, "qcbm")["device"] == {"name": "lightning.gpu"}
    assert model_for_job(config, "qgan")["device"] == {"name": "lightning.gpu", "options": {"batch_obs": True}}
    assert model_for_job(config, "aer") == CONFIG["models"]["aer"]  # hardware plugin kept
    assert model_for_job(config, "rbm") == CONFIG["models"]["rbm"]  # no circuit
    assert CONFIG["models"]["qcbm"]["device"] == {}  # the config itself is not modified
    assert [job_gpus(config, "t", m) for m in ("qcbm", "aer", "qgan", "rbm")] == [1, 0, 1, 0]
    assert job_gpus(config, "v") == 1 and job_gpus(config, "t") == 0  # VMC on CUDA; exact targets need no GPU


def test_missing_gpu_packages_are_named_before_any_job(monkeypatch: pytest.MonkeyPatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if "gpu" in name or "cuda" in name else real(name, *a))
    with pytest.raises(InvalidConfigError, match=r"compute.simulator.*lightning.gpu is not installed.*\.\[gpu\]"):
        check_compute(_with({"simulator": "lightning.gpu", "jax_platform": "cpu"}))
    with pytest.raises(InvalidConfigError, match=r"compute.jax_platform.*CUDA plugin"):
        check_compute(_with({"simulator": "lightning.qubit", "jax_platform": "cuda"}))
    check_compute(_with({"simulator": "lightning.qubit", "jax_platform": "cpu"}))


def test_installed_gpu_packages_pass_the_check(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    check_compute(_with({"simulator": "lightning.gpu", "jax_platform": "cuda"}))


def test_gpu_profile_sets_the_compute_section():
    """The profile's `config:` entry parses (as Snakemake parses --config) to the GPU settings."""
    from snakemake.cli import parse_config

    profile = yaml.safe_load((REPO / "workflow/profiles/gpu/config.yaml").read_text())
    assert parse_config(profile["config"]) == {"compute": {"simulator": "lightning.gpu", "jax_platform": "cuda"}}
    assert profile["resources"] == {"gpu": 1}
