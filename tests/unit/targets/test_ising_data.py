"""The shipped 4x4 Ising data set (data/ising4x4_T3_*.txt): loads as a file target, matches its exact law."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import netket as nk
import numpy as np
import pytest

from qgenflow.targets.samples_file import make_samples_file

REPO = Path(__file__).resolve().parents[3]
TRAIN = REPO / "data/ising4x4_T3_train.txt"
TEST = REPO / "data/ising4x4_T3_test.txt"
N_TRAIN, N_TEST, N_BITS = 5000, 10000, 16
Z_RTOL = 1e-12  # partition function: transfer matrix against enumeration


@pytest.fixture(scope="module")
def make():
    """data/make_ising4x4.py as a module (the generator and its checks)."""
    spec = importlib.util.spec_from_file_location("make_ising4x4", REPO / "data/make_ising4x4.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def probs(make):
    return make.exact_probs()


def test_shipped_files_load_as_a_file_target_with_their_own_test_set():
    """Train file = training rows (5000 x 16), test file = held-out test (10000 x 16), each traced by its hash."""
    target = make_samples_file({"path": str(TRAIN), "test_path": str(TEST), "n_bits": N_BITS}, np.random.default_rng(0))
    assert target.n_qubits == N_BITS and target.probs is None
    assert target.samples.shape == (N_TRAIN, N_BITS) and target.held_out["test"].shape == (N_TEST, N_BITS)
    assert target.attrs["source_path"] == str(TRAIN) and target.attrs["source_test_path"] == str(TEST)
    assert target.attrs["source_sha256"] != target.attrs["source_test_sha256"]
    assert "# Metropolis samples" in TRAIN.read_text() and "train: 5000 rows" in TRAIN.read_text()
    assert "test: 10000 rows" in TEST.read_text()
    # disjoint chains: the train rows are not a slice of the test file
    test = target.held_out["test"]
    assert not any(np.array_equal(target.samples, test[k:k + N_TRAIN]) for k in range(0, N_TEST - N_TRAIN + 1, 1000))


def test_energy_matches_netket_ising_and_transfer_matrix(make):
    """The script's bonds and energies are NetKet's 4x4 torus Ising diagonal; its Z is the transfer matrix's."""
    graph = nk.graph.Square(4, pbc=True)
    assert {tuple(sorted(e)) for e in graph.edges()} == {tuple(sorted(b)) for b in make.bonds().tolist()}
    hilbert = nk.hilbert.Spin(0.5, N_BITS)
    diagonal = nk.operator.Ising(hilbert, graph, h=0.0, J=-make.J).to_sparse().diagonal().real
    states = np.asarray(hilbert.all_states())
    np.testing.assert_allclose(make.energies(states > 0), diagonal, atol=1e-12)
    # Z = Tr(T^4) over row configurations, T_ab = exp(beta (E_row(a) / 2 + E_row(b) / 2 + E_between(a, b)))
    beta = 1.0 / make.T
    rows = 2.0 * ((np.arange(16)[:, None] >> np.arange(4)) & 1) - 1.0
    within = make.J * np.sum(rows * np.roll(rows, 1, axis=1), axis=1)
    between = make.J * rows @ rows.T
    transfer = np.exp(beta * (within[:, None] / 2 + within[None, :] / 2 + between))
    z_transfer = np.trace(np.linalg.matrix_power(transfer, 4))
    e = make.energies(make.all_bits())
    assert math.isclose(np.exp(-beta * e).sum(), z_transfer, rel_tol=Z_RTOL)


def test_shipped_train_file_passes_the_exact_probability_check(make, probs):
    """Histogram vs exact Boltzmann over 2^16 states: TV below the iid bound, energy and |M| laws not rejected."""
    result = make.check_samples(make.read(TRAIN), probs)
    # bound = E[TV] <= 1/2 sum min(sqrt(p(1-p)/N), 2p) (0.505 at N = 5000) plus sqrt(ln(1e6) / 2N) = 0.037
    # (McDiarmid): iid exact samples exceed 0.542 with probability below 1e-6; iid draws give 0.447 +- 0.005
    assert result["tv"] < result["tv_bound"] == pytest.approx(make.tv_bound(probs, N_TRAIN))
    assert result["energy_p"] > make.P_MIN and result["magnetisation_p"] > make.P_MIN
    assert result["ok"]


def test_the_check_rejects_the_wrong_temperature(make, probs):
    """Exact iid draws at T = 3 pass; at T = 2.5 (same size) the energy test rejects them."""
    rng = np.random.default_rng(0)
    every = make.all_bits()
    right = every[rng.choice(probs.size, size=N_TRAIN, p=probs)]
    assert make.check_samples(right, probs)["ok"]
    wrong = every[rng.choice(probs.size, size=N_TRAIN, p=make.exact_probs(2.5))]
    result = make.check_samples(wrong, probs)
    assert not result["ok"] and result["energy_p"] < make.P_MIN


def test_generation_is_reproducible(make):
    """The seeded generator writes exactly the shipped train file again."""
    assert make.render("train", make.generate(splits=("train",))["train"]) == TRAIN.read_text()
