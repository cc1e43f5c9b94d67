"""The audit stage end to end: audit.h5, the audit table and the decision rule of a small study."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from qgenflow.io import read_artefact
from qgenflow.metrics.advantage import AUDIT_COLUMNS, decision_rule
from qgenflow.metrics.audit import state_profile
from qgenflow.metrics.verdict import Comparison, Verdict
from qgenflow.stages.audit import run_audit
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.figure import draw_figure
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training

SEEDS = (0, 1)
EVALUATION = {"sigmas": [1.0], "n_samples": 400, "n_bootstrap": 10}
QCBM = {"kind": "qcbm", "layers": 1, "optimizer": {"name": "adam", "lr": 0.1, "steps": 5}, "n_samples": 400}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """bars-and-stripes 2x2 with a QCBM and a product model, two seeds, evaluated."""
    root = tmp_path_factory.mktemp("study")
    targets, models, labels, metrics = [], [], [], []
    for seed in SEEDS:
        target = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 400}, seed,
                            root / f"target{seed}.h5")
        targets.append(target)
        for name, spec in (("qcbm", QCBM), ("product", {"kind": "product", "n_samples": 400})):
            model = run_training(spec, target, seed, root / f"{name}{seed}.h5")
            metrics.append(run_evaluation(target, model, EVALUATION, seed, root / f"m_{name}{seed}.h5", model_name=name))
            if name == "qcbm":
                models.append(model)
                labels.append(name)
    outputs = {"audit": root / "audit.h5", "table": root / "audit.csv", "rule": root / "decision.txt"}
    run_audit(targets, models, labels, metrics, {"evaluation": EVALUATION, "verdict": {}}, outputs)
    return outputs


def test_audit_artefact_holds_every_seed_and_cut(study):
    audit = read_artefact(study["audit"], kind="audit")
    assert audit.attrs["n_qubits"] == 4
    for seed in SEEDS:
        entropies = np.asarray(audit[f"models/qcbm/seed{seed}/entropies"])
        bonds = np.asarray(audit[f"models/qcbm/seed{seed}/bond_dimensions"])
        assert entropies.shape == (3,) and bonds.shape == (3,)
        assert np.all(bonds <= [2, 4, 2]) and np.all(entropies <= [1, 2, 1] + np.finfo(float).eps * 8)


def test_audit_table_row_per_quantum_model(study):
    with open(study["table"]) as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(AUDIT_COLUMNS)
    assert [r["model"] for r in rows] == ["qcbm"]
    row = rows[0]
    assert row["n_seeds"] == "2" and row["n_qubits"] == "4" and row["clifford"] in ("true", "false")
    assert float(row["max_bond_dimension"]) == 4.0 and 1.0 <= float(row["bond_dimension"]) <= 4.0
    assert float(row["anticoncentration"]) >= 1.0
    assert float(row["shots_to_resolve"]) > 0 or math.isinf(float(row["shots_to_resolve"]))


def test_decision_rule_is_written(study):
    text = study["rule"].read_text()
    assert "1. quantum-grounded or from a hard sampling class? no: a classical distribution" in text
    assert "3. does the winning quantum model (qcbm) need a quantum device at this size? no, at 4 qubits" in text
    assert "conclusion: no quantum advantage is shown here" in text


def test_state_profile_of_product_and_ghz():
    """A product state has bond dimension 1 and entropy 0 at every cut; GHZ has 2 and 1 bit."""
    product = np.zeros(2**5)
    product[0b01101] = 1.0
    profile = state_profile(product)
    assert np.all(profile["bond_dimensions"] == 1) and np.allclose(profile["entropies"], 0.0)
    ghz = np.zeros(2**5)
    ghz[0] = ghz[-1] = 2**-0.5
    profile = state_profile(ghz)
    assert np.all(profile["bond_dimensions"] == 2) and np.allclose(profile["entropies"], 1.0)


def _comparison(outcome_side: str) -> Comparison:
    advantage = {"quantum": 1.0, "classical": -1.0, "neither": 0.0}[outcome_side]
    return Comparison("mmd2_samples", "q", "c", 0.1, 0.2, advantage, 0.01, 3, "paired t", 0.001, 0.001,
                      outcome_side != "neither")


def _row(n: int, method: str, clifford: bool = False, bond: float = math.nan) -> dict:
    return {"model": "q", "n_qubits": n, "method": method, "clifford": clifford, "bond_dimension": bond,
            "max_bond_dimension": float(2 ** (n // 2)), "train_seconds_mean": 1.0, "peak_memory_mb": 300.0}


def test_decision_rule_names_a_plausible_advantage_only_when_all_three_hold():
    """Quantum wins + hard sampling class + not classically easy -> plausible; drop any one -> not shown."""
    iqp = {"kind": "iqp", "quantum": False, "sampling_class": "IQP circuits"}
    win = Verdict("quantum better", "mmd2_samples", 0.05, (_comparison("quantum"),), (), ())
    large = _row(1000, "estimator (classical Z-string MMD, no statevector)")
    assert "a quantum advantage is plausible" in decision_rule("t", iqp, [large], win)
    small = _row(8, "statevector (numba adjoint)", bond=16.0)
    text = decision_rule("t", iqp, [small], win)
    assert "no quantum advantage is shown" in text and "classically easy" in text
    classical = {"kind": "bars_and_stripes", "quantum": False, "sampling_class": ""}
    assert "no quantum or hardness argument" in decision_rule("t", classical, [large], win)
    lose = Verdict("classical better", "mmd2_samples", 0.05, (_comparison("classical"),), (), ())
    assert "the verdict is 'classical better'" in decision_rule("t", iqp, [large], lose)
    clifford = _row(1000, "shots on default.clifford", clifford=True)
    assert "Gottesman-Knill" in decision_rule("t", iqp, [clifford], win)


def test_audit_figure_draws(study, tmp_path):
    """The audit figure draws from audit.h5 alone, with its text inside the canvas."""
    png = tmp_path / "audit.png"
    draw_figure("audit", [png], audit=study["audit"], options={"title": "bas2x2", "dpi": 80})
    assert png.stat().st_size > 5_000


def test_primary_gap_is_taken_to_the_verdicts_classical_model():
    """The audit's gap is to the classical model the verdict chose; without one, to the best classical mean."""
    from pathlib import Path

    from qgenflow.metrics.advantage import _primary_gap
    from qgenflow.metrics.tables import MetricsRecord

    def record(model, kind, value):
        return MetricsRecord(path=Path(model), target="t", model=model, seed=0, n_params=1.0, train_seconds=1.0,
                             values={"mmd2_samples": value}, stderrs={"mmd2_samples": 0.001},
                             sources={"mmd2_samples": "samples"}, model_kind=kind, n_samples=1000)

    records = [record("q", "qcbm", 0.02), record("c_best", "rbm", 0.01), record("c_chosen", "rbm", 0.03)]
    assert _primary_gap("q", records, "mmd2_samples")[0] == pytest.approx(-0.01)
    assert _primary_gap("q", records, "mmd2_samples", "c_chosen")[0] == pytest.approx(0.01)
