"""DMRG chain targets (method dmrg) against free fermions, exact diagonalisation and exact probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy import stats
from tenpy.networks.mps import MPS
from tenpy.networks.site import SpinHalfSite

from qgenflow.bits import all_bitstrings, bits_to_index
from qgenflow.cli import main
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.plan import SCHEMA_PATH, check_config
from qgenflow.schema import with_defaults
from qgenflow.stages.target import run_target
from qgenflow.targets import make_target
from qgenflow.targets.dmrg import chain_length, mps_amplitudes, mps_tensors, run_dmrg, sample_mps
from qgenflow.targets.spin import build_hamiltonian, exact_ground_state

TFIM_64_RELATIVE_TOL = 1e-6
HEISENBERG_20_RELATIVE_TOL = 1e-8
SMALL_ENERGY_TOL = 1e-9
PROB_TOL = 1e-10
CORRELATION_TOL = 1e-8
#: A chi-square p-value below this fails the sampling test (seeded: the outcome is fixed).
CHI2_P_MIN = 1e-3
CHI2_MIN_EXPECTED = 5.0


def tfim_open_chain_energy(length: int, coupling: float, field: float) -> float:
    """Ground energy of the open chain H = -J sum_i Z_i Z_{i+1} - h sum_i X_i (Pauli units), from free fermions.

    Jordan-Wigner (after the basis change X <-> Z) maps H to ``(i/4) sum_mn M_mn a_m a_n`` over
    ``2L`` Majorana operators with ``M[2i, 2i+1] = 2h`` (field on site i) and
    ``M[2i+1, 2i+2] = 2J`` (bond i, i+1), ``M`` antisymmetric. The eigenvalues of the Hermitian
    ``iM`` come in pairs ``+-eps_k`` and ``E0 = -(1/2) sum_k eps_k``.
    """
    m = np.zeros((2 * length, 2 * length))
    for i in range(length):
        m[2 * i, 2 * i + 1] = 2.0 * field
    for i in range(length - 1):
        m[2 * i + 1, 2 * i + 2] = 2.0 * coupling
    eps = np.linalg.eigvalsh(1j * (m - m.T))
    return -0.5 * float(eps[eps > 0].sum())


def _spec(**entry) -> dict:
    return with_defaults("targets", {"method": "dmrg", **entry})


@pytest.fixture(scope="module")
def tfim10():
    """An open 10-site TFIM chain (h = 0.8) by DMRG and by exact diagonalisation, same seed."""
    entry = {"kind": "tfim", "lattice": [10], "pbc": False, "h": 0.8, "n_samples": 20000}
    return make_target({**entry, "method": "dmrg"}, 5), make_target({**entry, "method": "exact"}, 5)


def test_free_fermion_reference_matches_exact_diagonalisation():
    """The Majorana formula gives NetKet's Lanczos energy of an 8-site open chain (checks the reference itself)."""
    spec = with_defaults("targets", {"kind": "tfim", "lattice": [8], "pbc": False, "h": 0.7, "J": 1.3})
    energy, _ = exact_ground_state(*build_hamiltonian(spec)[:2])
    assert tfim_open_chain_energy(8, 1.3, 0.7) == pytest.approx(energy, rel=1e-12)


def test_small_chain_energy_and_correlations_match_exact(tfim10):
    """Energy, <Z_i Z_j> and the structure factor of the MPS equal exact diagonalisation's."""
    dmrg, exact = tfim10
    assert dmrg.attrs["energy"] == pytest.approx(exact.attrs["energy"], abs=SMALL_ENERGY_TOL)
    assert dmrg.attrs["energy_per_site"] == pytest.approx(exact.attrs["energy"] / 10, abs=SMALL_ENERGY_TOL)
    assert np.abs(dmrg.extra["zz_correlations"] - exact.extra["zz_correlations"]).max() < CORRELATION_TOL
    assert dmrg.attrs["staggered_structure_factor"] == pytest.approx(
        exact.attrs["staggered_structure_factor"], abs=CORRELATION_TOL
    )
    zz, z = dmrg.extra["zz_correlations"], dmrg.extra["magnetization"]
    np.testing.assert_allclose(dmrg.extra["zz_connected"], zz - np.outer(z, z), atol=1e-14)
    np.testing.assert_allclose(np.diag(zz), 1.0, atol=1e-10)
    assert dmrg.probs is None and dmrg.n_qubits == 10
    assert dmrg.attrs["truncation_error"] < 1e-10 and dmrg.attrs["dmrg_converged"]


def test_mps_probabilities_equal_exact_probabilities(tfim10):
    """|psi(s)|^2 of the stored tensors, over all 1024 bitstrings, equals the exact distribution."""
    dmrg, exact = tfim10
    tensors = [dmrg.extra[f"mps/B_{i:02d}"] for i in range(10)]
    probs = np.abs(mps_amplitudes(tensors, all_bitstrings(10))) ** 2
    assert np.abs(probs - exact.probs).max() < PROB_TOL
    assert [t.shape[1] for t in tensors] == [2] * 10
    assert dmrg.attrs["bond_dimensions"] == [t.shape[2] for t in tensors[:-1]]


def test_samples_pass_chi_square_against_exact_probabilities(tfim10):
    """20,000 MPS samples of the 10-site chain are consistent with the exact probabilities (chi-square)."""
    dmrg, exact = tfim10
    n = len(dmrg.samples)
    expected = exact.probs * n
    observed = np.bincount(bits_to_index(dmrg.samples), minlength=expected.size).astype(float)
    big = expected >= CHI2_MIN_EXPECTED
    f_obs = np.append(observed[big], observed[~big].sum())
    f_exp = np.append(expected[big], expected[~big].sum())
    assert stats.chisquare(f_obs, f_exp).pvalue > CHI2_P_MIN
    # The test can fail: samples of another field (h = 0.6) are rejected.
    other = make_target({"kind": "tfim", "lattice": [10], "pbc": False, "h": 0.6, "method": "exact"}, 5)
    wrong = np.bincount(bits_to_index(other.samples), minlength=expected.size).astype(float)
    assert stats.chisquare(np.append(wrong[big], wrong[~big].sum()), f_exp).pvalue < CHI2_P_MIN


def test_spin_up_is_bit_zero_whatever_the_site_basis_order():
    """Product states map up -> bit 0 with and without conserved Sz (TeNPy orders Sz sites down, up)."""
    pattern = ["up", "down", "down", "up", "down"]
    for conserve in ("Sz", None):
        site = SpinHalfSite(conserve=conserve)
        psi = MPS.from_product_state([site] * 5, pattern, bc="finite", unit_cell_width=5)
        tensors, values = mps_tensors(psi, site)
        samples = sample_mps(tensors, 50, np.random.default_rng(0))
        assert (samples == np.array([0, 1, 1, 0, 1], dtype=np.uint8)).all()
        assert len(values) == 6 and all(v.tolist() == [1.0] for v in values)


def test_sampling_and_target_are_seeded():
    """The same seed gives the same samples and MPS; another seed other samples."""
    entry = {"kind": "heisenberg", "lattice": [6], "pbc": True, "method": "dmrg", "n_samples": 500}
    a, b, c = make_target(entry, 3), make_target(entry, 3), make_target(entry, 4)
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    assert all(np.array_equal(a.extra[k], b.extra[k]) for k in a.extra if k.startswith("mps/"))
    assert np.all(a.samples.sum(axis=1) == 3)  # the Sz = 0 sector of the Heisenberg chain


def test_periodic_frustrated_chain_matches_exact():
    """A periodic 10-site J1-J2 chain (J2 = 0.3, long-range wrap bond) matches Lanczos, and its ZZ too."""
    entry = {"kind": "heisenberg", "lattice": [10], "pbc": True, "J2": 0.3, "n_samples": 100}
    dmrg = make_target({**entry, "method": "dmrg"}, 0)
    exact = make_target({**entry, "method": "exact"}, 0)
    assert dmrg.attrs["energy"] == pytest.approx(exact.attrs["energy"], abs=SMALL_ENERGY_TOL)
    assert np.abs(dmrg.extra["zz_correlations"] - exact.extra["zz_correlations"]).max() < CORRELATION_TOL
    assert {tuple(sorted(b)) for b in dmrg.extra["bonds"].tolist()} == {tuple(sorted(b)) for b in exact.extra["bonds"].tolist()}
    np.testing.assert_allclose(dmrg.extra["site_positions"], exact.extra["site_positions"])


def test_target_artefact_stores_the_mps_with_axis_names(tmp_path):
    """target.h5 holds every B tensor and Schmidt vector with its axis names, and the DMRG record."""
    entry = {"kind": "tfim", "lattice": [6], "pbc": False, "method": "dmrg", "n_samples": 200}
    art = read_artefact(run_target(entry, 0, tmp_path / "target.h5"))
    assert art.dataset_attrs["mps/B_0"]["axes"] == "vL,p,vR"
    assert art.dataset_attrs["mps/S_6"]["axes"] == "v"
    assert [art[f"mps/B_{i}"].shape[1] for i in range(6)] == [2] * 6
    for key in ("energy", "energy_per_site", "truncation_error", "bond_dimension", "energy_variance"):
        assert key in art.attrs
    assert art.attrs["method"] == "dmrg" and art["zz_connected"].shape == (6, 6)


def test_two_dimensional_lattice_is_refused_naming_the_key():
    """method dmrg on a 2D lattice, or a too short periodic chain, is an InvalidConfigError naming lattice."""
    with pytest.raises(InvalidConfigError, match="lattice.*1D chain"):
        chain_length(_spec(kind="heisenberg", lattice=[4, 4]))
    with pytest.raises(InvalidConfigError, match="at least 5 sites"):
        chain_length(_spec(kind="heisenberg", lattice=[4], pbc=True, J2=0.5))
    assert chain_length(_spec(kind="tfim", lattice=[1, 32])) == 32
    config = {"targets": {"sq": {"kind": "tfim", "lattice": [4, 4], "method": "dmrg"}}, "models": {}, "studies": []}
    with pytest.raises(InvalidConfigError, match=r"targets\.sq\.lattice"):
        check_config(config)


def test_64_site_dmrg_target_passes_check_config(tmp_path):
    """A study on a 64-site DMRG chain (beyond the statevector limit, no exact probabilities) is planned."""
    config = {
        "seeds": [0],
        "targets": {"tfim64": {"kind": "tfim", "lattice": [64], "pbc": False, "h": 1.0, "method": "dmrg",
                               "dmrg": {"chi_max": 32}, "n_samples": 2000}},
        "models": {"product": {"kind": "product"}},
        "studies": [{"targets": ["tfim64"], "models": ["product"]}],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["check-config", str(path), "--schema", str(SCHEMA_PATH)]) == 0


@pytest.mark.slow
def test_critical_tfim_64_sites_matches_free_fermions():
    """The open critical (h = J = 1) 64-site chain matches the free-fermion energy to 1e-6 relative."""
    spec = _spec(kind="tfim", lattice=[64], pbc=False, h=1.0, dmrg={"chi_max": 24, "max_E_err": 1e-9})
    result = run_dmrg(spec)
    reference = tfim_open_chain_energy(64, 1.0, 1.0)
    assert abs(result.energy - reference) / abs(reference) < TFIM_64_RELATIVE_TOL
    assert len(result.tensors) == 64 and result.truncation_error < 1e-8
    samples = sample_mps(result.tensors, 4000, np.random.default_rng(1))
    # <Z_i Z_i+1> from the samples agrees with the MPS's within 5 standard errors.
    z = 1.0 - 2.0 * samples
    nn = (z[:, :-1] * z[:, 1:]).mean(axis=0)
    assert np.all(np.abs(nn - np.diag(result.zz, 1)) < 5 * np.sqrt(1 - np.diag(result.zz, 1) ** 2 + 1e-3) / np.sqrt(4000))


@pytest.mark.slow
def test_heisenberg_chain_20_sites_matches_exact_diagonalisation():
    """The open 20-site Heisenberg chain matches NetKet Lanczos (the exact method) to 1e-8 relative."""
    entry = {"kind": "heisenberg", "lattice": [20], "pbc": False}
    result = run_dmrg(_spec(**entry, dmrg={"chi_max": 96}))
    spec = with_defaults("targets", {**entry, "method": "exact"})
    energy, _ = exact_ground_state(*build_hamiltonian(spec)[:2])
    assert abs(result.energy - energy) / abs(energy) < HEISENBERG_20_RELATIVE_TOL
