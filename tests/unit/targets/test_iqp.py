"""Random IQP targets: circuit construction, exact probabilities, samples, anticoncentration."""

import math

import numpy as np
import pytest
from scipy.linalg import hadamard
from scipy.stats import chisquare

from qgenflow.bits import all_bitstrings, bits_to_index, empirical_probs
from qgenflow.errors import InvalidConfigError
from qgenflow.targets import iqp
from qgenflow.targets.iqp import (
    anticoncentration,
    build_iqp,
    candidate_generators,
    check_iqp_spec,
    iqp_ops,
    iqp_phase,
    iqp_probs,
    iqp_probs_lightning,
    iqp_samples_lightning,
    linear_xeb,
    make_iqp,
    walsh_hadamard,
)

TOL_NORM = 1e-12  # sum of a float64 probability vector over <= 2^10 entries
TOL_PROBS = 1e-12  # two exact simulations of the same circuit (observed ~3e-16)
ALPHA = 1e-3  # significance level of the goodness-of-fit tests
MIN_EXPECTED = 5.0  # pooled chi-square bins hold at least this many expected counts
N_SIGMA = 5.0  # statistical tolerances are this many standard errors
# Porter-Thomas tolerance for one circuit at n = 10: over 1000 seeded circuits (all
# weight <= 2 generators, uniform angles) 2^n sum p^2 had mean 1.999, standard deviation
# 0.093 and range [1.79, 2.42]; 0.5 is more than 5 standard deviations.
TOL_PORTER_THOMAS = 0.5

DEEP = {"generators": {"max_weight": 2}, "angles": {"distribution": "uniform", "scale": 2 * math.pi}}


def spec_of(n, **extra):
    """An iqp target spec with ``n`` qubits."""
    return {"kind": "iqp", "n_qubits": n, **extra}


@pytest.fixture
def seed() -> int:
    """The circuit seed used by tests that need one fixed circuit."""
    return 7


def pooled_chisquare(counts: np.ndarray, probs: np.ndarray) -> float:
    """Chi-square p-value of ``counts`` against ``probs``, pooling the rarest bins to >= MIN_EXPECTED."""
    n_total = counts.sum()
    expected = probs * n_total
    order = np.argsort(expected)
    obs_bins, exp_bins = [], []
    obs_acc = exp_acc = 0.0
    for i in order:
        obs_acc += counts[i]
        exp_acc += expected[i]
        if exp_acc >= MIN_EXPECTED:
            obs_bins.append(obs_acc)
            exp_bins.append(exp_acc)
            obs_acc = exp_acc = 0.0
    obs_bins[-1] += obs_acc  # leftover (below MIN_EXPECTED) joins the last, largest bin
    exp_bins[-1] += exp_acc
    exp_bins = np.array(exp_bins) * n_total / np.sum(exp_bins)
    return float(chisquare(np.array(obs_bins), exp_bins).pvalue)


def sample_counts(samples: np.ndarray, n: int) -> np.ndarray:
    """Histogram of samples over the 2^n big-endian bitstrings."""
    return np.bincount(bits_to_index(samples), minlength=2**n)


@pytest.mark.parametrize(
    "n,generators",
    [
        (1, {}),
        (5, {"max_weight": 3}),
        (9, {"pattern": "chain", "pbc": True}),
        (6, {"pattern": "square", "lattice": [2, 3], "max_weight": 3, "density": 0.5}),
    ],
)
def test_probs_normalised(n, generators, seed):
    """Exact probabilities are non-negative and sum to one."""
    probs = iqp_probs(*build_iqp(spec_of(n, generators=generators), seed), n)
    assert probs.shape == (2**n,) and probs.min() >= 0.0
    assert probs.sum() == pytest.approx(1.0, abs=TOL_NORM)


@pytest.mark.parametrize(
    "n,generators",
    [
        (6, {}),
        (8, {}),
        (6, {"max_weight": 3, "density": 0.6}),
        (8, {"pattern": "square", "lattice": [2, 4], "max_weight": 3, "pbc": True}),
    ],
)
def test_numpy_matches_lightning(n, generators, seed):
    """The numpy Walsh-Hadamard path and qml.probs on lightning.qubit agree."""
    gens, angles = build_iqp(spec_of(n, generators=generators), seed)
    np.testing.assert_allclose(iqp_probs(gens, angles, n), iqp_probs_lightning(gens, angles, n), rtol=0, atol=TOL_PROBS)


def test_matches_pennylane_iqp_template(seed):
    """The circuit equals qml.IQP(weights=theta, pattern=[[g] ...]) on default.qubit (the phase convention)."""
    import pennylane as qml

    n = 5
    gens, angles = build_iqp(spec_of(n, generators={"max_weight": 3, "density": 0.5}), seed)
    pattern = [[[int(q) for q in row if q >= 0]] for row in gens]

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit():
        qml.IQP(weights=list(angles), num_wires=n, pattern=pattern)
        return qml.probs(wires=range(n))

    np.testing.assert_allclose(iqp_probs(gens, angles, n), circuit(), rtol=0, atol=TOL_PROBS)


def test_z_expectations_match_estimator_formula(seed):
    """<Z_a> equals E_z[cos(sum_j 2 theta_j (-1)^(g_j.z) [g_j.a odd])] (REFERENCES.md), z uniform."""
    n = 6
    gens, angles = build_iqp(spec_of(n, generators={"max_weight": 3, "density": 0.7}), seed)
    probs = iqp_probs(gens, angles, n)
    masks = np.zeros((len(angles), n), dtype=np.int64)
    for row, g in enumerate(gens):
        masks[row, g[g >= 0]] = 1
    z = all_bitstrings(n).astype(np.int64)
    signs = 1 - 2 * ((z @ masks.T) % 2)  # [2^n, G]
    rng = np.random.default_rng(0)
    for a in [np.eye(n, dtype=np.int64)[0], np.ones(n, dtype=np.int64), *rng.integers(0, 2, size=(4, n))]:
        odd = (masks @ a) % 2
        estimator = np.mean(np.cos(signs @ (2 * angles * odd)))
        exact = probs @ (1 - 2 * ((all_bitstrings(n).astype(np.int64) @ a) % 2))
        assert exact == pytest.approx(estimator, abs=TOL_PROBS)


def test_phase_matches_direct_sum(seed):
    """iqp_phase equals -sum_j theta_j (-1)^(z.g_j) summed generator by generator."""
    n = 7
    gens, angles = build_iqp(spec_of(n, generators={"max_weight": 3}), seed)
    z = all_bitstrings(n).astype(np.int64)
    direct = np.zeros(2**n)
    for row, theta in zip(gens, angles):
        direct -= theta * (1 - 2 * (z[:, row[row >= 0]].sum(axis=1) % 2))
    np.testing.assert_allclose(iqp_phase(gens, angles, n), direct, rtol=0, atol=TOL_PROBS)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_walsh_hadamard_matches_matrix(n, rng):
    """The fast transform equals the dense Sylvester-Hadamard matrix product."""
    x = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    expected = hadamard(2**n) @ x
    np.testing.assert_allclose(walsh_hadamard(x.copy()), expected, rtol=0, atol=TOL_PROBS * 2**n)


def test_iqp_ops_gates():
    """Hadamard layers around RZ / IsingZZ / MultiRZ with angle 2 theta by weight."""
    gens = np.array([[0, -1, -1], [0, 2, -1], [0, 1, 2]])
    angles = np.array([0.1, 0.2, 0.3])
    ops = iqp_ops(gens, angles, 3)
    names = [op.name for op in ops]
    assert names == ["Hadamard"] * 3 + ["RZ", "IsingZZ", "MultiRZ"] + ["Hadamard"] * 3
    assert [list(op.wires) for op in ops[3:6]] == [[0], [0, 2], [0, 1, 2]]
    np.testing.assert_allclose([op.data[0] for op in ops[3:6]], 2 * angles)


@pytest.mark.parametrize(
    "n,kwargs,count",
    [
        (5, {"max_weight": 1}, 5),
        (6, {"max_weight": 2}, 6 + 15),
        (6, {"max_weight": 3}, 6 + 15 + 20),
        (6, {"pattern": "chain", "max_weight": 3}, 6 + 5 + 4),
        (6, {"pattern": "chain", "max_weight": 3, "pbc": True}, 6 + 6 + 6),
        (9, {"pattern": "square", "lattice": [3, 3], "max_weight": 2}, 9 + 12),
        (9, {"pattern": "square", "lattice": [3, 3], "max_weight": 3}, 9 + 12 + 4 * 1 + 4 * 3 + 6),
        (16, {"pattern": "square", "lattice": [4, 4], "max_weight": 3, "pbc": True}, 16 + 32 + 16 * 6),
        (3, {"pattern": "chain", "max_weight": 3, "pbc": True}, 3 + 3 + 1),  # a 3-ring is one triangle
        (4, {"pattern": "square", "lattice": [2, 2], "max_weight": 2, "pbc": True}, 4 + 4),
    ],
)
def test_candidate_generator_counts(n, kwargs, count):
    """Generator counts: all subsets, chain and square lattices (connected triples), open and periodic."""
    gens = candidate_generators(n, **kwargs)
    assert len(gens) == count == len(set(gens))
    assert all(list(g) == sorted(set(g)) and 0 <= g[0] and g[-1] < n for g in gens)


def test_square_lattice_bonds_are_nearest_neighbours():
    """Square-lattice bonds join (i, j) to (i, j+1) and (i+1, j), qubit i * L1 + j."""
    bonds = {g for g in candidate_generators(6, pattern="square", lattice=[2, 3], max_weight=2) if len(g) == 2}
    assert bonds == {(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)}


def test_density_picks_a_subset(seed):
    """density keeps round(density * G) distinct candidates, in candidate order."""
    n = 8
    full, _ = build_iqp(spec_of(n), seed)
    part, angles = build_iqp(spec_of(n, generators={"density": 0.3}), seed)
    assert len(part) == len(angles) == round(0.3 * len(full))
    rows = [tuple(r) for r in full]
    positions = [rows.index(tuple(r)) for r in part]
    assert positions == sorted(set(positions))


def test_angle_distributions(seed):
    """Uniform angles lie in [0, scale); normal angles have mean 0 and standard deviation scale."""
    n = 24  # 300 generators: enough angles for a moment check, no simulation needed
    _, uniform = build_iqp(spec_of(n, angles={"distribution": "uniform", "scale": 0.5}), seed)
    assert uniform.min() >= 0.0 and uniform.max() < 0.5
    _, normal = build_iqp(spec_of(n, angles={"distribution": "normal", "scale": 0.2}), seed)
    stderr = 0.2 / math.sqrt(len(normal))
    assert abs(normal.mean()) < N_SIGMA * stderr and normal.std() == pytest.approx(0.2, rel=0.2)


def test_pi_shift_keeps_distribution(seed):
    """Adding pi to one angle flips the global sign only: the distribution is unchanged."""
    n = 6
    gens, angles = build_iqp(spec_of(n), seed)
    shifted = angles.copy()
    shifted[3] += math.pi
    np.testing.assert_allclose(iqp_probs(gens, shifted, n), iqp_probs(gens, angles, n), rtol=0, atol=TOL_PROBS)


def test_exact_samples_pass_chisquare_and_other_circuit_fails(seed):
    """Exact samples fit their own distribution (chi-square) and are rejected against another circuit's."""
    n, n_samples = 6, 20000
    target = make_iqp(spec_of(n, n_samples=n_samples, circuit_seed=seed), np.random.default_rng(1))
    other = iqp_probs(*build_iqp(spec_of(n), seed + 1), n)
    counts = sample_counts(target.samples, n)
    assert pooled_chisquare(counts, target.probs) > ALPHA
    assert pooled_chisquare(counts, other) < ALPHA


def test_same_seed_same_target():
    """Same spec and run seed give identical generators, angles, probabilities and samples."""
    spec = spec_of(8, n_samples=500, circuit_seed=None, generators={"density": 0.5})
    a = make_iqp(spec, np.random.default_rng(3))
    b = make_iqp(spec, np.random.default_rng(3))
    for key in ("circuit/generators", "circuit/angles"):
        assert np.array_equal(a.extra[key], b.extra[key])
    assert np.array_equal(a.probs, b.probs) and np.array_equal(a.samples, b.samples)
    assert a.attrs == b.attrs


def test_circuit_seed_fixes_the_circuit_across_run_seeds(seed):
    """A given circuit_seed gives the same circuit for every run seed; only the samples change."""
    spec = spec_of(6, n_samples=500, circuit_seed=seed)
    a = make_iqp(spec, np.random.default_rng(0))
    b = make_iqp(spec, np.random.default_rng(1))
    assert np.array_equal(a.extra["circuit/angles"], b.extra["circuit/angles"])
    assert np.array_equal(a.probs, b.probs) and not np.array_equal(a.samples, b.samples)
    assert a.attrs["circuit_seed"] == seed


def test_null_circuit_seed_is_recorded_and_rebuilds():
    """With circuit_seed null the drawn seed is stored; build_iqp rebuilds the circuit from it."""
    spec = spec_of(6, n_samples=100)
    a = make_iqp(spec, np.random.default_rng(0))
    b = make_iqp(spec, np.random.default_rng(1))
    gens, angles = build_iqp(spec, a.attrs["circuit_seed"])
    assert np.array_equal(gens, a.extra["circuit/generators"]) and np.array_equal(angles, a.extra["circuit/angles"])
    assert a.attrs["circuit_seed"] != b.attrs["circuit_seed"]
    assert not np.allclose(a.probs, b.probs)


def test_different_circuit_seed_different_distribution(seed):
    """Different circuit seeds give clearly different distributions."""
    n = 8
    p = iqp_probs(*build_iqp(spec_of(n), seed), n)
    q = iqp_probs(*build_iqp(spec_of(n), seed + 1), n)
    assert 0.5 * np.abs(p - q).sum() > 0.1  # random IQP pairs at n=8 sit near TV 0.3-0.5


def test_anticoncentration_porter_thomas():
    """A deep random IQP circuit at n=10 has 2^n sum p^2 near 2 (Porter-Thomas)."""
    target = make_iqp(spec_of(10, n_samples=10, circuit_seed=0, **DEEP), np.random.default_rng(0))
    assert target.attrs["anticoncentration"] == pytest.approx(2.0, abs=TOL_PORTER_THOMAS)
    assert target.attrs["anticoncentration"] == pytest.approx(anticoncentration(target.probs))


def test_mean_anticoncentration_closed_form():
    """Averaged over circuits, 2^n sum p^2 equals 2 - 2^-n (all weight <= 2 generators, uniform angles)."""
    # E|<x|C|0>|^4 is a sum over four bitstrings; averaging full-period uniform angles of every
    # weight-1 and weight-2 Z-string kills all but the two trivial pairings: 2 * 4^n - 2^n terms.
    n, n_circuits = 8, 400
    values = np.array([anticoncentration(iqp_probs(*build_iqp(spec_of(n, **DEEP), s), n)) for s in range(n_circuits)])
    stderr = values.std(ddof=1) / math.sqrt(n_circuits)
    assert values.mean() == pytest.approx(2.0 - 2.0**-n, abs=N_SIGMA * stderr)


def test_xeb_of_exact_samples_matches_anticoncentration():
    """Linear XEB of exact samples is anticoncentration - 1 within its statistical error."""
    n, n_samples = 10, 20000
    target = make_iqp(spec_of(n, n_samples=n_samples, circuit_seed=0, **DEEP), np.random.default_rng(5))
    scaled = target.probs * 2**n
    spread = math.sqrt(np.dot(target.probs, scaled**2) - np.dot(target.probs, scaled) ** 2)
    expected = target.attrs["anticoncentration"] - 1.0
    assert linear_xeb(target.probs, target.samples) == pytest.approx(
        expected, abs=N_SIGMA * spread / math.sqrt(n_samples)
    )
    assert target.attrs["xeb"] == pytest.approx(linear_xeb(target.probs, target.samples))


def test_shots_path_matches_exact_distribution(seed):
    """Forced method: shots samples from lightning.qubit pass a chi-square test against exact probs."""
    n, n_samples = 6, 20000
    spec = spec_of(n, n_samples=n_samples, circuit_seed=seed, method="shots")
    target = make_iqp(spec, np.random.default_rng(2))
    assert target.probs is None and target.attrs["method"] == "shots" and "anticoncentration" not in target.attrs
    assert target.samples.dtype == np.uint8 and target.samples.shape == (n_samples, n)
    exact = iqp_probs(target.extra["circuit/generators"], target.extra["circuit/angles"], n)
    assert pooled_chisquare(sample_counts(target.samples, n), exact) > ALPHA


def test_shots_path_is_seeded(seed):
    """lightning.qubit sampling repeats with the same seed and differs with another."""
    gens, angles = build_iqp(spec_of(5), seed)
    a, b, c = (iqp_samples_lightning(gens, angles, 5, 200, s) for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_exact_method_is_limited(monkeypatch, seed):
    """method: exact is refused above MAX_EXACT_QUBITS, where method: shots still samples."""
    monkeypatch.setattr(iqp, "MAX_EXACT_QUBITS", 4)
    with pytest.raises(InvalidConfigError, match="use method: shots"):
        make_iqp(spec_of(5), np.random.default_rng(0))
    target = make_iqp(spec_of(5, n_samples=50, circuit_seed=seed, method="shots"), np.random.default_rng(0))
    assert target.probs is None and target.samples.shape == (50, 5)


@pytest.mark.parametrize(
    "spec,key",
    [
        (spec_of(6, generators={"pattern": "square"}), "generators.lattice"),
        (spec_of(6, generators={"pattern": "square", "lattice": [2, 2]}), "generators.lattice"),
        (spec_of(6, generators={"lattice": [2, 3]}), "generators.lattice"),
        (spec_of(6, generators={"pbc": True}), "generators.pbc"),
        (spec_of(6, generators={"pattern": "ring"}), "generators.pattern"),
        (spec_of(6, generators={"max_weight": 0}), "generators.max_weight"),
        (spec_of(6, generators={"density": 0.0}), "generators.density"),
        (spec_of(6, generators={"weight": 2}), "generators.weight"),
        (spec_of(6, angles={"distribution": "cauchy"}), "angles.distribution"),
        (spec_of(6, angles={"scale": 0}), "angles.scale"),
        (spec_of(6, circuit_seed=-1), "circuit_seed"),
        (spec_of(6, method="tensor"), "method"),
        (spec_of(0), "n_qubits"),
        (spec_of(iqp.MAX_SHOT_QUBITS + 1, method="shots"), "n_qubits"),
        (spec_of(iqp.MAX_EXACT_QUBITS + 1), "method"),
    ],
)
def test_invalid_specs_name_the_key(spec, key):
    """Invalid specs raise InvalidConfigError naming the offending key."""
    with pytest.raises(InvalidConfigError) as info:
        check_iqp_spec(spec)
    assert info.value.key == key


def test_artefact_round_trip(tmp_path, monkeypatch):
    """Written through run_target, the artefact holds the circuit, and the circuit rebuilds from it."""
    from qgenflow.io import read_artefact
    from qgenflow.stages.target import run_target
    import dataclasses

    from qgenflow.targets import REGISTRY

    monkeypatch.setitem(REGISTRY, "iqp", dataclasses.replace(REGISTRY["iqp"], make=make_iqp))
    spec = spec_of(5, n_samples=100, generators={"max_weight": 3, "density": 0.5})
    art = read_artefact(run_target(spec, 4, tmp_path / "t.h5"), kind="target")
    gens, angles = build_iqp(art.config, art.attrs["circuit_seed"])
    assert np.array_equal(art["circuit/generators"], gens) and np.array_equal(art["circuit/angles"], angles)
    np.testing.assert_allclose(art["probs"], iqp_probs(gens, angles, 5), rtol=0, atol=TOL_PROBS)
    assert art.attrs["n_generators"] == len(angles) and art.attrs["anticoncentration"] > 1.0
    assert empirical_probs(art["samples"]).shape == (32,)


@pytest.mark.slow
def test_shots_path_beyond_exact_limit():
    """At 26 qubits (1 GiB state, ~3 GiB peak) the target samples with shots and stores no probabilities."""
    n = 26
    spec = spec_of(n, n_samples=100, circuit_seed=1, generators={"pattern": "chain"}, method="shots")
    target = make_iqp(spec, np.random.default_rng(0))
    assert target.probs is None and target.attrs["method"] == "shots" and target.attrs["n_generators"] == 2 * n - 1
    assert target.samples.shape == (100, n) and set(np.unique(target.samples)) <= {0, 1}
