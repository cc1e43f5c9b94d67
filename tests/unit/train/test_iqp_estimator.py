"""The Z-string MMD estimator of IQP Born machines against exact probabilities and a dense reference."""

import numpy as np
import pytest

from qgenflow.bits import all_bitstrings, empirical_probs, sample_from_probs
from qgenflow.circuits import CircuitRunner
from qgenflow.devices import make_device
from qgenflow.fit.loop import fit
from qgenflow.io import read_artefact
from qgenflow.kernels import mmd2_exact
from qgenflow.models import make_ansatz
from qgenflow.models.iqp import pad_generators
from qgenflow.schema import with_defaults
from qgenflow.stages.target import run_target
from qgenflow.targets.iqp import build_iqp, candidate_generators, iqp_probs
from qgenflow.train import iqp_estimator, train
from qgenflow.train.iqp_estimator import (
    ClassicalSamplingError,
    ZStringMMD,
    bandwidth_probability,
    fit_iqp_estimator,
    initial_angles,
    iqp_model_probs,
    sample_iqp_model,
    sigmas_for_weights,
)

TOL_EXACT = 1e-12  # float64 sums over all 2^n z: exact up to rounding
TOL_DENSE = 1e-10  # sparse vs dense float64 evaluation of the same batch
TOL_F32 = 1e-4  # relative: float32 vs float64 loss and gradient (to the largest gradient entry)
TOL_FD = 1e-6  # relative: jax gradient vs central finite difference with step FD_STEP
FD_STEP = 1e-5
N_SE = 5.0  # Monte Carlo tolerance in standard errors
SIGMAS = [0.7, 1.5, 3.0]
TRAIN_GAIN = 0.5  # training must at least halve the exact MMD


@pytest.fixture
def seed() -> int:
    """Seed of the test's draws."""
    return 2024


def spec(n, **generators):
    """An iqp target spec on n qubits with normal angles of scale 0.6 (learnable, not Porter-Thomas)."""
    return {"kind": "iqp", "n_qubits": n, "generators": generators, "angles": {"distribution": "normal", "scale": 0.6}}


def z_expectations(probs, strings):
    """Exact <Z_a> = sum_x p(x) (-1)^(a.x) for rows a of ``strings``."""
    n = strings.shape[1]
    signs = 1 - 2 * ((all_bitstrings(n).astype(np.int64) @ strings.T.astype(np.int64)) % 2)
    return probs @ signs


def dense_loss(gens, theta, strings_by_group, z, data_samples, spin_flip=False):
    """Dense reference: odd-overlap matrix [a, G] times signs [G, z]; the estimator's U-statistic loss."""
    n = z.shape[1]
    masks = np.zeros((len(gens), n), dtype=np.int64)
    for j, row in enumerate(gens):
        masks[j, row[row >= 0]] = 1
    signs = 1 - 2 * ((masks @ z.T.astype(np.int64)) % 2)  # [G, n_z]
    total, n_z, groups = 0.0, z.shape[0], len(strings_by_group)
    for strings in strings_by_group:
        a = strings.astype(np.int64)
        odd = (a @ masks.T) % 2
        c = np.cos((odd * 2 * theta) @ signs)
        if spin_flip:
            c *= (a.sum(axis=1) % 2 == 0)[:, None]
        d = (1 - 2 * ((data_samples.astype(np.int64) @ a.T) % 2)).mean(axis=0)
        u = (c.sum(1) ** 2 - (c**2).sum(1)) / (n_z * (n_z - 1))
        total += np.mean(u - 2 * c.mean(1) * d + d**2) / groups
    return total


@pytest.mark.parametrize(
    "generators,path,spin_flip",
    [
        ({"max_weight": 2}, "pairwise", False),
        ({"max_weight": 2, "pattern": "chain", "pbc": True}, "pairwise", True),
        ({"max_weight": 3, "density": 0.7}, "incidence", False),
    ],
)
def test_z_expectations_exact(generators, path, spin_flip, seed):
    """Over all z (even z with spin flip) the estimated <Z_a> equals sum_x p(x)(-1)^(a.x) for all 64 strings."""
    n = 6
    gens, theta = build_iqp(spec(n, **generators), seed)
    probs = iqp_model_probs(gens, theta, n, spin_flip_symmetric=spin_flip)
    z = all_bitstrings(n)
    if spin_flip:
        z = z[z.sum(axis=1) % 2 == 0]
    strings = all_bitstrings(n).astype(bool)
    est = ZStringMMD(
        gens,
        n,
        sample_from_probs(probs, 100, np.random.default_rng(seed)),
        [1.0],
        n_ops=64,
        n_z=len(z),
        path=path,
        spin_flip_symmetric=spin_flip,
        dtype="float64",
    )
    batch = est.make_batch([strings], z)
    np.testing.assert_allclose(est.model_expvals(theta, batch)[0], z_expectations(probs, strings), atol=TOL_EXACT)


@pytest.mark.parametrize("n,weight", [(6, 0.5), (40, 0.3)])
def test_data_expectations(n, weight, seed):
    """Empirical <Z_a> of the samples (popcount path at n=6, gather path at n=40) equal a direct computation."""
    rng = np.random.default_rng(seed)
    samples = (rng.random((300, n)) < 0.3).astype(np.uint8)
    gens = pad_generators(candidate_generators(n, max_weight=1))
    est = ZStringMMD(gens, n, samples, [1.0], n_ops=200, n_z=4, dtype="float64")
    strings = rng.random((200, n)) < weight / (1 if n == 6 else 10)
    batch = est.make_batch([strings], rng.integers(0, 2, (4, n)))
    direct = (1 - 2 * ((samples.astype(np.int64) @ strings.T.astype(np.int64)) % 2)).mean(axis=0)
    np.testing.assert_allclose(est.data_expvals(batch)[0], direct, atol=TOL_EXACT)


def test_zstring_expansion_equals_kernel_mmd(seed):
    """sum_a Bernoulli(p_sigma)(a) (<Z_a>_p - <Z_a>_q)^2, averaged over sigmas, equals kernels.mmd2_exact."""
    n = 5
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(2**n)), rng.dirichlet(np.ones(2**n))
    strings = all_bitstrings(n)
    diff2 = (z_expectations(p, strings) - z_expectations(q, strings)) ** 2
    weights = strings.sum(axis=1)
    expansion = np.mean(
        [
            np.sum(bandwidth_probability(s) ** weights * (1 - bandwidth_probability(s)) ** (n - weights) * diff2)
            for s in SIGMAS
        ]
    )
    assert expansion == pytest.approx(mmd2_exact(p, q, SIGMAS), rel=TOL_EXACT, abs=TOL_EXACT)


def test_mmd_estimate_matches_exact(seed):
    """The mean of independent estimates equals mmd2_exact(model, empirical target) within Monte Carlo error."""
    n = 6
    gens, theta_target = build_iqp(spec(n, max_weight=2), seed)
    rng = np.random.default_rng(seed)
    samples = sample_from_probs(iqp_probs(gens, theta_target, n), 400, rng)
    theta = theta_target + rng.normal(0, 0.5, size=theta_target.shape)
    est = ZStringMMD(gens, n, samples, SIGMAS, n_ops=3000, n_z=256, dtype="float64")
    values = np.array([est.loss(theta, est.draw_batch(rng)) for _ in range(16)])
    exact = mmd2_exact(iqp_probs(gens, theta, n), empirical_probs(samples, n), SIGMAS)
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - exact) < N_SE * se + TOL_EXACT
    assert N_SE * se < 0.5 * exact  # the tolerance is well below the value: the check has teeth


@pytest.mark.parametrize(
    "generators,path,block,spin_flip",
    [
        ({"max_weight": 2}, "pairwise", 32, False),  # pairs list, dense Theta
        ({"max_weight": 2}, "pairwise", 0, True),  # dense [k, k] blocks
        ({"max_weight": 2, "pattern": "chain"}, "pairwise", 32, False),  # edge scatter, sorted pair lookup
        ({"max_weight": 2, "pattern": "chain"}, "pairwise", 0, False),
        ({"max_weight": 3, "density": 0.6}, "incidence", 32, True),
    ],
)
def test_sparse_equals_dense_reference(generators, path, block, spin_flip, seed):
    """Loss of the sparse paths on a fixed batch equals a dense odd-overlap implementation at n=8."""
    n = 8
    gens, theta = build_iqp(spec(n, **generators), seed)
    rng = np.random.default_rng(seed)
    samples = (rng.random((200, n)) < 0.4).astype(np.uint8)
    est = ZStringMMD(
        gens,
        n,
        samples,
        SIGMAS,
        n_ops=60,
        n_z=50,
        path=path,
        block_min_weight=block,
        spin_flip_symmetric=spin_flip,
        dtype="float64",
    )
    batch = est.draw_batch(rng)
    expected = dense_loss(gens, theta, batch.strings, batch.z, samples, spin_flip)
    assert est.loss(theta, batch) == pytest.approx(expected, abs=TOL_DENSE)


def test_segment_sum_equals_matrix_product(seed, monkeypatch):
    """The gather + segment_sum sum over each string's ones equals the dense-matrix product path."""
    n = 8
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    rng = np.random.default_rng(seed)
    samples = (rng.random((200, n)) < 0.4).astype(np.uint8)
    est = ZStringMMD(gens, n, samples, SIGMAS, n_ops=60, n_z=50, dtype="float64")
    batch = est.draw_batch(rng)
    assert "dense_strings" in batch.arrays["host"]
    monkeypatch.setattr(iqp_estimator, "_DENSE_STRINGS", 0)
    other = est.make_batch(batch.strings, batch.z)
    assert "dense_strings" not in other.arrays["host"]
    assert est.loss(theta, other) == pytest.approx(est.loss(theta, batch), abs=TOL_DENSE)


@pytest.mark.parametrize("path", ["pairwise", "incidence"])
def test_gradient_matches_finite_differences(path, seed):
    """jax.grad of the estimator equals central finite differences of the same fixed-randomness estimate."""
    n = 6
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    rng = np.random.default_rng(seed)
    samples = (rng.random((100, n)) < 0.5).astype(np.uint8)
    est = ZStringMMD(gens, n, samples, SIGMAS, n_ops=30, n_z=40, path=path, dtype="float64")
    batch = est.draw_batch(rng)
    _, grad = est.value_and_grad(theta, batch)
    for j in rng.choice(len(theta), size=5, replace=False):
        step = np.zeros_like(theta)
        step[j] = FD_STEP
        plus, _ = est.value_and_grad(theta + step, batch)
        minus, _ = est.value_and_grad(theta - step, batch)
        fd = (plus - minus) / (2 * FD_STEP)
        assert grad[j] == pytest.approx(fd, rel=TOL_FD, abs=TOL_FD * np.abs(grad).max())


def test_spin_flip_odd_strings_vanish(seed):
    """Under spin-flip symmetry the model's odd-weight Z-strings have expectation exactly 0."""
    n = 6
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    est = ZStringMMD(
        gens, n, np.zeros((10, n), np.uint8), [1.0], n_ops=64, n_z=32, spin_flip_symmetric=True, dtype="float64"
    )
    strings = all_bitstrings(n).astype(bool)
    values = est.model_expvals(theta, est.make_batch([strings], all_bitstrings(n)[:32]))[0]
    odd = strings.sum(axis=1) % 2 == 1
    assert np.all(values[odd] == 0.0) and np.any(values[~odd] != 0.0)


def test_unbiased_data_shifts_loss_only(seed):
    """unbiased_data replaces each d^2 by (N d^2 - 1) / (N - 1): a theta-independent shift of the loss."""
    n, n_samples = 6, 50
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    rng = np.random.default_rng(seed)
    samples = (rng.random((n_samples, n)) < 0.5).astype(np.uint8)
    plain, unbiased = (
        ZStringMMD(gens, n, samples, [1.0], n_ops=30, n_z=20, unbiased_data=u, dtype="float64") for u in (False, True)
    )
    batch = plain.draw_batch(rng)
    d = plain.data_expvals(batch)[0]
    shift = np.mean((n_samples * d**2 - 1) / (n_samples - 1) - d**2)
    value = unbiased.loss(theta, unbiased.make_batch(batch.strings, batch.z))
    assert value - plain.loss(theta, batch) == pytest.approx(shift, abs=TOL_EXACT)


def test_sigmas_for_weights_inverts_bandwidth_probability():
    """n p_sigma equals the requested mean Z-string weight."""
    n = 1000
    for w, s in zip([0.5, 2.0, 8.0], sigmas_for_weights(n, [0.5, 2.0, 8.0])):
        assert n * bandwidth_probability(s) == pytest.approx(w, rel=TOL_EXACT)


def test_training_lowers_exact_mmd(seed):
    """A short training at n=8 from target samples at least halves the exact MMD to the target."""
    n = 8
    gens, theta_target = build_iqp(spec(n, max_weight=2), seed)
    target = iqp_probs(gens, theta_target, n)
    samples = sample_from_probs(target, 5000, np.random.default_rng(seed))
    ansatz = make_ansatz("iqp", n, 1, {"max_weight": 2})
    np.testing.assert_array_equal(ansatz.generators, gens)  # the target's own generator set
    model_spec = with_defaults("models", {
        "kind": "qcbm",
        "ansatz": "iqp",
        "loss": {"sigmas": SIGMAS},
        "training": {"n_ops": 240, "n_z": 256},
        "optimizer": {"name": "adam", "lr": 0.05, "steps": 120},
    })
    result = fit_iqp_estimator(model_spec, ansatz, samples, seed)
    theta0, params, history = initial_angles(gens, samples, seed), result.params, result.history
    assert history["step"].shape == history["loss"].shape == (121,)
    assert history["loss"][-10:].mean() < history["loss"][:10].mean()
    before = mmd2_exact(iqp_probs(gens, theta0, n), target, SIGMAS)
    after = mmd2_exact(iqp_probs(gens, params, n), target, SIGMAS)
    assert after < TRAIN_GAIN * before


def test_sampling_limits(seed):
    """Exact sampling at small n; beyond the simulator limit without a device, a ClassicalSamplingError."""
    gens = pad_generators(candidate_generators(5, max_weight=2))
    theta = np.random.default_rng(seed).normal(size=len(gens))
    samples = sample_iqp_model(gens, theta, 5, 50, seed, spin_flip_symmetric=True)
    assert samples.shape == (50, 5) and samples.dtype == np.uint8
    big = pad_generators(candidate_generators(40, max_weight=1))
    with pytest.raises(ClassicalSamplingError, match="device"):
        sample_iqp_model(big, np.zeros(40), 40, 10, seed)


def test_step_objective_drives_fit_reproducibly(seed):
    """step_objective plugs into loop.fit; the same (seed, step) draws give identical runs."""
    n = 6
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    samples = (np.random.default_rng(seed).random((100, n)) < 0.5).astype(np.uint8)
    est = ZStringMMD(gens, n, samples, SIGMAS, n_ops=30, n_z=40)
    runs = [fit(est.step_objective(seed), theta, {"name": "adam", "lr": 0.05, "steps": 4}) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
    np.testing.assert_array_equal(runs[0].history["loss"], runs[1].history["loss"])


def test_prefetched_steps_equal_direct_draws_in_any_order(seed):
    """step_objective draws step t + 1 on a worker while step t runs: every step, in order,
    repeated or out of order, gives the loss and gradient of a direct draw from step_rng(seed, step)."""
    n = 6
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    samples = (np.random.default_rng(seed).random((100, n)) < 0.5).astype(np.uint8)
    est = ZStringMMD(gens, n, samples, SIGMAS, n_ops=30, n_z=40)
    objective = est.step_objective(seed)
    for step in (0, 1, 2, 2, 7, 3):
        loss, grad = objective(theta, step)
        ref_loss, ref_grad = est.value_and_grad(theta, est.draw_batch(iqp_estimator.step_rng(seed, step)))
        assert loss == ref_loss
        np.testing.assert_array_equal(grad, ref_grad)


def test_prefetcher_computes_each_key_once_and_reraises():
    """A prefetched key is not computed again; a key not prefetched is computed in the caller; errors surface on take."""
    from qgenflow.train.iqp_estimator import _Prefetcher

    calls = []

    def make(key):
        calls.append(key)
        if key == 9:
            raise RuntimeError("draw failed")
        return key * 10

    draws = _Prefetcher(make)
    draws.start(1)
    assert draws.take(1) == 10 and calls == [1]
    draws.start(2)
    assert draws.take(5) == 50 and sorted(calls) == [1, 2, 5]
    draws.start(9)
    with pytest.raises(RuntimeError, match="draw failed"):
        draws.take(9)


def test_train_with_estimator_from_artefact(tmp_path, seed):
    """The estimator trainer runs fit for the configured steps and returns exact probs and samples."""
    tpath = run_target({"kind": "iqp", "n_qubits": 5, "circuit_seed": 3, "n_samples": 500}, 0, tmp_path / "t.h5")
    model_spec = {
        "kind": "qcbm",
        "ansatz": "iqp",
        "layers": 1,
        "ansatz_options": {"max_weight": 2, "spin_flip_symmetric": True},
        "n_samples": 40,
        "training": {"method": "estimator", "n_ops": 60, "n_z": 50},
        "optimizer": {"name": "adam", "lr": 0.05, "steps": 5},
    }
    trained = train(model_spec, read_artefact(tpath), seed)
    theta, generators = trained.params["theta"], trained.extra["ansatz/generators"]
    assert trained.history["loss"].shape == (6,) and theta.shape == (len(generators),)
    np.testing.assert_allclose(trained.probs, iqp_model_probs(generators, theta, 5, spin_flip_symmetric=True))
    assert trained.samples.shape == (40, 5) and trained.attrs["sampling_note"] == ""


@pytest.mark.parametrize(
    "options,spin_flip",
    [({"weights": [1, 4, 5, 6]}, False), ({"weights": [2, 4, 6]}, True), ({"pattern": "chain", "max_weight": 5}, False)],
)
def test_high_weight_generators_estimator_matches_exact(options, spin_flip, seed):
    """Weight 4-6 generators: the estimator's <Z_a> over all z equals sum_x p(x)(-1)^(a.x) of the exact
    probabilities, which equal lightning's for the same circuit (an independent simulation)."""
    n = 6
    ansatz = make_ansatz("iqp", n, 1, {**options, "spin_flip_symmetric": spin_flip})
    gens = ansatz.generators
    assert (gens >= 0).sum(axis=1).max() >= 5
    theta = np.random.default_rng(seed).normal(0.0, 0.6, size=ansatz.shape)
    probs = iqp_model_probs(gens, theta, n, spin_flip_symmetric=spin_flip)
    lightning = CircuitRunner(make_device({"name": "lightning.qubit"}, n), n).probs(ansatz.ops(theta))
    np.testing.assert_allclose(probs, lightning, atol=TOL_EXACT)
    z = all_bitstrings(n)
    if spin_flip:
        z = z[z.sum(axis=1) % 2 == 0]
    strings = all_bitstrings(n).astype(bool)
    est = ZStringMMD(gens, n, sample_from_probs(probs, 100, np.random.default_rng(seed)), [1.0], n_ops=64,
                     n_z=len(z), spin_flip_symmetric=spin_flip, dtype="float64")
    assert est.path == "incidence"
    batch = est.make_batch([strings], z)
    np.testing.assert_allclose(est.model_expvals(theta, batch)[0], z_expectations(probs, strings), atol=TOL_EXACT)


def test_dense_rows_any_generator_order(seed):
    """Dense weight-2 path with shuffled generators (parameter tables in any order): loss equals the dense
    reference and the gradient equals the ordered run's, permuted."""
    n = 9
    gens, theta = build_iqp(spec(n, max_weight=2), seed)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(gens))
    samples = (rng.random((200, n)) < 0.4).astype(np.uint8)
    ordered, shuffled = (
        ZStringMMD(g, n, samples, SIGMAS, n_ops=60, n_z=50, dtype="float64") for g in (gens, gens[perm])
    )
    assert ordered._dense_pairs and shuffled._dense_pairs
    assert ordered._all_pairs_base is not None and shuffled._all_pairs_base is None  # one-pass and general scatter
    batch = ordered.draw_batch(rng)
    value, grad = ordered.value_and_grad(theta, batch)
    value_s, grad_s = shuffled.value_and_grad(theta[perm], shuffled.make_batch(batch.strings, batch.z))
    assert value_s == pytest.approx(dense_loss(gens, theta, batch.strings, batch.z, samples), abs=TOL_DENSE)
    assert value_s == pytest.approx(value, abs=TOL_DENSE)
    np.testing.assert_allclose(grad_s, grad[perm], atol=TOL_DENSE)


def test_float32_close_to_float64(seed):
    """float32 loss and gradient at n = 60 (all pairs) stay within TOL_F32 of float64 on the same batch."""
    n = 60
    gens = pad_generators(candidate_generators(n, max_weight=2))
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.1, size=len(gens))
    samples = (rng.random((300, n)) < 0.3).astype(np.uint8)
    sigmas = sigmas_for_weights(n, [1.0, 2.0, 4.0])
    f64, f32 = (ZStringMMD(gens, n, samples, sigmas, n_ops=300, n_z=200, dtype=d) for d in ("float64", "float32"))
    batch = f64.draw_batch(rng)
    value, grad = f64.value_and_grad(theta, batch)
    value32, grad32 = f32.value_and_grad(theta, f32.make_batch(batch.strings, batch.z))
    assert value32 == pytest.approx(value, rel=TOL_F32)
    assert np.abs(grad32 - grad).max() < TOL_F32 * np.abs(grad).max()


@pytest.mark.parametrize("p", [0.3, 0.004])
def test_bernoulli_rows_have_independent_bits(p, seed):
    """Z-string bits are i.i.d. Bernoulli(p) on both draws (uniforms for common ones; a binomial
    count and distinct uniform positions for rare ones): the row weights have the binomial mean and
    variance and every position the marginal p, within 5 standard errors."""
    from qgenflow.train.iqp_estimator import _bernoulli_rows

    rows, n = 20000, 500
    bits = _bernoulli_rows(np.random.default_rng(seed), rows, n, p)
    weights = bits.sum(axis=1)
    mean, var = n * p, n * p * (1 - p)
    assert abs(weights.mean() - mean) < 5 * np.sqrt(var / rows)
    assert abs(weights.var() - var) < 5 * var * np.sqrt(2 / rows) + 5 * np.sqrt(var / rows)
    marginal_se = np.sqrt(p * (1 - p) / rows)
    assert np.abs(bits.mean(axis=0) - p).max() < 5 * marginal_se
    # the pair (0, 1) is uncorrelated: P(both) = p^2
    assert abs((bits[:, 0] & bits[:, 1]).mean() - p * p) < 5 * np.sqrt(p * p / rows) + 1e-4


@pytest.mark.parametrize("threads", [1, 2])
def test_all_pairs_scatter_is_the_general_scatter_bit_for_bit(threads, seed):
    """The one-pass gradient of the all-pairs layout equals the two-pass scatter over the parameter table
    exactly, with padded rows, qubits off the rows and any thread count (shares of the pair blocks)."""
    import numba

    from qgenflow.train.iqp_kernels import scatter_all_pairs, scatter_rows

    n = 1200  # rows x n above a million entries: the passes are shared among threads
    gens = pad_generators(candidate_generators(n, max_weight=2))
    est = ZStringMMD(gens, n, np.zeros((2, n), dtype=np.uint8), [16.0], n_ops=10, n_z=4)
    assert est._all_pairs_base is not None
    rng = np.random.default_rng(seed)
    qubits = np.sort(rng.choice(n, size=900, replace=False)).astype(np.int32)
    rows = np.concatenate([qubits, np.full(8, n, dtype=np.int32)])  # padded with n
    pos = np.full(n, rows.size, dtype=np.int32)
    pos[qubits] = np.arange(qubits.size)
    d_rows = rng.normal(size=(rows.size, n + 1)).astype(np.float32)
    d_h = rng.normal(size=rows.size).astype(np.float32)
    expected = np.zeros(est.n_params)
    scatter_rows(d_rows, d_h, est._pair_table, est._h_table, rows, expected)
    got = np.full(est.n_params, np.nan)  # every entry must be written
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        scatter_all_pairs(d_rows, d_h, est._h_table, rows, pos, est._all_pairs_base, got)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(got, expected)
