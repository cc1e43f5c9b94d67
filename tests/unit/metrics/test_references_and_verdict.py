"""Reference rows, spin-physics metrics and the per-target verdict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from qgenflow.io import read_artefact
from qgenflow.metrics import MetricsRecord, decide, evaluate, format_verdict, reference_model
from qgenflow.metrics.verdict import holm
from qgenflow.stages.target import run_target

SPEC = {"sigmas": [0.5, 1, 2, 4], "n_bootstrap": 50}
ENERGY_TOL = 1e-8


@pytest.fixture(scope="module")
def bas(tmp_path_factory):
    """A bars-and-stripes 2x2 target artefact with validation and test draws."""
    path = tmp_path_factory.mktemp("t") / "t.h5"
    return read_artefact(run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 3000}, 0, path))


def test_exact_target_against_itself(bas):
    """KL, MMD and TV are 0 and fidelity is 1 for a target evaluated against itself."""
    m = evaluate(bas, bas, SPEC, 0)
    for name in ("kl_exact", "mmd2_exact", "tv_exact"):
        assert m[name]["value"] == pytest.approx(0.0, abs=1e-15)
    assert m["fidelity_exact"]["value"] == pytest.approx(1.0, abs=1e-15)
    assert m["valid_rate"]["value"] == 1.0 and m["coverage"]["value"] == 1.0


def test_data_reference_is_the_noise_floor(bas):
    """Training data scored on the test draw is valid and sits at sample MMD ~ 0 within its error."""
    data = reference_model(bas, "data", 0)
    m = evaluate(bas, data, SPEC, 0)
    assert m["valid_rate"]["value"] == 1.0
    assert abs(m["mmd2_samples"]["value"]) < 4 * m["mmd2_samples"]["stderr"]
    assert m["unseen_valid_rate"]["value"] == 0.0  # 6 patterns: all already seen in training


def test_uniform_reference(bas):
    """Uniform bits put 6/16 of their mass on valid patterns; XEB of uniform samples is ~0."""
    m = evaluate(bas, reference_model(bas, "uniform", 0), SPEC, 0)
    assert m["valid_rate"]["value"] == pytest.approx(6 / 16, abs=0.05)
    assert m["kl_exact"]["value"] == pytest.approx(math.log(16 / 6), abs=1e-12)
    assert abs(m["xeb"]["value"]) < 5 * m["xeb"]["stderr"]


def test_marshall_energy_of_heisenberg_target_equals_exact(tmp_path):
    """The Marshall-signed energy of the 4x4 target's own probabilities equals its exact energy to 1e-8."""
    spec = {"kind": "heisenberg", "lattice": [4, 4], "pbc": True, "method": "exact", "n_samples": 1000}
    t = read_artefact(run_target(spec, 0, tmp_path / "h.h5"))
    m = evaluate(t, t, {**SPEC, "n_bootstrap": 0}, 0)
    assert m["energy_marshall"]["value"] == pytest.approx(t.attrs["energy"], abs=ENERGY_TOL)
    assert m["zz_error"]["value"] == 0.0 and m["structure_factor_error"]["value"] == 0.0


def _record(model, kind, seed, values, stderr=math.nan):
    return MetricsRecord(
        path=Path(f"{model}{seed}"), target="t", model=model, seed=seed, n_params=10.0, train_seconds=1.0,
        values=dict(values), stderrs={k: stderr for k in values}, sources={k: "samples" for k in values},
        model_kind=kind, data_access="samples", n_train_samples=100,
    )


def _records(q_values, c_values, metric="mmd2_samples", other=None):
    """A quantum (qcbm) and a classical (rbm) model, one record per seed; ``other`` adds a second metric."""
    out = []
    for kind, model, values in (("qcbm", "q", q_values), ("rbm", "c", c_values)):
        for seed, value in enumerate(values):
            metrics = {metric: value}
            if other is not None:
                metrics[other[0]] = other[1][model][seed]
            out.append(_record(model, kind, seed, metrics))
    return out


def test_paired_t_matches_scipy_and_holm_matches_a_hand_computed_case():
    """The per-metric p-value is scipy's paired t-test; Holm multiplies the k-th smallest by (m - k + 1), monotone."""
    q, c = [0.010, 0.012, 0.011], [0.020, 0.025, 0.021]
    comparison = decide(_records(q, c), "mmd2_samples", []).comparisons[0]
    assert comparison.p == pytest.approx(stats.ttest_rel(q, c).pvalue, rel=1e-12)
    assert comparison.advantage == pytest.approx(np.mean(np.subtract(c, q)))  # lower is better: positive favours q
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, math.nan]), [0.03, 0.06, 0.06, math.nan])
    np.testing.assert_allclose(holm([0.5, 0.001]), [0.5, 0.002])


def test_verdict_outcomes():
    """A consistent gap names the winning side; gaps both ways are mixed; noise is no significant difference."""
    q, c = [0.010, 0.012, 0.011], [0.050, 0.052, 0.049]
    assert decide(_records(q, c), "mmd2_samples", []).outcome == "quantum better"
    assert decide(_records(c, q), "mmd2_samples", []).outcome == "classical better"
    noisy = decide(_records([0.010, 0.030, 0.020], [0.021, 0.011, 0.029]), "mmd2_samples", [])
    assert noisy.outcome == "no significant difference"
    fidelity = ("fidelity_exact", {"q": [0.80, 0.81, 0.79], "c": [0.95, 0.96, 0.95]})
    mixed = decide(_records(q, c, other=fidelity), "mmd2_samples", ["fidelity_exact"])
    assert mixed.outcome == "mixed"
    assert [cmp.favours for cmp in mixed.comparisons] == ["quantum", "classical"]
    text = format_verdict(mixed, 1000)
    assert text.startswith("verdict: mixed") and "no winner" in text
    assert "learned from samples (100 training samples)" in text and "seeds 0, 1, 2" in text


def test_a_secondary_metric_alone_never_names_a_winner():
    """Quantum significantly ahead on a secondary metric only: no significant difference, and the text says why."""
    same = [0.010, 0.030, 0.020]
    valid = ("valid_rate", {"q": [1.0, 1.0, 1.0], "c": [0.990, 0.991, 0.989]})
    v = decide(_records(same, [0.021, 0.011, 0.029], other=valid), "mmd2_samples", ["valid_rate"])
    assert [c.favours for c in v.comparisons] == ["neither", "quantum"]
    assert v.outcome == "no significant difference"
    text = format_verdict(v)
    assert "secondary metrics alone favour quantum: valid_rate" in text
    assert "before the correction" in text


def test_verdict_never_names_a_winner_that_is_significantly_worse_elsewhere():
    """Whatever the per-seed values, a named winning side is significantly worse on no tested metric."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        q, c = rng.normal(0.02, 0.01, 3), rng.normal(0.02, 0.01, 3) + rng.choice([-0.02, 0, 0.02])
        other = ("fidelity_exact", {"q": rng.normal(0.9, 0.02, 3), "c": rng.normal(0.9, 0.02, 3) + rng.choice([-0.1, 0, 0.1])})
        v = decide(_records(q, c, other=other), "mmd2_samples", ["fidelity_exact"])
        if v.outcome in ("quantum better", "classical better"):
            winner = v.outcome.split()[0]
            loser = "classical" if winner == "quantum" else "quantum"
            assert all(cmp.favours != loser for cmp in v.comparisons)
            assert v.comparisons[0].favours == winner  # the primary metric decides


def test_one_seed_uses_bootstrap_errors_and_leaves_exact_metrics_untested():
    """With one seed a sample metric is a z-test on the bootstrap errors; an exact one cannot be tested."""
    records = [_record("q", "qcbm", 0, {"mmd2_samples": 0.01}, 0.001), _record("c", "rbm", 0, {"mmd2_samples": 0.02}, 0.001)]
    comparison = decide(records, "mmd2_samples", []).comparisons[0]
    assert comparison.p == pytest.approx(2 * stats.norm.sf(0.01 / math.hypot(0.001, 0.001)))
    records = [_record("q", "qcbm", 0, {"kl_exact": 0.1}), _record("c", "rbm", 0, {"kl_exact": 0.2})]
    v = decide(records, "kl_exact", [])
    assert math.isnan(v.comparisons[0].p) and v.outcome == "no significant difference"


def test_verdict_without_both_sides_says_so():
    records = [_record("q", "qcbm", s, {"mmd2_samples": 0.01 + s}) for s in range(2)]
    v = decide(records, "mmd2_samples", ["kl_exact"])
    assert v.outcome == "no comparison" and set(v.skipped) == {"mmd2_samples", "kl_exact"}
    assert "no comparison" in format_verdict(v)


def test_each_side_is_chosen_on_validation_and_compared_on_every_metric():
    """Two quantum models: q_lucky has the best test MMD but the worse validation score, so q_steady is
    chosen, and that one pair is compared on every metric; the text says how the models were chosen."""
    records = []
    for seed in range(3):
        records += [
            _record("q_lucky", "qcbm", seed, {"mmd2_samples": 0.010, "tv_samples": 0.30, "mmd2_samples_validation": 0.05}),
            _record("q_steady", "qcbm", seed, {"mmd2_samples": 0.020 + 0.001 * seed, "tv_samples": 0.10,
                                               "mmd2_samples_validation": 0.02}),
            _record("c", "rbm", seed, {"mmd2_samples": 0.030 + 0.002 * seed, "tv_samples": 0.20,
                                       "mmd2_samples_validation": 0.03}),
        ]
    v = decide(records, "mmd2_samples", ["tv_samples"])
    assert {(c.quantum, c.classical) for c in v.comparisons} == {("q_steady", "c")}
    assert "mmd2_samples_validation" in v.selection and "validation split" in format_verdict(v)
    # Without validation scores: the best test mean per metric, and the text says that selection shares the test noise.
    bare = [_record(r.model, r.model_kind, r.seed, {k: x for k, x in r.values.items() if k != "mmd2_samples_validation"})
            for r in records]
    v = decide(bare, "mmd2_samples", ["tv_samples"])
    assert [c.quantum for c in v.comparisons] == ["q_lucky", "q_steady"]
    assert "test split per metric" in format_verdict(v)
