"""VMC ground states: energies and Z-basis samples against exact diagonalisation."""

import numpy as np
import pytest
import scipy.stats

nk = pytest.importorskip("netket")

from qgenflow.bits import bits_to_index  # noqa: E402
from qgenflow.errors import InvalidConfigError  # noqa: E402
from qgenflow.targets.vmc import VMCDivergedError, VMCResult, run_vmc  # noqa: E402

N_SAMPLES = 4000
ENERGY_SIGMAS = 5.0
ENERGY_REL_TOL = 2e-3
P_VALUE_MIN = 1e-3
MAGNETISATION_TOL = 0.05
SMALL_SPEC = {
    "n_iter": 60,
    "n_samples_train": 256,
    "n_chains": 16,
    "n_samples_eval": 2048,
    "burn_in_sweeps": 20,
}


def _exact(ham):
    """Ground energy and |psi|^2 over the Hilbert space's own states (NetKet order)."""
    energies, vectors = nk.exact.lanczos_ed(ham, k=1, compute_eigenvectors=True)
    probs = np.abs(vectors[:, 0]) ** 2
    return float(energies[0]), probs / probs.sum()


def _chi2_pvalue(samples: np.ndarray, states: np.ndarray, probs: np.ndarray) -> float:
    """Pearson chi-square p-value of the samples' histogram against ``probs`` on ``states``."""
    index = bits_to_index((states < 0).astype(np.uint8))
    counts = np.bincount(bits_to_index(samples), minlength=2 ** samples.shape[1])
    observed = counts[index]
    assert observed.sum() == len(samples), "samples outside the Hilbert space"
    expected = probs * len(samples)
    keep = expected > 5  # pool the rare states into one bin
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    stat = float(((obs - exp) ** 2 / np.maximum(exp, 1e-300)).sum())
    return float(scipy.stats.chi2.sf(stat, len(obs) - 1))


@pytest.fixture(scope="module")
def ring():
    """8-site periodic Heisenberg ring in Sz = 0 (Marshall sign), VMC and exact."""
    graph = nk.graph.Grid([8], pbc=True)
    hilbert = nk.hilbert.Spin(0.5, 8, total_sz=0)
    ham = nk.operator.Heisenberg(hilbert, graph, sign_rule=True)
    e0, probs = _exact(ham)
    result = run_vmc(ham, SMALL_SPEC, 3, N_SAMPLES, graph=graph, reference_energy=e0)
    return {"hilbert": hilbert, "e0": e0, "probs": probs, "result": result, "ham": ham, "graph": graph}


@pytest.fixture(scope="module")
def tfim_field():
    """6-site Ising chain in transverse and longitudinal fields (full space), VMC and exact.

    ``H = -sum Z_i Z_{i+1} - sum X_i - 0.3 sum Z_i``: the field favours Z = +1, i.e. bit 0,
    so this system fixes the bit convention (the Heisenberg one is spin-flip symmetric).
    """
    graph = nk.graph.Grid([6], pbc=True)
    hilbert = nk.hilbert.Spin(0.5, 6)
    ham = nk.operator.Ising(hilbert, graph, h=1.0, J=-1.0)
    ham = ham.to_local_operator() - 0.3 * sum(nk.operator.spin.sigmaz(hilbert, i) for i in range(6))
    e0, probs = _exact(ham)
    spec = {**SMALL_SPEC, "model": "rbm", "alpha": 2, "lr": 0.05}  # a polarised state needs larger steps
    result = run_vmc(ham, spec, 5, N_SAMPLES, reference_energy=e0)
    return {"hilbert": hilbert, "e0": e0, "probs": probs, "result": result}


def test_ring_energy_matches_exact(ring):
    """The VMC energy agrees with Lanczos within a few sigma and a small variational bias."""
    res: VMCResult = ring["result"]
    assert res.energy > ring["e0"] - ENERGY_SIGMAS * res.energy_error
    assert res.relative_error < ENERGY_REL_TOL
    assert res.energy_error > 0
    assert 0 <= res.energy_variance < 0.1


def test_ring_samples_shape_dtype_and_sector(ring):
    """Samples are [n, N] uint8 bits with equal numbers of 0s and 1s (Sz = 0)."""
    samples = ring["result"].samples
    assert samples.shape == (N_SAMPLES, 8)
    assert samples.dtype == np.uint8
    assert set(np.unique(samples)) <= {0, 1}
    assert np.all(samples.sum(axis=1) == 4)


def test_ring_histogram_matches_exact(ring):
    """The sample histogram passes a chi-square test against the exact |psi|^2."""
    p = _chi2_pvalue(ring["result"].samples, ring["hilbert"].all_states(), ring["probs"])
    assert p > P_VALUE_MIN


def test_histogram_test_rejects_uniform(ring):
    """The same chi-square test rejects the uniform distribution on the sector (it has power)."""
    n_states = ring["hilbert"].n_states
    p = _chi2_pvalue(ring["result"].samples, ring["hilbert"].all_states(), np.full(n_states, 1.0 / n_states))
    assert p < P_VALUE_MIN


def test_ring_history_and_metadata(ring):
    """History arrays have one entry per step, seconds grow, and metadata is filled in."""
    res = ring["result"]
    hist = res.history
    assert set(hist) == {"step", "energy", "energy_error", "variance", "seconds"}
    assert len(hist["step"]) == SMALL_SPEC["n_iter"]
    assert np.all(np.diff(hist["seconds"]) >= 0)
    assert hist["energy"][-1] < hist["energy"][0]
    assert res.n_params > 0 and res.seconds >= hist["seconds"][-1]
    assert "RBMSymm" in res.model_description
    assert res.diagnostics["tau_energy"] < 1.0


def test_tfim_field_energy_and_histogram(tfim_field):
    """Unconstrained space: single-flip sampling reproduces the exact energy and |psi|^2."""
    res = tfim_field["result"]
    assert res.energy > tfim_field["e0"] - ENERGY_SIGMAS * res.energy_error
    assert res.relative_error < ENERGY_REL_TOL
    p = _chi2_pvalue(res.samples, tfim_field["hilbert"].all_states(), tfim_field["probs"])
    assert p > P_VALUE_MIN


def test_tfim_field_bit_convention(tfim_field):
    """Bit 0 is sigma^z = +1: the sample magnetisation matches the exact <Z_i> (positive here)."""
    hilbert, probs = tfim_field["hilbert"], tfim_field["probs"]
    exact_z = probs @ hilbert.all_states().astype(float)  # NetKet states are sigma^z eigenvalues
    sample_z = (1.0 - 2.0 * tfim_field["result"].samples).mean(axis=0)
    assert np.all(exact_z > 0.1)
    np.testing.assert_allclose(sample_z, exact_z, atol=MAGNETISATION_TOL)


@pytest.mark.slow
def test_reproducible_for_fixed_seed(ring):
    """The same seed gives identical samples and energies on the same machine."""
    again = run_vmc(ring["ham"], SMALL_SPEC, 3, N_SAMPLES, graph=ring["graph"])
    np.testing.assert_array_equal(again.samples, ring["result"].samples)
    assert again.energy == ring["result"].energy
    np.testing.assert_array_equal(again.history["energy"], ring["result"].history["energy"])


def test_divergence_is_caught(ring):
    """A far too large step size is rolled back, then reported as VMCDivergedError."""
    with pytest.raises(VMCDivergedError, match="vmc.lr"):
        run_vmc(ring["ham"], {**SMALL_SPEC, "lr": 3.0}, 3, 10, graph=ring["graph"])


def test_unknown_spec_key_is_rejected(ring):
    """A misspelled vmc key raises InvalidConfigError naming it."""
    with pytest.raises(InvalidConfigError, match="vmc.n_iters"):
        run_vmc(ring["ham"], {"n_iters": 5}, 0, 10, graph=ring["graph"])


def test_symmetric_model_needs_graph(ring):
    """rbm_symm without a lattice raises InvalidConfigError, not a NetKet traceback."""
    with pytest.raises(InvalidConfigError, match="graph"):
        run_vmc(ring["ham"], {"n_iter": 1}, 0, 10)


def test_target_artefact_records_the_sample_quality():
    """A VMC target's attributes carry the final chains' autocorrelation, acceptance and R-hat (issue 17)."""
    from qgenflow.targets import make_target

    quick = {"n_iter": 5, "n_samples_train": 64, "n_chains": 16, "n_samples_eval": 256, "burn_in_sweeps": 5}
    target = make_target({"kind": "heisenberg", "lattice": [2, 2], "method": "vmc", "n_samples": 200,
                          "vmc": {"model": "rbm", **quick}}, 0)
    attrs = target.attrs
    for key in ("vmc_tau_energy", "vmc_tau_log_prob", "vmc_acceptance", "vmc_r_hat", "vmc_rollbacks"):
        assert key in attrs and np.isfinite(attrs[key]), key
    assert 0.0 < attrs["vmc_acceptance"] <= 1.0
    assert attrs["vmc_r_hat"] > 0.9


@pytest.mark.parametrize("lr_final", [0.1, 1.0])
def test_step_size_schedule_ends_at_lr_final(lr_final):
    """The SR step size warms up to lr, then decays by cosine to lr x lr_final at the last step."""
    from qgenflow.targets.vmc import _resolve_spec, _schedules

    cfg = _resolve_spec({"n_iter": 100, "lr": 0.02, "lr_final": lr_final})
    lr, _ = _schedules(cfg)
    assert float(lr(10)) == pytest.approx(0.02)
    assert float(lr(100)) == pytest.approx(0.02 * lr_final)
    assert all(float(lr(s + 1)) <= float(lr(s)) + 1e-15 for s in range(10, 100))


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1])
def test_lr_final_outside_unit_interval_is_rejected(bad):
    """lr_final is a fraction of lr: a value outside (0, 1] names the key before any work."""
    from qgenflow.targets.vmc import _resolve_spec

    with pytest.raises(InvalidConfigError, match="vmc.lr_final"):
        _resolve_spec({"lr_final": bad})
