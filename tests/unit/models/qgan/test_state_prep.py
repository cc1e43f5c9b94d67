"""Variational state preparation (the quantum-data baseline) and its shared circuitry."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.errors import InvalidConfigError
from qgenflow.train import train
from qgenflow.models.qgan import target_data
from qgenflow.circuits import ExpvalRunner
from qgenflow.models.qgan.state_prep import (
    default_generator,
    fidelity,
    make_generator,
    pauli_hamiltonian,
)
from qgenflow.targets import make_target

FLAVOR = "state_preparation"
ENTRY = {"kind": "qgan", "flavor": FLAVOR, "data_access": "probabilities"}  # learns from the target state
FIDELITY_GOAL = 0.99
ENERGY_TOL = 1e-8
AMPLITUDE_TOL = 1e-10


@pytest.mark.parametrize("fixture", ["heis_2x2", "tfim_4"])
def test_pauli_hamiltonian_has_the_target_ground_state(fixture, request):
    """The rebuilt Pauli-sum H has the stored state as eigenvector with NetKet's Lanczos energy."""
    target = request.getfixturevalue(fixture)
    h = pauli_hamiltonian(target.config).sparse_matrix(wire_order=range(4))
    state = target["state"]
    energy = float(target.attrs["energy"])
    assert state @ (h @ state) == pytest.approx(energy, abs=ENERGY_TOL)
    assert np.linalg.norm(h @ state - energy * state) < 1e-6
    assert np.linalg.eigvalsh(h.toarray())[0] == pytest.approx(energy, abs=ENERGY_TOL)


@pytest.mark.parametrize("name", ["real_amplitudes", "number_conserving"])
def test_generators_prepare_real_states(name):
    """Both quantum-data generator families give real amplitudes; number_conserving stays at Sz = 0."""
    gen = make_generator(name, 4, 2)
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, gen.shape)
    psi = ExpvalRunner({}, 4, 0).state(gen.ops(params), 4)
    assert np.max(np.abs(psi.imag)) < AMPLITUDE_TOL
    assert np.linalg.norm(psi) == pytest.approx(1.0)
    if name == "number_conserving":
        ones = np.array([bin(i).count("1") for i in range(16)])
        assert np.sum(np.abs(psi[ones != 2]) ** 2) < AMPLITUDE_TOL


def test_fidelity_objective_reaches_the_heisenberg_ground_state(heis_2x2):
    """Maximising |<target|psi>|^2 exactly reaches fidelity >= 0.99 on the 2x2 Heisenberg state."""
    spec = {
        "ansatz": "number_conserving",
        "layers": 2,
        "optimizer": {"lr": 0.1, "steps": 60},
        "log_every": 10,
        "n_samples": 1000,
    }
    result = train({**spec, **ENTRY}, heis_2x2, seed=0)
    assert result.attrs["fidelity"] >= FIDELITY_GOAL
    assert result.history["fidelity"][-1] == pytest.approx(result.attrs["fidelity"])
    assert result.history["loss"][-1] == pytest.approx(1 - result.attrs["fidelity"], abs=1e-9)
    assert result.samples.shape == (1000, 4) and result.probs.sum() == pytest.approx(1.0)


def test_energy_objective_reaches_the_ground_state(heis_2x2):
    """Minimising <H> reaches the exact energy and, through it, fidelity >= 0.99."""
    spec = {
        "objective": "energy",
        "ansatz": "number_conserving",
        "layers": 2,
        "optimizer": {"name": "lbfgs", "steps": 60},
        "log_every": 5,
    }
    result = train({**spec, **ENTRY}, heis_2x2, seed=0)
    assert result.attrs["fidelity"] >= FIDELITY_GOAL
    assert result.attrs["energy_relative_error"] < 1e-3
    assert result.attrs["energy_exact"] == pytest.approx(heis_2x2.attrs["energy"])
    assert result.history["energy"].shape == result.history["fidelity"].shape


def test_finite_shots_fidelity_run_learns(heis_2x2):
    """With shots (compute-uncompute, parameter-shift) the fidelity rises from initialisation, reproducibly."""
    spec = {
        "ansatz": "number_conserving",
        "layers": 2,
        "optimizer": {"lr": 0.2, "steps": 12},
        "log_every": 4,
        "n_samples": 300,
        "device": {"name": "lightning.qubit", "shots": 500},
    }
    a = train({**spec, **ENTRY}, heis_2x2, seed=1)
    b = train({**spec, **ENTRY}, heis_2x2, seed=1)
    assert a.attrs["gradient"] == "parameter_shift"
    assert np.array_equal(a.params["theta"], b.params["theta"]) and np.array_equal(a.samples, b.samples)
    assert a.history["fidelity"][0] < 0.5 and a.attrs["fidelity"] > 0.8


def test_finite_shots_energy_run_learns(heis_2x2):
    """With shots the Pauli-sum energy (parameter-shift) falls well below its initial value."""
    spec = {
        "objective": "energy",
        "layers": 2,
        "optimizer": {"lr": 0.2, "steps": 8},
        "log_every": 4,
        "n_samples": 100,
        "device": {"name": "lightning.qubit", "shots": 1000},
    }
    result = train({**spec, **ENTRY}, heis_2x2, seed=0)
    assert result.attrs["gradient"] == "parameter_shift"
    assert result.history["energy"][-1] < result.history["energy"][0] - 4.0


def test_targets_without_state_or_config_are_refused(bas_2x2, heis_2x2):
    """A classical target has no state; an in-memory target has no config for the energy objective."""
    with pytest.raises(InvalidConfigError, match="state"):
        train(ENTRY, bas_2x2, 0)
    in_memory = make_target(heis_2x2.config, 0)
    assert target_data(in_memory).state is not None
    with pytest.raises(InvalidConfigError, match="energy"):
        train({"objective": "energy", **ENTRY}, in_memory, 0)
    with pytest.raises(InvalidConfigError, match="objective"):
        train({"objective": "entropy", **ENTRY}, heis_2x2, 0)


def test_default_generator_follows_the_state_sector(heis_2x2, tfim_4):
    """Sz = 0 states get the number-conserving circuit, others the real-amplitude circuit."""
    assert default_generator(heis_2x2["state"], 4) == "number_conserving"
    assert default_generator(tfim_4["state"], 4) == "real_amplitudes"


def test_tfim_state_with_default_generator(tfim_4):
    """The critical TFIM ground state (all Hamming weights) is prepared to fidelity >= 0.99 by default."""
    spec = {"layers": 4, "optimizer": {"name": "lbfgs", "steps": 200}, "log_every": 20}
    result = train({**spec, **ENTRY}, tfim_4, seed=0)
    assert result.attrs["ansatz"] == "real_amplitudes"
    assert result.attrs["fidelity"] >= FIDELITY_GOAL


def test_fidelity_is_overlap_squared():
    """fidelity() is |<a|b>|^2 for normalised vectors."""
    a = np.array([1.0, 0.0])
    b = np.array([1.0, 1.0j]) / np.sqrt(2)
    assert fidelity(b, a) == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["fidelity", "energy"])
def test_six_site_heisenberg_ring(heis_ring_6, objective):
    """Both objectives prepare the periodic 6-site Heisenberg ground state to fidelity >= 0.99."""
    spec = {
        "objective": objective,
        "ansatz": "number_conserving",
        "layers": 6,
        "optimizer": {"lr": 0.05, "steps": 300},
        "log_every": 30,
    }
    result = train({**spec, **ENTRY}, heis_ring_6, seed=0)
    assert result.attrs["fidelity"] >= FIDELITY_GOAL
