"""External-style check: a 16-bit data set given as separate train and test files, every model tuned alike.

The study benchmarks/ising_external.yaml runs through the workflow (snakemake, trials as jobs) in a
scratch folder holding a copy of data/ising4x4_T3_{train,test}.txt: the 4x4 periodic Ising model at
T = 3 (data/make_ising4x4.py), 5,000 train rows (a tenth held out for validation) and 10,000 test
rows. qcbm, product, rbm, made (autoregressive) and transformer get the same tuning budget
(`tuning.trials`, default 4; product has nothing to tune). For every reported bandwidth the script
prints each model's test MMD^2 with its bootstrap error beside the `data` row (the training samples
scored on the test file: the noise floor at this sample size) and whether the model is within twice
the combined bootstrap error of it, |m - d| < 2 sqrt(e_m^2 + e_d^2).

Run:  python benchmarks/bench_external_ising.py [--trials 4] [--cores 2] [--workdir DIR] [--out table.json]
(default workdir: benchmarks/results/ising_external, git-ignored; an existing run is reused by snakemake).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "benchmarks" / "ising_external.yaml"
DATA_FILES = ("ising4x4_T3_train.txt", "ising4x4_T3_test.txt")
TARGET = "ising4x4"
DATA_ROW = "data"
MODELS = ("product", "rbm", "made", "transformer", "qcbm")


def run_study(workdir: Path, trials: int, cores: int) -> Path:
    """Run the study's table (and what it needs) in workdir; returns the table's path."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        shutil.copy2(REPO / "data" / name, workdir / "data" / name)
    config = yaml.safe_load(CONFIG.read_text())
    config["tuning"]["trials"] = trials
    configfile = workdir / "study.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    table = Path("results/tables") / f"{TARGET}.csv"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--configfile", str(configfile), "--cores", str(cores), "--rerun-incomplete", str(table)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"workflow: {time.perf_counter() - start:.0f} s")
    return workdir / table


def read_table(path: Path) -> dict[str, dict[str, str]]:
    with open(path) as fh:
        return {row["model"]: row for row in csv.DictReader(fh)}


def bandwidths(row: dict[str, str]) -> list[str]:
    """The per-bandwidth MMD^2 columns' suffixes (sigma0.5, ...), in table order."""
    prefix, suffix = "mmd2_samples_", "_mean"
    return [c[len(prefix):-len(suffix)] for c in row if c.startswith(prefix + "sigma") and c.endswith(suffix)]


def compare(rows: dict[str, dict[str, str]]) -> list[dict]:
    """One record per (bandwidth, model): test MMD^2, error, gap to the data row and the 2-sigma verdict."""
    data = rows[DATA_ROW]
    out = []
    for sigma in ["all"] + bandwidths(data):
        key = "mmd2_samples" if sigma == "all" else f"mmd2_samples_{sigma}"
        d, de = float(data[f"{key}_mean"]), float(data[f"{key}_stderr"])
        for model in (DATA_ROW,) + MODELS:
            m, me = float(rows[model][f"{key}_mean"]), float(rows[model][f"{key}_stderr"])
            combined = math.hypot(me, de)
            out.append({"bandwidth": sigma, "model": model, "mmd2": m, "stderr": me, "gap": m - d,
                        "combined_err": combined, "within_2sigma": model == DATA_ROW or abs(m - d) < 2 * combined,
                        "trials": rows[model]["trials"], "tuning_seconds": rows[model]["tuning_seconds"],
                        "train_seconds": rows[model]["train_seconds_mean"]})
    return out


def print_table(records: list[dict]) -> None:
    print(f"\ntest MMD^2 on {TARGET} (bandwidth 'all' = the mixture of every sigma); "
          "within = |model - data| < 2 x combined bootstrap error")
    print(f"{'bandwidth':>10} {'model':>12} {'MMD^2':>11} {'+-':>9} {'- data':>11} {'2 x err':>9} {'within':>6}")
    for r in records:
        within = "-" if r["model"] == DATA_ROW else ("yes" if r["within_2sigma"] else "no")
        print(f"{r['bandwidth']:>10} {r['model']:>12} {r['mmd2']:11.3e} {r['stderr']:9.1e} "
              f"{r['gap']:11.3e} {2 * r['combined_err']:9.1e} {within:>6}")
    print(f"\n{'model':>12} {'trials':>6} {'tuning s':>9} {'train s':>8}")
    seen = set()
    for r in records:
        if r["model"] not in seen and r["model"] != DATA_ROW:
            seen.add(r["model"])
            print(f"{r['model']:>12} {r['trials']:>6} {float(r['tuning_seconds'] or 'nan'):9.1f} "
                  f"{float(r['train_seconds'] or 'nan'):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4, help="tuning trials per model (the same for all)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "results" / "ising_external")
    parser.add_argument("--out", help="write the records as JSON here")
    args = parser.parse_args()
    records = compare(read_table(run_study(args.workdir.resolve(), args.trials, args.cores)))
    print_table(records)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(records, fh, indent=2)


if __name__ == "__main__":
    main()
