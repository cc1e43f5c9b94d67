"""Reference rows, spin-physics metrics and the per-target verdict."""

from __future__ import annotations

import math

import pytest

from qgenflow.io import read_artefact
from qgenflow.metrics import evaluate, reference_model, verdict
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


def _row(model, role, mean, std, n_seeds=3):
    return {"model": model, "role": role, "n_seeds": n_seeds, "n_params": 10.0,
            "m_mean": mean, "m_std": std, "m_stderr": math.nan}


def test_verdict_names_a_significant_winner_and_refuses_noise():
    """A gap well beyond the error bars names the winner; a gap within them does not."""
    rows = [_row("q", "quantum", 0.010, 0.001), _row("c", "classical", 0.050, 0.002), _row("data", "reference", 0.0, 0.001)]
    text = verdict(rows, "m")
    assert "quantum model q beats c" in text and "noise floor" in text
    rows[1] = _row("c", "classical", 0.011, 0.002)
    assert "no significant difference" in verdict(rows, "m")
    assert "no comparison" in verdict(rows[:1], "m")
