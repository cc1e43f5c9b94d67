"""Spin-model ground states against published and closed-form references."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.bits import index_to_bits
from qgenflow.targets.spin import (
    build_hamiltonian,
    exact_ground_state,
    make_heisenberg,
    make_tfim,
    spin_observables,
    tfim_chain_energy,
)

# REFERENCES.md: NetKet (Pauli units) 4x4 periodic Heisenberg E0 = -44.913933 (Sandvik Table I).
HEIS_4X4_E0 = -44.913933
ENERGY_TOL_PUBLISHED = 1e-6
ENERGY_TOL_CLOSED_FORM = 1e-8
PROB_TOL = 1e-12


@pytest.fixture(scope="module")
def heis4x4():
    """The 4x4 periodic Heisenberg exact target."""
    spec = {"kind": "heisenberg", "lattice": [4, 4], "pbc": True, "method": "exact", "n_samples": 5000}
    return make_heisenberg(spec, np.random.default_rng(0))


def test_heisenberg_4x4_energy_matches_sandvik(heis4x4):
    """E0 equals the published exact value to 1e-6 (Pauli units; -0.701780 per site in S units)."""
    assert heis4x4.attrs["energy"] == pytest.approx(HEIS_4X4_E0, abs=ENERGY_TOL_PUBLISHED)
    assert heis4x4.attrs["energy"] / 16 / 4 == pytest.approx(-0.701780, abs=1e-6)
    assert heis4x4.attrs["energy_units"] == "pauli"


def test_heisenberg_4x4_mass_in_sz0_sector(heis4x4):
    """Probabilities sum to 1 and all mass lies on the 12,870 Sz = 0 bitstrings."""
    p = heis4x4.probs
    assert p.sum() == pytest.approx(1.0, abs=PROB_TOL)
    support = np.flatnonzero(p)
    assert len(support) == 12870
    assert np.all(index_to_bits(support, 16).sum(axis=1) == 8)
    assert np.all(heis4x4.samples.sum(axis=1) == 8)


def test_stored_state_is_an_eigenvector(heis4x4):
    """<psi|H|psi> of the stored state (physical sign convention) equals the energy."""
    import netket as nk

    spec = {"kind": "heisenberg", "lattice": [4, 4], "pbc": True}
    hilbert, ham, _ = build_hamiltonian(spec)
    full = nk.hilbert.Spin(0.5, 16)
    ham_full = nk.operator.Heisenberg(full, nk.graph.Grid([4, 4], pbc=True), sign_rule=False).to_sparse()
    psi = heis4x4.extra["state"]
    assert np.linalg.norm(psi) == pytest.approx(1.0, abs=PROB_TOL)
    assert psi @ (ham_full @ psi) == pytest.approx(HEIS_4X4_E0, abs=ENERGY_TOL_PUBLISHED)
    assert np.allclose(psi**2, heis4x4.probs, atol=PROB_TOL)


def test_marshall_sign_rule_keeps_probabilities():
    """The Marshall sign rotation changes signs, not |psi|^2 nor the energy."""
    spec = {"kind": "heisenberg", "lattice": [2, 3], "pbc": False}
    e0, psi0 = exact_ground_state(*build_hamiltonian(spec, sign_rule=False)[:2])
    e1, psi1 = exact_ground_state(*build_hamiltonian(spec, sign_rule=True)[:2])
    assert e0 == pytest.approx(e1, abs=1e-10)
    assert np.allclose(psi0**2, psi1**2, atol=1e-10)
    assert np.all(psi1 >= -1e-12)  # sign-rule ground state is positive (Perron-Frobenius)


@pytest.mark.parametrize("length", [8, 16])
def test_tfim_chain_matches_closed_form(length):
    """Critical periodic TFIM chain: E0 = -2 / sin(pi / 2L) to 1e-8."""
    t = make_tfim({"kind": "tfim", "lattice": [length], "h": 1.0, "method": "exact", "n_samples": 100}, np.random.default_rng(0))
    assert t.attrs["energy"] == pytest.approx(tfim_chain_energy(length), abs=ENERGY_TOL_CLOSED_FORM)
    assert t.attrs["relative_error"] < 1e-9


def test_tfim_coupling_sign_changes_distribution_not_spectrum():
    """Ferro and antiferro chains share E0 on a bipartite ring but not the Z-basis distribution."""
    base = {"kind": "tfim", "lattice": [6], "h": 0.5, "method": "exact", "n_samples": 100}
    ferro = make_tfim({**base, "coupling": "ferromagnetic"}, np.random.default_rng(0))
    anti = make_tfim({**base, "coupling": "antiferromagnetic"}, np.random.default_rng(0))
    assert ferro.attrs["energy"] == pytest.approx(anti.attrs["energy"], abs=1e-10)
    assert ferro.probs[0] > 0.3 and ferro.probs[0b101010] < 0.01  # all-up vs Neel
    assert anti.probs[0b101010] > 0.3


def test_observables_from_samples_match_exact(heis4x4):
    """ZZ correlations from samples agree with the exact ones within sampling error."""
    positions = heis4x4.extra["site_positions"]
    exact = spin_observables(heis4x4.probs, positions, from_samples=False)
    est = spin_observables(heis4x4.samples, positions, from_samples=True)
    assert np.allclose(np.diag(exact["zz_correlations"]), 1.0)
    assert np.abs(est["zz_correlations"] - exact["zz_correlations"]).max() < 5 / np.sqrt(len(heis4x4.samples))
    # nearest neighbours anti-aligned: <Z_i Z_j> = E0 / (3 * n_bonds) by SU(2) symmetry
    assert exact["zz_correlations"][0, 1] == pytest.approx(HEIS_4X4_E0 / 3 / 32, abs=1e-6)


def test_j2_frustration_raises_energy():
    """Adding J2 > 0 on a 4x4 lattice raises the ground energy (frustration)."""
    base = {"kind": "heisenberg", "lattice": [4, 4], "pbc": True}
    e0, _ = exact_ground_state(*build_hamiltonian(base)[:2])
    e2, _ = exact_ground_state(*build_hamiltonian({**base, "J2": 0.5})[:2])
    assert e2 > e0


@pytest.mark.parametrize("lattice, pbc", [([6], True), ([2, 3], False), ([5], False), ([4, 2], True)])
def test_marshall_energy_equals_netkets_signed_hamiltonian(lattice, pbc):
    """The matrix-free Marshall energy equals sqrt(p) . H_signed . sqrt(p) from NetKet's sparse operator."""
    import netket as nk

    from qgenflow.targets.spin import build_graph, marshall_energy

    graph = build_graph({"kind": "heisenberg", "lattice": lattice, "pbc": pbc})
    hilbert = nk.hilbert.Spin(0.5, graph.n_nodes)
    ham = nk.operator.Heisenberg(hilbert, graph, J=0.7, sign_rule=True).to_sparse()
    probs = np.random.default_rng(5).random(2**graph.n_nodes)
    probs /= probs.sum()
    amp = np.sqrt(probs)
    bonds = np.asarray(graph.edges(filter_color=0))
    assert marshall_energy(probs, bonds, 0.7) == pytest.approx(float(amp @ (ham @ amp)), rel=1e-12, abs=1e-12)
