"""write_table: seed aggregation into one CSV row per model."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from qgenflow.io import write_artefact
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.table import write_table

REL_TOL = 1e-12


@pytest.fixture
def write_metrics(tmp_path: Path):
    """Writer of a metrics artefact with chosen values: {name: (value, stderr, source)}."""

    def write(
        name: str,
        model: str,
        seed: int,
        values: dict,
        *,
        target: str = "toy",
        n_params: int = 10,
        train_seconds: float = 1.0,
        data_access: str = "samples",
    ) -> Path:
        return write_artefact(
            tmp_path / name,
            "metrics",
            {k: np.float64(v[0]) for k, v in values.items()},
            dataset_attrs={k: {"stderr": v[1], "source": v[2]} for k, v in values.items()},
            config={},
            seed=seed,
            attrs={
                "model_name": model,
                "target_name": target,
                "n_params": n_params,
                "train_seconds": train_seconds,
                "data_access": data_access,
            },
        )

    return write


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_write_table_aggregates_two_seeds(write_metrics, tmp_path):
    """Two seeds of one model give mean, sample std and mean stderr; one seed gives std 0."""
    nan = math.nan
    paths = [
        write_metrics(
            "a0.h5",
            "qcbm",
            0,
            {"kl_exact": (0.1, nan, "exact"), "tv_samples": (0.3, 0.02, "samples")},
            train_seconds=2.0,
        ),
        write_metrics(
            "b0.h5",
            "rbm",
            0,
            {"kl_exact": (0.5, nan, "exact"), "tv_samples": (0.4, 0.01, "samples")},
            n_params=7,
        ),
        write_metrics(
            "a1.h5",
            "qcbm",
            1,
            {"kl_exact": (0.3, nan, "exact"), "tv_samples": (0.2, 0.04, "samples")},
            train_seconds=4.0,
        ),
    ]
    out = write_table(paths, tmp_path / "tables" / "toy.csv")
    rows = read_rows(out)
    assert [r["model"] for r in rows] == ["qcbm", "rbm"]
    qcbm, rbm = rows
    assert list(qcbm)[:6] == ["model", "role", "n_seeds", "n_params", "train_seconds_mean", "data_access"]
    assert qcbm["data_access"] == "samples"
    assert qcbm["n_seeds"] == "2" and qcbm["n_params"] == "10"
    assert float(qcbm["train_seconds_mean"]) == pytest.approx(3.0, rel=REL_TOL)
    assert float(qcbm["kl_exact_mean"]) == pytest.approx(0.2, rel=REL_TOL)
    assert float(qcbm["kl_exact_std"]) == pytest.approx(np.std([0.1, 0.3], ddof=1), rel=REL_TOL)
    assert qcbm["kl_exact_stderr"] == ""
    assert float(qcbm["tv_samples_mean"]) == pytest.approx(0.25, rel=REL_TOL)
    assert float(qcbm["tv_samples_std"]) == pytest.approx(np.std([0.3, 0.2], ddof=1), rel=REL_TOL)
    assert float(qcbm["tv_samples_stderr"]) == pytest.approx(0.03, rel=REL_TOL)
    assert rbm["n_seeds"] == "1" and rbm["n_params"] == "7"
    assert float(rbm["kl_exact_std"]) == 0.0 and float(rbm["tv_samples_stderr"]) == pytest.approx(0.01)
    assert not list(out.parent.glob(".*.tmp"))


def test_data_access_column_is_one_value_per_model(write_metrics, tmp_path, caplog):
    """The data_access column holds what a model learned from; seeds that disagree are joined, with a warning."""
    values = {"tv_samples": (0.1, 0.01, "samples")}
    paths = [
        write_metrics("a0.h5", "rbm", 0, values, data_access="probabilities"),
        write_metrics("a1.h5", "rbm", 1, values, data_access="probabilities"),
        write_metrics("b0.h5", "made", 0, values, data_access="samples"),
        write_metrics("b1.h5", "made", 1, values, data_access="probabilities"),
    ]
    with caplog.at_level("WARNING"):
        rows = read_rows(write_table(paths, tmp_path / "t.csv"))
    assert [(r["model"], r["data_access"]) for r in rows] == [
        ("rbm", "probabilities"), ("made", "probabilities/samples")
    ]
    assert "made" in caplog.text and "different data" in caplog.text and "rbm" not in caplog.text


def test_write_table_labels_override_and_duplicates(write_metrics, tmp_path):
    """Labels replace stored names; a repeated (model, seed) or a second target is an error."""
    paths = [
        write_metrics(f"m{i}.h5", "stored", 0, {"tv_samples": (0.1 * i, 0.01, "samples")}) for i in (1, 2)
    ]
    rows = read_rows(write_table(paths, tmp_path / "t.csv", labels=[("iqp", 0), ("iqp", 1)]))
    assert len(rows) == 1 and rows[0]["model"] == "iqp" and rows[0]["n_seeds"] == "2"
    with pytest.raises(ValueError, match="appears twice"):
        write_table(paths, tmp_path / "t.csv")
    other = write_metrics("o.h5", "x", 0, {"tv_samples": (0.1, 0.01, "samples")}, target="other")
    with pytest.raises(ValueError, match="one target"):
        write_table([paths[0], other], tmp_path / "t.csv")


def test_table_from_run_evaluation(rng, draw, write_target, write_model, tmp_path):
    """Metrics written by run_evaluation for two seeds aggregate into one row."""
    p = rng.dirichlet(np.ones(8))
    target = write_target(draw(p, 200, rng), p)
    spec = {"sigmas": [1.0], "n_samples": 200, "n_bootstrap": 20}
    paths = []
    for seed in (0, 1):
        model = write_model(draw(p, 200, rng), name=f"model{seed}.h5")
        paths.append(
            run_evaluation(
                target,
                model,
                spec,
                seed,
                tmp_path / f"metrics{seed}.h5",
                model_name="qcbm",
                target_name="toy3",
            )
        )
    (row,) = read_rows(write_table(paths, tmp_path / "toy3.csv"))
    assert row["model"] == "qcbm" and row["n_seeds"] == "2" and row["n_params"] == "24"
    assert {"mmd2_samples_mean", "mmd2_samples_sigma1_std", "valid_rate_stderr", "kl_samples_mean"} <= set(
        row
    )
