"""The tiny test study through a real SLURM: every job goes through sbatch, results equal a local run's.

Starts a single-node SLURM cluster on loopback with tests/cluster/slurm/start.sh (root only:
it installs SLURM, munge and MariaDB with apt-get and writes /etc/slurm), runs the study
with ``snakemake --profile tests/cluster/profile``, and checks against slurmdbd's accounting
(``sacct``) that SLURM ran exactly one job per workflow job that is not run locally, each
named after its rule and wildcards. Runs only when asked: ``QGENFLOW_SLURM_TEST=1``.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest

from qgenflow.io import VOLATILE_ATTRS

from ..workflow.conftest import REPO, SNAKEFILE, TEST_CONFIG, new_workdir, snakemake
from .conftest import PROFILE, daemon_logs, skip_reason

RUN_TIMEOUT = 900  # seconds for the whole SLURM run: timeout -k 10 900 snakemake ...

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]


# ---------------------------------------------------------------------------------------
# What the workflow should have sent to SLURM


JOB_HEADER = re.compile(r"^(local)?rule (\S+):$")


def _jobs_in_log(text: str) -> list[dict]:
    """Jobs a dry run or a run prints: rule, local (printed as ``localrule``), jobid, wildcards."""
    jobs = []
    for line in text.splitlines():
        line = line.strip()
        match = JOB_HEADER.match(line)
        if match:
            jobs.append({"local": bool(match.group(1)), "rule": match.group(2), "jobid": None, "wildcards": []})
        elif jobs and line.startswith("jobid:"):
            jobs[-1]["jobid"] = int(line.split(":", 1)[1])
        elif jobs and line.startswith("wildcards:"):
            pairs = line.split(":", 1)[1].strip().split(", ")
            jobs[-1]["wildcards"] = [tuple(p.split("=", 1)) for p in pairs if p]
    return jobs


def _declared_local_rules() -> set[str]:
    """Rules the workflow marks local (``localrules:`` or ``localrule: True``)."""
    names = set()
    for path in [REPO / "Snakefile", REPO / "workflow/Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        rule = None
        for line in path.read_text().splitlines():
            if m := re.match(r"^localrules:\s*(.*)$", line):
                names.update(n.strip() for n in m.group(1).split(",") if n.strip())
            elif m := re.match(r"^(?:rule|checkpoint)\s+(\w+)\s*:", line):
                rule = m.group(1)
            elif rule and re.match(r"^\s+localrule:\s*True\b", line):
                names.add(rule)
    return names


def _comment(job: dict) -> str:
    """The sbatch --comment snakemake-executor-plugin-slurm gives a job."""
    values = "_".join(v for _, v in job["wildcards"]).replace("/", "_")
    return f"rule_{job['rule']}_wildcards_{values}" if values else f"rule_{job['rule']}"


def _key(job: dict) -> tuple:
    return (job["rule"], tuple(job["wildcards"]))


# ---------------------------------------------------------------------------------------
# What SLURM recorded


def _sacct(run_id: str) -> list[dict]:
    """slurmdbd's records of the run's jobs (the plugin names every job after the run ID)."""
    fields = ["JobIDRaw", "JobName", "State", "ExitCode", "Comment", "Account", "Partition", "WorkDir"]
    since = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    cmd = ["sacct", "-X", "-P", "-n", "--name", run_id, "-S", since, "-E", "now", "-o", ",".join(fields)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return [dict(zip(fields, line.split("|"))) for line in proc.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------
# Results


def _is_timing(name: str) -> bool:
    """Measured costs (``train_seconds_mean``, ``seconds_per_step``, ``peak_memory_mb``) differ between runs."""
    last = name.rsplit("/", 1)[-1]
    return "seconds" in last or last == "peak_memory_mb"


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    try:
        return np.array_equal(a, b, equal_nan=True)
    except TypeError:  # strings, bytes, objects
        return np.array_equal(a, b)


def _h5(path: Path) -> tuple[dict, dict]:
    datasets = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: datasets.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {
            k: v
            for k, v in fh.attrs.items()
            # input files embed creation times, so their hashes differ between runs
            if k not in VOLATILE_ATTRS and k != "inputs_sha256" and not _is_timing(k)
        }
    return datasets, attrs


#: Measured costs that verdicts and decision rules quote (training time, peak memory) differ between runs.
_MEASURED = re.compile(r"[-+.\deE]+ s training|[-+.\deE]+ MB peak memory")


#: A row of a target's HTML table page (results/tables/<target>.html): its header cell and the rest.
_HTML_ROW = re.compile(r'<tr><th class="row">([^<]*)</th>.*?</tr>', re.S)


def _text(path: Path) -> str:
    """The text of a table file with measured costs masked (in a page: the rows of timing and memory)."""
    text = _MEASURED.sub("<measured>", path.read_text())
    measured_row = lambda m: "<measured row>" if _is_timing(m.group(1)) or " time (s)" in m.group(1) else m.group(0)  # noqa: E731
    return _HTML_ROW.sub(measured_row, text) if path.suffix == ".html" else text


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    keep = [i for i, name in enumerate(rows[0]) if not _is_timing(name)]
    return [rows[0][i] for i in keep], [[row[i] for i in keep] for row in rows[1:]]


def _results(workdir: Path) -> list[Path]:
    return sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------


def test_study_through_slurm_equals_local_run(slurm_cluster, tmp_path):
    """Every non-local job is one SLURM job (slurmdbd says so) and the results equal a local run's."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu"}
    planned = _jobs_in_log(snakemake(new_workdir(tmp_path / "plan"), "-n").stdout)
    assert planned and all(j["jobid"] is not None for j in planned)
    target = min(planned, key=lambda j: j["jobid"])  # jobid 0: the default target, a no-op run locally
    local_rules = _declared_local_rules()
    expected = [j for j in planned if j is not target and j["rule"] not in local_rules]
    assert expected, "the test study has no job for SLURM"

    workdir = new_workdir(tmp_path / "slurm")
    log = workdir / "snakemake-slurm.log"
    cmd = ["timeout", "-k", "10", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE),
           "-d", str(workdir), "--configfile", str(TEST_CONFIG), "--profile", str(PROFILE)]  # fmt: skip
    started = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.run(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    text = log.read_text()
    if rc != 0:
        why = f"timed out after {RUN_TIMEOUT} s" if rc in (124, 137) else f"exit status {rc}"
        queue = subprocess.run(["squeue"], capture_output=True, text=True).stdout
        pytest.fail(f"SLURM run failed ({why}):\n{text[-6000:]}\nsqueue:\n{queue}\n{daemon_logs()}")
    print(f"SLURM run: {time.monotonic() - started:.0f} s")

    # Snakemake's own account of the run: the planned jobs, local ones printed as "localrule".
    ran = _jobs_in_log(text)
    assert Counter(map(_key, ran)) == Counter(map(_key, planned)), "the run did not run the planned jobs"
    assert sorted(map(_key, (j for j in ran if not j["local"]))) == sorted(map(_key, expected))

    # SLURM's accounting: one completed job per expected job, named by rule and wildcards.
    run_id = re.search(r"^SLURM run ID: (\S+)$", text, re.M)
    assert run_id, "the run did not use snakemake-executor-plugin-slurm"
    records = _sacct(run_id.group(1))
    assert len(records) == len(expected), f"{len(records)} SLURM jobs for {len(expected)} workflow jobs"
    assert Counter(r["Comment"] for r in records) == Counter(map(_comment, expected))
    for record in records:
        assert (record["State"], record["ExitCode"]) == ("COMPLETED", "0:0"), record
        assert (record["Account"], record["Partition"]) == ("qgenflow", "local"), record
        assert Path(record["WorkDir"]) == workdir, record
    rules = {r["Comment"].removeprefix("rule_").split("_wildcards_")[0] for r in records}
    assert rules == {j["rule"] for j in expected}

    # The same study run locally gives the same results.
    local = new_workdir(tmp_path / "local")
    snakemake(local, "--cores", "2")
    assert _results(workdir) == _results(local)
    h5_files = [p for p in _results(local) if p.suffix == ".h5"]
    assert h5_files
    for rel in h5_files:
        (da, aa), (db, ab) = _h5(workdir / rel), _h5(local / rel)
        assert sorted(da) == sorted(db), rel
        for key in da:
            assert _same(da[key], db[key]), f"{rel}:/{key}"
        assert aa.keys() == ab.keys(), rel
        for key in aa:
            assert _same(aa[key], ab[key]), f"{rel} attr {key}"
    tables = [p for p in _results(local) if p.parent == Path("results/tables")]
    assert any(p.suffix == ".csv" for p in tables)
    for rel in tables:
        if rel.suffix == ".csv":
            assert _table(workdir / rel) == _table(local / rel), rel
        else:
            assert _text(workdir / rel) == _text(local / rel), rel
