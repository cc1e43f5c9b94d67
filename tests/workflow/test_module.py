"""qgenflow used as a Snakemake module: the README's example, run as written in a temporary folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Using qgenflow as a module"
PLACEHOLDER = "path/to/qgenflow/workflow/Snakefile"


def readme_example() -> tuple[str, str]:
    """The outer Snakefile and config/config.yaml of the README's module section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    snakefile = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    config = re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)
    assert PLACEHOLDER in snakefile
    return snakefile.replace(PLACEHOLDER, str(REPO / "workflow/Snakefile")), config


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _plain_prefix(caption: Path) -> str:
    """The opening words of a report caption, up to its first markup."""
    prefix = re.match(r"[A-Za-z ,]+", caption.read_text(encoding="utf-8")).group(0).strip()
    assert len(prefix) >= 15, prefix
    return prefix


def test_readme_example_dry_run_names_prefixed_rules(tmp_path):
    """The README's outer workflow parses: qgenflow's rules are planned under the qgenflow_ prefix from
    the outer config's `qgenflow` entry alone (not qgenflow's own default study)."""
    snakefile, config = readme_example()
    (tmp_path / "config").mkdir()
    (tmp_path / "Snakefile").write_text(snakefile)
    (tmp_path / "config/config.yaml").write_text(config)
    proc = _snakemake(tmp_path, "--dry-run")
    assert "qgenflow_train_model" in proc.stdout and "summarise_verdict" in proc.stdout
    assert "iqp8" not in proc.stdout and "results/targets/bas2x2/seed0/target.h5" in proc.stdout


@pytest.mark.slow
def test_readme_example_runs_as_a_module(tmp_path):
    """The README's outer workflow runs qgenflow's rules with its own config, its own rule consumes a
    qgenflow verdict, and the report carries qgenflow's captions (paths resolved from the module)."""
    snakefile, config = readme_example()
    (tmp_path / "config").mkdir()
    (tmp_path / "Snakefile").write_text(snakefile)
    (tmp_path / "config/config.yaml").write_text(config)
    _snakemake(tmp_path, "--cores", "2")
    study = yaml.safe_load(config)["qgenflow"]
    for target in study["targets"]:
        for model in study["models"]:
            assert (tmp_path / f"results/models/{target}/{model}/seed0/model.h5").is_file()
    table = (tmp_path / "results/tables/bas2x2.csv").read_text()
    assert all(model in table for model in study["models"])
    summary = (tmp_path / "summary/bas2x2_verdict.txt").read_text()
    assert summary.startswith("study: config") and "verdict" in summary
    _snakemake(tmp_path, "--report", "report.html")
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    for caption in ("workflow.rst", "training.rst", "tables.rst"):
        assert _plain_prefix(REPO / "workflow/report" / caption) in report, caption
