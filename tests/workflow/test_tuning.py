"""A tiny tuned study end to end: trials as jobs, selection, tuned final models, tables, verdict and figure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from qgenflow.io import read_artefact

from .conftest import REPO, new_workdir, planned_jobs, snakemake

TUNING_CONFIG = Path(__file__).resolve().parent / "config_tuning.yaml"


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory) -> Path:
    """The tiny tuned study (qcbm: 2 trials, rbm: 1 by override, product: nothing to tune), run once."""
    workdir = new_workdir(tmp_path_factory.mktemp("tuned"))
    snakemake(workdir, "--cores", "2", configfile=TUNING_CONFIG)
    return workdir


def _config(**tuning) -> Path:
    return yaml.safe_load(TUNING_CONFIG.read_text()) | {"tuning": tuning}


def test_tuned_study_records_trials_choice_and_budget(tuned_run):
    """Each tuned model's seeds train with the chosen setting; the table, the verdict and the figure say so."""
    results = tuned_run / "results"
    assert sorted(p.name for p in (results / "tuning/bas2x2").iterdir()) == ["qcbm", "rbm"]
    for model, trials in (("qcbm", 2), ("rbm", 1)):
        tuning = read_artefact(results / f"tuning/bas2x2/{model}/tuning.h5", kind="tuning")
        assert tuning.attrs["tuning_trials"] == trials
        for seed in (0, 1):
            art = read_artefact(results / f"models/bas2x2/{model}/seed{seed}/model.h5", kind="model")
            assert json.loads(art.attrs["tuned_params"]) == json.loads(tuning.attrs["tuned_params"])
            assert art.attrs["tuning_trials"] == trials and art.attrs["tuning_override"] == (model == "rbm")
    with open(results / "tables/bas2x2.csv") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    assert {m: rows[m]["trials"] for m in ("qcbm", "rbm", "product")} == {"qcbm": "2", "rbm": "1", "product": "0"}
    assert float(rows["qcbm"]["tuning_seconds"]) > 0
    verdict = (results / "tables/bas2x2_verdict.txt").read_text()
    assert "tuned with 1 trial (override of the study's 2)" in verdict
    assert (results / "figures/bas2x2_tuning.png").stat().st_size > 0
    manifest = json.loads((results / "publish/manifest.json").read_text())
    assert "results/tuning/bas2x2/qcbm/tuning.h5" in json.dumps(manifest)


def test_a_larger_budget_runs_only_the_new_trials(tuned_run, tmp_path):
    """Nothing reruns unchanged; three trials instead of two plan qcbm's trial 2 only (no trial of rbm, whose
    override fixes its budget), then the selections and models that record the new budget; product stays."""
    assert planned_jobs(snakemake(tuned_run, "-n", configfile=TUNING_CONFIG).stdout) == []
    larger = tmp_path / "larger.yaml"
    larger.write_text(yaml.safe_dump(_config(trials=3), sort_keys=False))
    jobs = planned_jobs(snakemake(tuned_run, "-n", configfile=larger).stdout)
    trials = [w for rule, w in jobs if rule == "tune_trial"]
    assert trials == ["target=bas2x2, model=qcbm, trial=2"], jobs
    # rbm (its own budget) runs no trial; its selection and models record the study's new budget
    assert {w for rule, w in jobs if rule == "select_tuning"} == {"target=bas2x2, model=qcbm", "target=bas2x2, model=rbm"}
    trained = {w.split(", seed")[0] for rule, w in jobs if rule == "train_model"}
    assert trained == {"target=bas2x2, model=qcbm", "target=bas2x2, model=rbm"}


def test_without_trials_no_tuning_job_is_planned(tmp_path):
    """tuning.trials 0 and no override: the study plans no trial, no selection and no tuning figure."""
    config = _config(trials=0)
    del config["models"]["rbm"]["tuning"]
    path = tmp_path / "untuned.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_jobs(snakemake(new_workdir(tmp_path / "run"), "-n", configfile=path).stdout)
    rules = {rule for rule, _ in jobs}
    assert "train_model" in rules and not rules & {"tune_trial", "select_tuning", "plot_tuning"}
    assert (REPO / "workflow/rules/tune.smk").is_file()
