"""Helpers to run the workflow on the tiny test study in temporary directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
TEST_CONFIG = Path(__file__).resolve().parent / "config.yaml"


def snakemake(workdir: Path, *args: str, configfile: Path | None = TEST_CONFIG, check: bool = True):
    """Run snakemake on the repository's workflow in ``workdir``; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir)]
    if configfile is not None:
        cmd += ["--configfile", str(configfile)]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_jobs(dry_run_output: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs, rule = [], None
    for line in dry_run_output.splitlines():
        line = line.strip()
        if line.startswith("rule ") and line.endswith(":"):
            rule = line[5:-1]
            jobs.append((rule, ""))
        elif line.startswith("wildcards:") and jobs:
            jobs[-1] = (jobs[-1][0], line[len("wildcards:"):].strip())
    return jobs


def new_workdir(path: Path) -> Path:
    """A working directory holding the test study's user data under data/."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(__file__).resolve().parent / "data", path / "data", dirs_exist_ok=True)
    return path


@pytest.fixture(scope="session")
def study_run(tmp_path_factory) -> Path:
    """A completed run of the tiny test study, under umask 022 (the usual shared-folder setting)."""
    workdir = new_workdir(tmp_path_factory.mktemp("study_a"))
    old = os.umask(0o022)
    try:
        snakemake(workdir, "--cores", "2")
    finally:
        os.umask(old)
    return workdir
