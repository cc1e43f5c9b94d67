"""Deployment: `make study` applies the shipped local profile, and the tiny `.test` study runs as
`snakemake --directory .test --cores 2` from the repository root."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import planned_jobs

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "workflow/profiles/default"
#: Rules of every stage, each of which the .test study must run at least once.
STAGE_RULES = {"make_target", "train_model", "evaluate_model", "evaluate_reference", "audit_target",
               "make_table", "plot_training", "plot_distribution", "publish"}  # fmt: skip


def _env() -> dict[str, str]:
    """The caller's environment without a global profile, which would mix into every run."""
    return {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}


def _run(cmd: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{shlex.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _test_study_copy(tmp_path: Path) -> Path:
    """A copy of .test (its config and data, none of its results) in a temporary folder."""
    copy = tmp_path / ".test"
    shutil.copytree(REPO / ".test", copy, ignore=shutil.ignore_patterns("results", "logs", "benchmarks", ".snakemake"))
    return copy


def _make_commands(target: str) -> list[list[str]]:
    """The snakemake command lines `make TARGET` runs (printed by `make -n`), with this interpreter."""
    venv = Path(sys.executable).parent.parent
    proc = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(f"{venv}/bin/snakemake ")]
    return [[sys.executable, "-m", "snakemake", *shlex.split(line)[1:]] for line in lines]


def _resources_of(rule: str, dry_run: str) -> dict[str, str]:
    lines = iter(dry_run.splitlines())
    for line in lines:
        if line.strip() == f"rule {rule}:":
            for inner in lines:
                if inner.strip().startswith("resources:"):
                    pairs = inner.strip()[len("resources:"):].split(",")
                    return dict(pair.strip().split("=", 1) for pair in pairs)
    raise AssertionError(f"no job of rule {rule} in the dry run")


def test_snakemake_applies_the_default_profile_by_itself(tmp_path):
    """A plain `snakemake -n` from the repository root (and `make study`, which adds nothing) runs with the
    workflow profile in effect; `--workflow-profile none` runs without it. The profile holds no key a cluster
    profile must own, because Snakemake stacks it on top of any --profile."""
    study = _test_study_copy(tmp_path)
    announcement = "Using workflow specific profile profiles/default"
    plain = _run([sys.executable, "-m", "snakemake", "--dry-run", "--directory", str(study)])
    assert announcement in plain.stderr
    off = _run([sys.executable, "-m", "snakemake", "--dry-run", "--workflow-profile", "none", "--directory", str(study)])
    assert announcement not in off.stderr
    assert (REPO / "profiles/default").resolve() == PROFILE.resolve()
    settings = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert settings["rerun-incomplete"] and settings["show-failed-logs"]
    assert not {"latency-wait", "keep-going", "default-resources", "executor", "jobs"} & set(settings)
    run, report = _make_commands("study")
    assert "--workflow-profile" not in run + report


def test_test_study_plans_every_stage(tmp_path):
    """`snakemake --directory .test -n` from the repository root reads .test/config/config.yaml and
    plans a job of every stage, writing only inside .test."""
    study = _test_study_copy(tmp_path)
    proc = _run([sys.executable, "-m", "snakemake", "--directory", str(study), "--dry-run"])
    rules = {rule for rule, _ in planned_jobs(proc.stdout)}
    assert STAGE_RULES <= rules, STAGE_RULES - rules
    assert "Config file(s): ['config/config.yaml']" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_test_study_runs(tmp_path):
    """`snakemake --directory .test --cores 2` completes: tables, verdicts and the publish folder."""
    study = _test_study_copy(tmp_path)
    _run([sys.executable, "-m", "snakemake", "--directory", str(study), "--cores", "2"], timeout=1800)
    config = yaml.safe_load((study / "config/config.yaml").read_text())
    for target in config["targets"]:
        assert (study / f"results/tables/{target}.csv").is_file()
        assert (study / f"results/tables/{target}_verdict.txt").read_text().startswith("study: config")
    assert (study / "results/publish/manifest.json").is_file()
    assert not (REPO / "results/targets/ghz3").exists()
