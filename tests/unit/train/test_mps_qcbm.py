"""MPS Born machines: the JAX MPS simulation against statevector simulators, its gradient, the Z-string MMD^2,
exact sampling, truncation, and training at 64 qubits through the registry, the stage and the audit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest
from scipy import stats

from qgenflow.bits import all_bitstrings, bits_to_index, empirical_probs
from qgenflow.circuits.mps import mps_probs, sample_mps, simulate, zstring_expvals
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact, write_artefact
from qgenflow.kernels import mmd2_exact
from qgenflow.metrics.audit import audit_model
from qgenflow.models import make_ansatz
from qgenflow.plan.resources import job_resources
from qgenflow.stages.train import run_training
from qgenflow.train import trainer_name
from qgenflow.train.iqp_estimator import bandwidth_probability, step_rng
from qgenflow.train.mps import MPSZStringMMD, parities

#: Agreement of two exact computations of the same quantity.
EXACT = 1e-10
#: Central finite differences (step 1e-6) against the gradient.
FD_TOL = 1e-6
N, LAYERS, CHI_EXACT = 8, 3, 16  # 2^3 = 8 <= 16: no truncation
SIGMAS = [0.5, 1.0, 2.0]


@pytest.fixture
def theta() -> np.ndarray:
    """Random angles [layers, n, 2] of an 8-qubit, 3-layer brickwork."""
    return np.random.default_rng(11).uniform(-np.pi, np.pi, (LAYERS, N, 2))


def reference_state(theta: np.ndarray, entangler: str, device: str, layout: str = "brickwork") -> np.ndarray:
    """The brickwork's statevector from a PennyLane simulator (the independent reference)."""
    ops = make_ansatz("brickwork", N, LAYERS, {"entangler": entangler, "layout": layout}).ops(theta)
    return np.asarray(qml.device(device, wires=N).execute(qml.tape.QuantumScript(ops, [qml.state()])))


@pytest.mark.parametrize("layout", ["brickwork", "staircase"])
@pytest.mark.parametrize("entangler", ["cnot", "cz"])
@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_untruncated_mps_probabilities_equal_statevector(theta, entangler, device, layout):
    """With chi >= 2^layers the MPS probabilities equal the simulator's and nothing is discarded."""
    state = simulate(theta, N, CHI_EXACT, entangler, layout)
    np.testing.assert_allclose(mps_probs(state.tensors),
                               np.abs(reference_state(theta, entangler, device, layout)) ** 2, atol=EXACT)
    assert state.truncation_error < EXACT


def test_a_staircase_layer_correlates_the_ends_of_the_chain_and_a_brickwork_cannot():
    """RY(pi/2) on qubit 0 and a CNOT staircase make a GHZ state: <Z_0 Z_7> = 1; one brickwork layer: 0."""
    theta = np.zeros((1, N, 2))
    theta[0, 0, 0] = np.pi / 2
    ends = np.zeros((1, N), dtype=bool)
    ends[0, [0, N - 1]] = True
    ghz = np.asarray(zstring_expvals(simulate(theta, N, 2, "cnot", "staircase").tensors, ends))
    brick = np.asarray(zstring_expvals(simulate(theta, N, 2, "cnot", "brickwork").tensors, ends))
    np.testing.assert_allclose(ghz, [1.0], atol=EXACT)
    np.testing.assert_allclose(brick, [0.0], atol=EXACT)


def test_an_unknown_layout_is_refused_naming_the_key():
    with pytest.raises(InvalidConfigError, match="ansatz_options.layout.*staircase"):
        make_ansatz("brickwork", N, LAYERS, {"layout": "ring"})


def test_zstring_expvals_equal_statevector(theta):
    """<Z_S> contracted from the MPS equals sum_x p(x) (-1)^(S . x) from the statevector."""
    strings = np.random.default_rng(3).random((40, N)) < 0.3
    p = np.abs(reference_state(theta, "cnot", "default.qubit")) ** 2
    signs = 1 - 2 * ((all_bitstrings(N).astype(int) @ strings.T.astype(int)) % 2)
    got = np.asarray(zstring_expvals(simulate(theta, N, CHI_EXACT).tensors, strings))
    np.testing.assert_allclose(got, p @ signs, atol=EXACT)


@pytest.mark.parametrize("chi", [CHI_EXACT, 3])
def test_jax_gradient_equals_finite_differences(theta, chi):
    """The gradient through the truncated SVDs equals central differences, with and without truncation."""
    strings = jnp.asarray(np.random.default_rng(4).random((20, N)) < 0.4)

    @jax.jit
    def f(t):
        return jnp.sum(jnp.sin(zstring_expvals(simulate(t, N, chi, "cz").tensors, strings)))

    grad = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(theta)))
    assert np.all(np.isfinite(grad))
    for k in [(0, 0, 0), (1, 3, 1), (2, 7, 0), (2, 4, 1)]:
        up, down = theta.copy(), theta.copy()
        up[k] += 1e-6
        down[k] -= 1e-6
        assert grad[k] == pytest.approx((float(f(up)) - float(f(down))) / 2e-6, abs=FD_TOL)


def test_truncation_error_grows_as_chi_shrinks():
    """At depth 4 on 8 qubits chi 16 is exact; chi 8, 4, 2, 1 discard more and more weight."""
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, (4, N, 2))
    errors = [simulate(theta, N, chi).truncation_error for chi in (16, 8, 4, 2, 1)]
    assert errors[0] < EXACT and all(b > a for a, b in zip(errors, errors[1:]))


def test_samples_follow_the_exact_distribution(theta):
    """Chi-square of 20000 exact MPS samples against the contracted probabilities (truncated MPS, chi 4)."""
    tensors = simulate(theta, N, 4).tensors
    p = mps_probs(tensors)
    assert p.sum() == pytest.approx(1.0, abs=EXACT)
    samples = sample_mps(tensors, 20000, np.random.default_rng(6))
    counts = np.bincount(bits_to_index(samples), minlength=2**N)
    big = p * len(samples) >= 5
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(p[big], p[~big].sum()) * len(samples)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    assert np.array_equal(samples, sample_mps(tensors, 20000, np.random.default_rng(6)))  # seeded


def test_zstring_mmd_expectation_equals_exact_mmd(theta):
    """Summed over every Z-string with its Bernoulli weights the loss is mmd2_exact to the empirical law;
    the mean of the per-step estimates agrees within 4 standard errors."""
    n = 4
    t = theta[:, :n]
    data = np.random.default_rng(7).integers(0, 2, (300, n), dtype=np.uint8)
    loss = MPSZStringMMD(n, LAYERS, 16, "cnot", data, SIGMAS, n_ops=30)
    strings = all_bitstrings(n).astype(bool)
    weight = np.mean([bandwidth_probability(s) ** strings.sum(1) * (1 - bandwidth_probability(s)) ** (n - strings.sum(1))
                      for s in SIGMAS], axis=0)
    p_model = mps_probs(simulate(t, n, 16).tensors)
    exact = mmd2_exact(p_model, empirical_probs(data, n), SIGMAS)
    assert loss.loss(t, strings, weight) == pytest.approx(exact, rel=1e-9)
    draws = [loss.loss(t, loss.draw(step_rng(0, step))) for step in range(200)]
    assert abs(np.mean(draws) - exact) < 4 * np.std(draws) / np.sqrt(len(draws))


def test_parities_equal_direct_sums():
    """Packed-bit parities equal sum_x w_x (-1)^(a . x) over 70-bit strings (more than one word)."""
    rng = np.random.default_rng(8)
    a, x, w = rng.integers(0, 2, (9, 70)), rng.integers(0, 2, (13, 70)), rng.random(13)
    np.testing.assert_allclose(parities(a, x, w), (1 - 2 * ((a @ x.T) % 2)) @ w, atol=EXACT)


def test_model_kind_is_registered_and_sized_without_two_to_the_n():
    """mps_qcbm trains through its own trainer; its job's memory does not grow as 2^n."""
    spec = {"kind": "mps_qcbm", "layers": 4, "bond_dimension": 16}
    assert trainer_name(spec) == "mps_qcbm"
    small = job_resources("train", {"kind": "tfim", "lattice": [64], "method": "dmrg"}, spec)
    large = job_resources("train", {"kind": "tfim", "lattice": [128], "method": "dmrg"}, spec)
    assert large["mem_mb"] < 2 * small["mem_mb"] < 8000


@pytest.mark.slow  # ~15 s on 2 shared cores, most of it compiling
def test_sixty_four_qubits_train_and_audit(tmp_path):
    """A 64-qubit model trains a few steps on 64-bit samples through the stage; the loss falls, and the audit
    reports its truncation error and its bond dimension."""
    rng = np.random.default_rng(9)
    ones = rng.integers(0, 2, (400, 1), dtype=np.uint8)  # all-zero or all-one strings with 5% flips
    samples = (ones ^ (rng.random((400, 64)) < 0.05)).astype(np.uint8)
    target = write_artefact(tmp_path / "t.h5", "target", {"samples": samples, "samples_test": samples},
                            config={"kind": "toy"}, seed=0, attrs={"n_qubits": 64, "target_kind": "toy"})
    spec = {"kind": "mps_qcbm", "layers": 2, "bond_dimension": 2, "optimizer": {"steps": 12, "lr": 0.1},
            "training": {"n_ops": 32}, "checkpoint_every": 0, "n_samples": 500}
    model = read_artefact(run_training(spec, target, 0, tmp_path / "m.h5"))
    loss = np.asarray(model["history/loss"])
    assert loss[-3:].mean() < loss[:3].mean()
    assert model["samples"].shape == (500, 64) and model.get("probs") is None
    assert model.attrs["truncation_error"] > 0  # chi 2 < 2^2
    record = audit_model(model, read_artefact(target), SIGMAS)
    assert record["truncation_error"] == model.attrs["truncation_error"] and record["max_bond_dimension"] == 2
    assert record["method"].startswith("MPS simulation")
