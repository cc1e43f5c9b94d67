"""End-to-end runs of the workflow on the tiny test study."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from qgenflow.io import VOLATILE_ATTRS

from ..browser import CHROMEDRIVER, CHROMIUM, show_table_page
from .conftest import REPO, TEST_CONFIG, new_workdir, planned_jobs, snakemake

def _is_timing(attr: str) -> bool:
    """Measured costs (``*seconds``, ``seconds_per_step``, ``peak_memory_mb``) legitimately differ between runs."""
    return attr.endswith("seconds") or attr.startswith("seconds") or attr == "peak_memory_mb"


FIGURES = {
    "uniform2": ["training", "distribution", "correlations", "metrics", "audit"],
    "uniform3": ["training", "distribution", "correlations", "metrics", "audit"],
    "bas2x2": ["training", "distribution", "correlations", "metrics", "qgan", "audit", "scaling_params"],
    "gauss3": ["training", "distribution", "correlations", "metrics", "audit"],
    "user3": ["training", "distribution", "correlations", "metrics", "audit"],
    "chain4": ["training", "distribution", "correlations", "metrics", "corr_r", "qgan", "audit"],
}


def test_outputs_complete(study_run):
    """Targets, models, metrics, tables and every applicable figure exist after a run."""
    results = study_run / "results"
    assert (results / "targets/bas2x2/seed0/target.h5").exists()
    assert (results / "models/bas2x2/qcbm_sgd/seed0/model.h5").exists()
    assert (results / "eval/uniform2/qcbm/seed0/metrics.h5").exists()
    drawn = sorted(p.relative_to(results / "figures").as_posix() for p in (results / "figures").rglob("*.png"))
    expected = sorted([f"{t}_{f}.png" for t, figs in FIGURES.items() for f in figs] + ["scaling/qubits_uniform.png"])
    assert drawn == expected
    for target in FIGURES:
        assert (results / f"tables/{target}.csv").stat().st_size > 0
    for png in (results / "figures").rglob("*.png"):
        assert png.stat().st_size > 5_000, png
    table = (results / "tables/bas2x2.csv").read_text().splitlines()
    assert table[0].startswith("model,role,")
    assert [row.split(",")[0] for row in table[1:]] == [
        "qcbm", "qcbm_l1", "qcbm_sgd", "rbm", "made", "product", "qgan", "data", "uniform"
    ]
    verdict = (results / "tables/bas2x2_verdict.txt").read_text()
    assert verdict.splitlines()[1].startswith("verdict: ") and "conditions:" in verdict and "per metric" in verdict


def test_figures_have_no_clipped_text(study_run):
    """Every figure job drew its text inside the canvas (save_figure warns otherwise)."""
    logs = sorted((study_run / "logs/figures").glob("*.log"))
    assert len(logs) == sum(len(f) for f in FIGURES.values()) + 1
    for log in logs:
        assert "cut off" not in log.read_text(), log


def test_publish_manifest_matches_files(study_run):
    """results/publish holds every figure and table; the manifest's checksums match the files."""
    import hashlib
    import json

    from qgenflow.stages.publish import verify_manifest

    publish = study_run / "results/publish"
    manifest = json.loads((publish / "manifest.json").read_text())
    names = {entry["file"] for entry in manifest["files"]}
    figures = {p.relative_to(study_run / "results").as_posix() for p in (study_run / "results/figures").rglob("*.png")}
    tables = {p.relative_to(study_run / "results").as_posix() for p in (study_run / "results/tables").iterdir()}
    assert names == figures | tables
    for entry in manifest["files"]:
        data = (publish / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data == (study_run / entry["source"]).read_bytes()
        assert entry["drawn_from"], entry["file"]
        for source in entry["drawn_from"]:
            prov = manifest["artefacts"][source]
            assert prov["sha256"] == hashlib.sha256((study_run / source).read_bytes()).hexdigest()
            assert {"kind", "git_commit", "config", "package_versions", "qgenflow_version"} <= prov.keys()
    assert verify_manifest(publish / "manifest.json") == []
    tampered = publish / manifest["files"][0]["file"]
    original = tampered.read_bytes()
    try:
        tampered.write_bytes(original + b"x")
        assert verify_manifest(publish / "manifest.json") == [f"{manifest['files'][0]['file']}: sha256 differs from the manifest"]
    finally:
        tampered.write_bytes(original)


def test_second_run_is_a_noop(study_run):
    """Nothing reruns when nothing changed."""
    proc = snakemake(study_run, "-n")
    assert planned_jobs(proc.stdout) == []


def test_report(study_run):
    """snakemake --report writes a self-contained HTML report, figures and tables grouped by target."""
    import json
    import re

    snakemake(study_run, "--report", "results/report.html")
    html = (study_run / "results/report.html").read_text()
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html).group(1))
    assert set(categories) == set(FIGURES) | {"Scaling"}
    for target, figs in FIGURES.items():
        assert sorted(categories[target]["Figures"]) == sorted(f"results/figures/{target}_{f}.png" for f in figs)
        # one HTML page per target holds its table, verdict, audit and decision rule
        assert categories[target]["Tables"] == [f"results/tables/{target}.html"]
    assert "on the same metrics, one panel" in html  # captions come from workflow/report/
    if CHROMIUM is not None and CHROMEDRIVER is not None:  # what a reader sees: Chromium clicks through
        for target in FIGURES:
            png = study_run / f"results/report_{target}.png"
            text = show_table_page(study_run / "results/report.html", target, png)
            assert f"{target}: tables and verdict" in text and "verdict: " in text, text[:2000]
            assert " ± " in text and "Advantage audit" in text and "conclusion: " in text, text[:2000]


def test_changing_one_learning_rate_reruns_only_that_model(study_run, tmp_path):
    """Only the changed model's train/evaluate jobs and their dependants are planned."""
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["models"]["qcbm_sgd"]["optimizer"]["lr"] = 0.25
    changed = tmp_path / "config.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_jobs(snakemake(study_run, "-n", configfile=changed).stdout)
    rules = sorted(rule for rule, _ in jobs)
    assert rules == sorted(
        [
            "train_model", "evaluate_model", "make_table", "plot_training", "plot_distribution",
            "plot_correlations", "plot_metrics", "plot_scaling_params", "audit_target", "plot_audit", "publish",
            "default", "table_page",
        ]
    ), jobs
    for rule, wildcards in jobs:
        if rule in ("train_model", "evaluate_model"):
            assert "model=qcbm_sgd" in wildcards and "target=bas2x2" in wildcards
        if rule.startswith("plot_") or rule == "make_table":
            assert "target=bas2x2" in wildcards


@pytest.mark.parametrize(
    "change", [{"dpi": 150}, {"formats": ["png", "svg"]}, {"max_bitstrings": 8}, {"metrics": ["tv_samples"]}]
)
def test_changing_figure_settings_redraws_only_figures(study_run, tmp_path, change):
    """Figure settings rerun figure jobs and the publish folder, never targets, training or evaluation."""
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["figures"].update(change)
    changed = tmp_path / "config.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    rules = {rule for rule, _ in planned_jobs(snakemake(study_run, "-n", configfile=changed).stdout)}
    assert rules - {"publish", "default"} and all(r.startswith("plot_") for r in rules - {"publish", "default"}), rules


def test_editing_training_code_reruns_training_not_targets(study_run):
    """An edited training source file reruns train and downstream, never make_target."""
    source = REPO / "src/qgenflow/fit/loop.py"
    original, stat = source.read_bytes(), source.stat()
    try:
        source.write_bytes(original + b"# edited by the rerun test\n")
        jobs = planned_jobs(snakemake(study_run, "-n").stdout)
    finally:
        source.write_bytes(original)
        os.utime(source, (stat.st_atime, stat.st_mtime))
    rules = {rule for rule, _ in jobs}
    assert {"train_model", "evaluate_model", "make_table"} <= rules and "make_target" not in rules, jobs


def _same(a, b) -> bool:
    """Bit-identical values, NaN equal to NaN (a metric not defined for a model is NaN in both runs)."""
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")


def _datasets(path: Path) -> dict:
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: v for k, v in fh.attrs.items() if k not in VOLATILE_ATTRS and not _is_timing(k)}
    return out, attrs


@pytest.mark.slow  # a second whole study run (~3 min on 2 cores)
def test_two_clean_runs_give_identical_datasets(study_run, tmp_path):
    """Every dataset of every artefact is bit-identical across two clean runs."""
    other = new_workdir(tmp_path / "study_b")
    snakemake(other, "--cores", "2")
    files = sorted(p.relative_to(study_run) for p in (study_run / "results").rglob("*.h5"))
    assert len(files) == 6 + 13 + 13 + 6 * 2 + 6  # targets, models, model metrics, reference metrics, audits
    for rel in files:
        (da, aa), (db, ab) = _datasets(study_run / rel), _datasets(other / rel)
        assert sorted(da) == sorted(db), rel
        for key in da:
            assert _same(da[key], db[key]), f"{rel}:/{key}"
        assert aa.keys() == ab.keys(), rel
        for key in aa:
            if key == "inputs_sha256":
                continue  # input files embed creation times, so their hashes differ
            assert _same(aa[key], ab[key]), f"{rel} attr {key}"
    assert (study_run / "results/tables/bas2x2.csv").read_text().count("\n") == 10
    shutil.rmtree(other)


def test_between_workflow_cache_shares_targets(tmp_path, monkeypatch):
    """With --cache, a second study takes an identical target from the shared cache."""
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    target = "results/targets/uniform2/seed0/target.h5"
    first, second = tmp_path / "one", tmp_path / "two"
    for workdir in (first, second):
        workdir.mkdir()
    snakemake(first, "--cores", "1", "--cache=make_target", target)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    proc = snakemake(second, "--cores", "1", "--cache=make_target", target)
    log = second / "logs/targets/uniform2/seed0.log"
    assert not log.exists() or log.stat().st_size == 0  # the job itself did not run
    assert (second / target).read_bytes() == (first / target).read_bytes()
    assert "cache" in (proc.stdout + proc.stderr).lower()


def test_malformed_user_file_fails_the_job_naming_file_and_problem(tmp_path):
    """A ragged sample file stops make_target with the file name and the offending line."""
    workdir = new_workdir(tmp_path / "bad")
    (workdir / "data/ghz3_samples.csv").write_text("000\n111\n01\n")
    target = "results/targets/user3/seed0/target.h5"
    proc = snakemake(workdir, "--cores", "1", target, check=False)
    assert proc.returncode != 0 and not (workdir / target).exists()
    log = (workdir / "logs/targets/user3/seed0.log").read_text()
    assert "ghz3_samples.csv" in log and "line 3" in log and "ragged" in log
