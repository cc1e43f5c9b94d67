"""QGAN on quantum data with a quantum discriminator (Dallaire-Demers & Killoran 2018)."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.train import train
from qgenflow.models.qgan.quantum import helstrom_error
from qgenflow.fit.checkpoint import Checkpointer

FLAVOR = "quantum_discriminator"
FIDELITY_GOAL = 0.99
HEIS_2X2_SPEC = {
    "ansatz": "number_conserving",
    "layers": 3,
    "optimizer": {"name": "adam", "lr": 0.05, "steps": 80, "schedule": "cosine"},
    "discriminator": {"ansatz": "hardware_efficient", "layers": 4, "lr": 0.1},
    "d_steps": 5,
    "log_every": 10,
    "n_samples": 1000,
    "data_access": "probabilities",  # quantum data: the discriminator compares with the target state itself
}


def test_adversarial_training_reaches_the_heisenberg_ground_state(heis_2x2):
    """The min-max game on the 2x2 Heisenberg ground state ends at fidelity >= 0.99."""
    result = train({**HEIS_2X2_SPEC, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=0)
    assert result.attrs["fidelity"] >= FIDELITY_GOAL
    assert result.history["fidelity"][-1] == pytest.approx(result.attrs["fidelity"])
    assert result.history["fidelity"][-1] > result.history["fidelity"][0]
    # Near equilibrium the discriminator cannot do better than chance by much.
    assert result.attrs["final_d_loss"] > 0.4
    assert set(result.params) == {"theta", "discriminator/phi"}
    assert result.samples.shape == (1000, 4) and result.probs.sum() == pytest.approx(1.0)
    h = result.history
    assert h["loss"].shape == h["d_loss"].shape == h["step"].shape == (81,)
    assert np.array_equal(h["log_step"], np.arange(0, 81, 10))


def test_discriminator_error_is_bounded_by_helstrom(heis_2x2):
    """No discriminator circuit beats the Helstrom error for the generator's state."""
    spec = {**HEIS_2X2_SPEC, "optimizer": {"lr": 0.05, "steps": 3}, "d_steps": 10, "log_every": 1}
    result = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=3)
    bound = helstrom_error(result.history["fidelity"])
    p_err = 0.5 * ((1 - result.history["p_real_real"]) + result.history["p_real_fake"])
    assert np.all(p_err >= bound - 1e-9)


def test_finite_shots_run_is_reproducible(heis_2x2):
    """With shots (parameter-shift on any device) a short run is finite and reproducible."""
    spec = {
        **HEIS_2X2_SPEC,
        "layers": 1,
        "discriminator": {"layers": 1, "lr": 0.1},
        "d_steps": 1,
        "optimizer": {"lr": 0.05, "steps": 3},
        "log_every": 3,
        "n_samples": 200,
        "device": {"name": "lightning.qubit", "shots": 200},
    }
    a = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=5)
    b = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=5)
    assert a.attrs["gradient"] == "parameter_shift"
    assert np.all(np.isfinite(a.history["loss"])) and np.all(np.isfinite(a.history["d_loss"]))
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])
    assert np.array_equal(a.samples, b.samples) and a.samples.shape == (200, 4)


def test_resume_from_checkpoint_is_exact(heis_2x2, tmp_path, assert_same_result):
    """A run resumed from the step-4 checkpoint a finished run leaves behind ends where that run ended."""
    spec = {**HEIS_2X2_SPEC, "optimizer": {"lr": 0.05, "steps": 6}, "d_steps": 2, "log_every": 2}
    ckpt = Checkpointer(tmp_path / "ckpt.h5", every=4, identity={"test": 2})
    full = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=1, checkpointer=ckpt)
    resumed = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=1, checkpointer=ckpt)
    assert resumed.attrs["resumed_from"] == 4
    assert_same_result(resumed, full)


def test_killed_run_resumes_to_the_uninterrupted_result(heis_2x2, killed_then_resumed, assert_same_result):
    """Killed after its step-4 checkpoint and rerun (discriminator angles and optimiser restored): bit-identical."""
    spec = {**HEIS_2X2_SPEC, "layers": 2, "optimizer": {"lr": 0.05, "steps": 7, "schedule": "cosine"},
            "d_steps": 2, "log_every": 3, "n_samples": 100}
    full = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_2x2, seed=4)
    resumed = killed_then_resumed(FLAVOR, spec, heis_2x2, seed=4, every=2, at=4)
    assert resumed.attrs["resumed_from"] == 4
    assert_same_result(resumed, full)
    assert resumed.attrs["fidelity_best"] == full.attrs["fidelity_best"]


@pytest.mark.slow
def test_six_site_heisenberg_ring_acceptance(heis_ring_6):
    """On the periodic 6-site Heisenberg ground state the adversarial game reaches fidelity >= 0.99."""
    spec = {
        "ansatz": "number_conserving",
        "layers": 6,
        "optimizer": {"name": "adam", "lr": 0.05, "steps": 300, "schedule": "cosine"},
        "discriminator": {"ansatz": "hardware_efficient", "layers": 4, "lr": 0.1},
        "d_steps": 5,
        "log_every": 30,
        "n_samples": 1000,
        "data_access": "probabilities",
    }
    result = train({**spec, "kind": "qgan", "flavor": FLAVOR}, heis_ring_6, seed=0)
    assert result.attrs["fidelity"] >= FIDELITY_GOAL
