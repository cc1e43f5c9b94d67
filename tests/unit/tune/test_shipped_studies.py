"""The shipped tuned studies: valid, and every model with something to tune gets the study's budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from qgenflow.cli import main
from qgenflow.plan import SCHEMA_PATH, check_config, model_tuning

REPO = Path(__file__).resolve().parents[3]
STUDIES = {
    "heisenberg_qgan_vs_gan": REPO / "config/studies/heisenberg_qgan_vs_gan.yaml",
    "ising_external": REPO / "benchmarks/ising_external.yaml",
}


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_shipped_tuned_study_is_valid_with_equal_budgets(name, monkeypatch):
    """check-config passes (file paths resolve from the repository root) and all but product get the same trials."""
    monkeypatch.chdir(REPO)
    path = STUDIES[name]
    assert main(["check-config", os.fspath(path), "--schema", os.fspath(SCHEMA_PATH)]) == 0
    config = yaml.safe_load(path.read_text())
    validate(config, str(SCHEMA_PATH))
    check_config(config)
    assert config["study"] == name and config["data_access"] == "samples"
    trials = config["tuning"]["trials"]
    assert trials > 0
    plans = {m: model_tuning(config, m) for m in config["models"]}
    tuned = {m: p["trials"] for m, p in plans.items() if p is not None and p["search"]}
    assert tuned == {m: trials for m in config["models"] if config["models"][m]["kind"] != "product"}
    assert not any(p["override"] for p in plans.values() if p is not None)


def test_heisenberg_study_pits_the_qgan_against_the_classical_gan():
    """Exercise 4: a classical-discriminator QGAN and the classical GAN on the Heisenberg target, with the rest."""
    config = yaml.safe_load(STUDIES["heisenberg_qgan_vs_gan"].read_text())
    kinds = {config["models"][m]["kind"] for m in config["studies"][0]["models"]}
    assert {"qgan", "gan", "qcbm", "product", "rbm", "autoregressive", "transformer"} <= kinds
    assert config["models"]["qgan"]["flavor"] == "classical_discriminator"
    (target,) = config["studies"][0]["targets"]
    assert config["targets"][target]["kind"] == "heisenberg"
