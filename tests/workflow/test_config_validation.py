"""Bad configs fail before any job runs, naming the key and what is allowed."""

from __future__ import annotations

import copy

import pytest
import yaml

from .conftest import REPO, TEST_CONFIG, planned_jobs, snakemake

BASE = yaml.safe_load(TEST_CONFIG.read_text())


def _broken(mutate):
    config = copy.deepcopy(BASE)
    mutate(config)
    return config


CASES = {
    "misspelled key": (
        lambda c: c["models"]["qcbm"].__setitem__("layerz", 3),
        ["models", "qcbm", "layerz"],
    ),
    "zero layers": (
        lambda c: c["models"]["qcbm"].__setitem__("layers", 0),
        ["layers", "minimum of 1"],
    ),
    "unknown target kind": (
        lambda c: c["targets"]["bas2x2"].__setitem__("kind", "bars_and_strips"),
        ["targets", "bas2x2", "kind", "bars_and_stripes", "uniform"],
    ),
    "unknown study target": (
        lambda c: c["studies"][0]["targets"].append("nope"),
        ["studies[0].targets", "nope", "defined: bas2x2, chain4, gauss3, uniform2, uniform3, user3"],
    ),
    "misspelled top-level key": (
        lambda c: c.__setitem__("evalution", {}),
        ["evalution"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_fails_before_any_job(case, tmp_path):
    """The dry run exits non-zero with a message naming the key; nothing is written."""
    mutate, expected = CASES[case]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_broken(mutate)))
    proc = snakemake(tmp_path, "--cores", "1", configfile=path, check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    for fragment in expected:
        assert fragment in message, (fragment, message[-3000:])
    assert not (tmp_path / "results").exists()


def test_default_study_dry_run_lists_whole_dag(tmp_path):
    """snakemake -n on the default config plans every stage."""
    proc = snakemake(tmp_path, "-n", configfile=REPO / "config/config.yaml")
    rules = {rule for rule, _ in planned_jobs(proc.stdout)}
    assert rules == {
        "make_target", "train_model", "evaluate_model", "evaluate_reference", "make_table",
        "plot_training", "plot_distribution", "plot_correlations", "plot_metrics", "plot_corr_r",
        "plot_porter_thomas", "plot_qgan", "plot_scaling_params", "plot_scaling_qubits", "publish", "default",
        "audit_target", "plot_audit", "table_page", "tune_trial", "select_tuning", "plot_tuning",
    }


def test_lint_is_clean():
    """snakemake --lint reports nothing."""
    proc = snakemake(REPO, "--lint", configfile=None, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr or (proc.stdout + proc.stderr).strip() == ""


def test_snakefmt_clean():
    """The Snakefiles are formatted as snakefmt writes them."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gpu_profile_switches_devices_or_names_the_missing_extra(tmp_path):
    """With the gpu extra, training jobs run on lightning.gpu and ask for a GPU; without it the
    profile stops before any job, naming compute.simulator and the extra to install."""
    import importlib.util

    proc = snakemake(tmp_path, "-n", "--profile", str(REPO / "workflow/profiles/gpu"), check=False)
    if importlib.util.find_spec("pennylane_lightning.lightning_gpu") is None:
        assert proc.returncode != 0
        assert "compute.simulator: lightning.gpu is not installed" in proc.stderr + proc.stdout
        assert not (tmp_path / "results").exists()
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "gpu=1" in proc.stdout  # the training jobs' GPU request
