"""Results that cannot be silently wrong, through the real workflow: cache keys, swapped artefacts,
code edits, moved studies, file permissions and studies sharing a folder."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from qgenflow.sources import stage_modules

from .conftest import REPO, TEST_CONFIG, new_workdir, planned_jobs, snakemake

#: Which stage's code each rule runs.
RULE_STAGES = {
    "make_target": "targets",
    "train_model": "train",
    "evaluate_model": "evaluate",
    "evaluate_reference": "evaluate",
    "make_table": "evaluate",
    "publish": "publish",
}

TINY = {
    "targets": {"bas": {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}},
    "models": {"q": {"kind": "qcbm", "layers": 1, "optimizer": {"name": "adam", "lr": 0.1, "steps": 2},
                     "n_samples": 100}},
    "studies": [{"targets": ["bas"], "models": ["q"]}],
    "evaluation": {"n_samples": 100, "n_bootstrap": 10},
    "figures": {"formats": ["png"]},
}


def _tiny(tmp_path: Path, name: str, **changes) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}, sort_keys=False))
    return path


def _copy_study(study_run: Path, dest: Path) -> Path:
    shutil.copytree(study_run, dest, symlinks=True)  # copy2: modification times kept, as `cp -a`
    return dest


def _stage_of(rule: str) -> str:
    return RULE_STAGES.get(rule, "figures" if rule.startswith("plot_") else "")


def test_cache_keys_hold_the_seed_and_detect_altered_entries(tmp_path, monkeypatch):
    """--cache gives each seed its own target; a later study reuses the right one; an altered entry is caught."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(cache))
    target = "results/targets/bas/seed{}/target.h5"
    first = new_workdir(tmp_path / "first")
    snakemake(first, "--cores", "2", "--cache=make_target", "--", target.format(0), target.format(1),
              configfile=_tiny(tmp_path, "first", seeds=[0, 1]))
    with h5py.File(first / target.format(0)) as a, h5py.File(first / target.format(1)) as b:
        assert (a.attrs["seed"], b.attrs["seed"]) == (0, 1)
        assert not np.array_equal(a["samples"][()], b["samples"][()])
    assert len(list(cache.iterdir())) == 2

    second = new_workdir(tmp_path / "second")  # another study: seed 5 is made, not taken from seed 0
    snakemake(second, "--cores", "1", "--cache=make_target", "--", target.format(5),
              configfile=_tiny(tmp_path, "second", seeds=[5]))
    with h5py.File(second / target.format(5)) as fh:
        assert fh.attrs["seed"] == 5
    assert len(list(cache.iterdir())) == 3

    third = new_workdir(tmp_path / "third")  # the same seed is taken from the cache, byte for byte
    snakemake(third, "--cores", "1", "--cache=make_target", "--", target.format(1),
              configfile=_tiny(tmp_path, "third", seeds=[1]))
    assert (third / target.format(1)).read_bytes() == (first / target.format(1)).read_bytes()

    for entry in cache.iterdir():  # alter every stored entry after it was cached
        entry.chmod(entry.stat().st_mode | stat.S_IWUSR)
        with h5py.File(entry, "r+") as fh:
            fh["samples"][0] = 1 - fh["samples"][0]
    fourth = new_workdir(tmp_path / "fourth")
    proc = snakemake(fourth, "--cores", "1", "--cache=make_target", "--", "results/models/bas/q/seed0/model.h5",
                     configfile=_tiny(tmp_path, "fourth", seeds=[0]), check=False)
    assert proc.returncode != 0
    log = (fourth / "logs/models/bas/q/seed0.log").read_text()
    assert "altered after qgenflow wrote it" in log, log
    assert not (fourth / "results/models/bas/q/seed0/model.h5").exists()


def test_swapped_target_stops_the_first_job_that_reads_it(study_run, tmp_path):
    """Another target's file copied over this target's and touched: the training job refuses it, naming both."""
    study = _copy_study(study_run, tmp_path / "swapped")
    table = (study / "results/tables/uniform2.csv").read_bytes()
    victim = study / "results/targets/uniform2/seed0/target.h5"
    shutil.copyfile(study / "results/targets/bas2x2/seed0/target.h5", victim)
    os.utime(victim)
    logs = sorted((study / "logs").rglob("*.log"))
    before = {log: log.read_text() for log in logs}
    proc = snakemake(study, "--cores", "2", check=False)
    assert proc.returncode != 0
    # Whichever reader ran first (training, or the reference rows' evaluation) refused the file.
    new_text = [log.read_text().removeprefix(before.get(log, "")) for log in sorted((study / "logs").rglob("*.log"))]
    refusals = [text for text in new_text if "is not the artefact this job expects" in text]
    assert refusals, proc.stdout + proc.stderr
    for text in refusals:
        assert str(victim.relative_to(study)) in text
        assert 'kind: "bars_and_stripes" in the file, expected "uniform"' in text, text
    assert "results/targets/uniform2/seed0" in proc.stdout + proc.stderr
    assert (study / "results/tables/uniform2.csv").read_bytes() == table  # nothing downstream was replaced


@pytest.mark.parametrize(
    "module", ["targets/spin.py", "circuits/exact.py", "plots/style.py", "stages/publish.py"]
)
def test_editing_a_module_reruns_exactly_the_stages_that_import_it(study_run, module):
    """The jobs planned after an edit are those of every stage whose import graph holds the module."""
    source = REPO / "src/qgenflow" / module
    name = "qgenflow." + module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    importers = {stage for stage in set(RULE_STAGES.values()) | {"figures"} if name in stage_modules(stage)}
    assert importers, f"no stage imports {name}"
    original, st = source.read_bytes(), source.stat()
    try:
        source.write_bytes(original + b"\n# edited by the source-graph test\n")
        rules = {rule for rule, _ in planned_jobs(snakemake(study_run, "-n").stdout)} - {"default"}
    finally:
        source.write_bytes(original)
        os.utime(source, (st.st_atime, st.st_mtime))
    stages = {_stage_of(rule) for rule in rules}
    assert importers <= stages, (module, importers, rules)
    assert ("make_target" in rules) == ("targets" in importers), rules
    assert ("train_model" in rules) == bool({"targets", "train"} & importers), rules


def test_moved_study_plans_nothing(study_run, tmp_path):
    """A finished study copied elsewhere (cp -a) plans no job, and no job input names a path outside it."""
    moved = _copy_study(study_run, tmp_path / "elsewhere" / "moved")
    assert planned_jobs(snakemake(moved, "-n").stdout) == []
    summary = snakemake(moved, "--detailed-summary").stdout
    assert str(REPO) not in summary and str(study_run) not in summary


def test_results_are_readable_by_group_and_others(study_run):
    """Under umask 022 (set by the study_run fixture) every file under results/ is mode 0644."""
    files = [p for p in (study_run / "results").rglob("*") if p.is_file()]
    assert len(files) > 50
    modes = {p.relative_to(study_run).as_posix(): p.stat().st_mode & 0o777 for p in files}
    assert {mode for mode in modes.values()} == {0o644}, {p: oct(m) for p, m in modes.items() if m != 0o644}


def test_second_study_reusing_a_target_name_stops_before_any_job(study_run, tmp_path):
    """Another study naming the same target stops at parse time, naming the files and how to keep both."""
    study = _copy_study(study_run, tmp_path / "shared")
    other = tmp_path / "other_study.yaml"
    shutil.copyfile(TEST_CONFIG, other)
    before = {p: p.read_bytes() for p in (study / "results/tables").iterdir()}
    proc = snakemake(study, "--cores", "2", configfile=other, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "written by study 'config'" in out and "running study 'other_study'" in out
    assert "results/tables/" in out and "snakemake -d" in out
    assert {p: p.read_bytes() for p in (study / "results/tables").iterdir()} == before
    # Declaring it the same study lets it run (here: nothing to do).
    proc = snakemake(study, "-n", "--config", "study=config", configfile=other)
    assert planned_jobs(proc.stdout) == []


@pytest.mark.parametrize(
    "change, key",
    [
        ({"models": {"q": {**TINY["models"]["q"], "optimizer": {"lr": float("nan")}}}}, "models.q.optimizer.lr"),
        ({"seeds": [2**70]}, "seeds[0]"),
        ({"targets": {"x" + "ab" * 20: TINY["targets"]["bas"]},
          "studies": [{"targets": ["x" + "ab" * 20], "models": ["q"]}]}, "targets.x" + "ab" * 20),
        ({"targets": {"f": {"kind": "file", "path": "data/{seed}.csv"}},
          "studies": [{"targets": ["f"], "models": ["q"]}]}, "targets.f.path"),
    ],
    ids=["nan_lr", "huge_seed", "periodic_name", "braces_in_path"],
)
def test_workflow_refuses_bad_values_before_any_job(tmp_path, change, key):
    """Snakemake's parse-time checks refuse the value, naming the key; no job runs, no results/ appears."""
    workdir = new_workdir(tmp_path / "w")
    proc = snakemake(workdir, "--cores", "1", configfile=_tiny(tmp_path, "bad", **change), check=False)
    assert proc.returncode != 0
    assert key in proc.stdout + proc.stderr
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_a_named_study_does_not_inherit_the_default_config(tmp_path):
    """--configfile replaces config/config.yaml: no seeds, models or settings leak in from the default study."""
    workdir = new_workdir(tmp_path / "w")
    (workdir / "config").mkdir()
    shutil.copyfile(REPO / "config/config.yaml", workdir / "config/config.yaml")
    proc = snakemake(workdir, "-n", "--until", "make_target", configfile=_tiny(tmp_path, "mine"))
    assert planned_jobs(proc.stdout) == [("make_target", "target=bas, seed=0")]
