"""Boson sampling targets: GBS click probabilities and Fock-state permanents against The Walrus, samples, seeds."""

import itertools
import math

import jsonschema
import numba
import numpy as np
import pytest
from scipy.stats import chisquare
from thewalrus import threshold_detection_prob
from thewalrus.quantum import is_pure_cov, is_valid_cov, probabilities

from qgenflow.bits import all_bitstrings, bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.schema import load_schema
from qgenflow.stages.target import run_target
from qgenflow.targets import REGISTRY, make_target
from qgenflow.targets.boson import (
    MAX_GBS_EXACT_MODES,
    check_boson_spec,
    fock_probs,
    gbs_click_probs,
    gbs_covariance,
    gbs_sampler_samples,
    haar_interferometer,
    make_boson_sampling,
    make_gbs,
)

TOL_NORM = 1e-10  # the acceptance bound on |sum p - 1| (observed ~1e-15)
TOL_PROBS = 1e-12  # our probabilities against The Walrus's per-pattern ones (observed ~1e-16)
TOL_TRUNCATED = 1e-5  # clicks from photon-number probabilities truncated at CUTOFF photons per mode
CUTOFF = 12
ALPHA = 1e-3  # significance level of the goodness-of-fit tests
MIN_EXPECTED = 5.0  # pooled chi-square bins hold at least this many expected counts

#: Two small GBS instances: all modes squeezed alike, and two of five squeezed differently.
GBS_SPECS = [
    {"kind": "gbs", "n_modes": 3, "r": 0.6, "interferometer_seed": 7},
    {"kind": "gbs", "n_modes": 5, "r": [0.3, 0.9], "n_squeezed": 2, "interferometer_seed": 8},
]
#: Two small Fock-state instances (n photons in m modes).
FOCK_SPECS = [
    {"kind": "boson_sampling", "n_modes": 4, "n_photons": 2, "interferometer_seed": 3},
    {"kind": "boson_sampling", "n_modes": 6, "n_photons": 3, "interferometer_seed": 4},
]


def pooled_chisquare(counts: np.ndarray, probs: np.ndarray) -> float:
    """Chi-square p-value of ``counts`` against ``probs``, pooling the rarest bins to >= MIN_EXPECTED."""
    expected = probs * counts.sum()
    obs_bins, exp_bins = [], []
    obs_acc = exp_acc = 0.0
    for i in np.argsort(expected):
        obs_acc += counts[i]
        exp_acc += expected[i]
        if exp_acc >= MIN_EXPECTED:
            obs_bins.append(obs_acc)
            exp_bins.append(exp_acc)
            obs_acc = exp_acc = 0.0
    obs_bins[-1] += obs_acc
    exp_bins[-1] += exp_acc
    return float(chisquare(np.array(obs_bins), np.array(exp_bins)).pvalue)


def counts_of(samples: np.ndarray) -> np.ndarray:
    """Histogram of samples over all big-endian bitstrings."""
    return np.bincount(bits_to_index(samples), minlength=2 ** samples.shape[1])


def naive_permanent(matrix: np.ndarray) -> complex:
    """Permanent by its definition, a sum over all permutations."""
    n = matrix.shape[0]
    return sum(math.prod(matrix[i, s[i]] for i in range(n)) for s in itertools.permutations(range(n)))


def squeezed_covariance(unitary: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Closed-form xxpp covariance (hbar = 2): x variances e^{-2r}, p variances e^{2r}, then the interferometer."""
    rotation = np.block([[unitary.real, -unitary.imag], [unitary.imag, unitary.real]])
    return rotation @ np.diag(np.concatenate([np.exp(-2 * r), np.exp(2 * r)])) @ rotation.T


@pytest.fixture(scope="module", autouse=True)
def compiled_torontonian():
    """Compile The Walrus's numba Torontonian once (about 10 s; thewalrus does not cache that compilation)."""
    gbs_click_probs(gbs_covariance(np.eye(1, dtype=complex), np.array([0.1])))


@pytest.fixture
def one_numba_thread():
    """The Walrus's sampler runs numba in parallel; one thread keeps it fast on a shared machine."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.mark.parametrize("spec", GBS_SPECS, ids=["m3", "m5_two_squeezed"])
def test_gbs_probs_equal_the_walrus_per_pattern_and_sum_to_one(spec):
    """Each click probability equals threshold_detection_prob on a closed-form covariance; the 2^m sum to 1."""
    target = make_gbs({**spec, "n_samples": 10}, np.random.default_rng(0))
    m = spec["n_modes"]
    unitary = target.extra["interferometer/unitary"]
    cov = squeezed_covariance(unitary, np.asarray(target.attrs["squeezing"]))
    assert np.allclose(target.extra["state/cov"], cov, atol=1e-12)
    assert is_valid_cov(cov) and is_pure_cov(cov)
    expected = [threshold_detection_prob(np.zeros(2 * m), cov, pattern).real for pattern in all_bitstrings(m)]
    np.testing.assert_allclose(target.probs, expected, rtol=0, atol=TOL_PROBS)
    assert abs(target.probs.sum() - 1.0) < TOL_NORM
    assert target.probs.min() > -TOL_PROBS


def test_gbs_clicks_match_photon_number_probabilities():
    """Summing The Walrus's photon-number (hafnian) probabilities over click events gives the same pattern, mode by mode."""
    r = np.array([0.35, 0.0, 0.2])  # unequal modes, so a swapped bit order would show
    cov = gbs_covariance(haar_interferometer(3, 5), r)
    photons = probabilities(np.zeros(6), cov, CUTOFF)  # axes: modes 0, 1, 2
    clicks = np.zeros((2, 2, 2))
    for n in itertools.product(range(CUTOFF), repeat=3):
        clicks[tuple(min(k, 1) for k in n)] += photons[n]
    np.testing.assert_allclose(gbs_click_probs(cov), clicks.reshape(-1), rtol=0, atol=TOL_TRUNCATED)


def test_gbs_single_squeezed_mode_closed_form():
    """Squeezed vacuum in mode 0 alone, no interferometer: no click with probability 1/cosh(r), only bit 0 clicks."""
    r = 0.7
    probs = gbs_click_probs(gbs_covariance(np.eye(3, dtype=complex), np.array([r, 0.0, 0.0])))
    expected = np.zeros(8)
    expected[0b000] = 1 / math.cosh(r)
    expected[0b100] = 1 - 1 / math.cosh(r)  # mode 0 is the most significant bit
    np.testing.assert_allclose(probs, expected, rtol=0, atol=TOL_PROBS)


def test_gbs_exact_samples_pass_chisquare_and_another_interferometer_fails():
    """Exact samples fit their own click distribution and not another interferometer's."""
    spec = {**GBS_SPECS[0], "n_modes": 4, "n_samples": 5000}
    target = make_gbs(spec, np.random.default_rng(1))
    other = make_gbs({**spec, "interferometer_seed": 99, "n_samples": 1}, np.random.default_rng(1)).probs
    counts = counts_of(target.samples)
    assert pooled_chisquare(counts, target.probs) > ALPHA
    assert pooled_chisquare(counts, other) < ALPHA
    assert abs(target.attrs["mean_clicks"] - target.samples.sum(axis=1).mean()) < 0.1


@pytest.mark.slow  # ~100 s: The Walrus's threshold sampler draws one pattern per call
def test_gbs_sampler_passes_chisquare_and_is_reproducible(one_numba_thread):
    """The Walrus's threshold sampler, seeded, fits the exact click probabilities and leaves NumPy's global state alone."""
    cov = gbs_covariance(haar_interferometer(3, 11), np.full(3, 0.4))
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    first = gbs_sampler_samples(cov, 500, seed=5, fanout=10, cutoff=2)
    assert np.random.random() == before
    assert np.array_equal(first, gbs_sampler_samples(cov, 500, seed=5, fanout=10, cutoff=2))
    assert first.dtype == np.uint8 and first.shape == (500, 3)
    assert pooled_chisquare(counts_of(first), gbs_click_probs(cov)) > ALPHA


@pytest.mark.slow  # ~75 s from a fresh clone: thewalrus compiles its sampler path on first use
def test_gbs_sampler_method_stores_no_probs(one_numba_thread):
    """method: sampler gives seeded samples and the sampler settings, no probability vector."""
    spec = {"kind": "gbs", "n_modes": 3, "r": 0.3, "method": "sampler", "n_samples": 20}
    first = make_target(spec, seed=2)
    assert first.probs is None and first.samples.shape == (20, 3)
    assert first.attrs["sampler_fanout"] == 10 and first.attrs["sampler_cutoff"] == 2
    assert np.array_equal(first.samples, make_target(spec, seed=2).samples)


@pytest.mark.parametrize("spec", FOCK_SPECS, ids=["m4_n2", "m6_n3"])
def test_fock_probs_are_permanents_and_collision_free_mass_is_what_collisions_miss(spec):
    """p(S) = |Perm(U[S, :n])|^2 / mass over collision-free S; mass + collision outcomes = 1."""
    target = make_boson_sampling({**spec, "n_samples": 10}, np.random.default_rng(0))
    m, n = spec["n_modes"], spec["n_photons"]
    unitary = target.extra["interferometer/unitary"]
    mass = target.attrs["collision_free_mass"]
    free = np.zeros(2**m)
    for rows in itertools.combinations(range(m), n):
        free[sum(1 << (m - 1 - k) for k in rows)] = abs(naive_permanent(unitary[list(rows), :n])) ** 2
    np.testing.assert_allclose(target.probs * mass, free, rtol=0, atol=TOL_PROBS)
    assert abs(target.probs.sum() - 1.0) < TOL_NORM
    collided = 0.0
    for rows in itertools.combinations_with_replacement(range(m), n):
        if len(set(rows)) < n:
            weight = math.prod(math.factorial(rows.count(k)) for k in set(rows))
            collided += abs(naive_permanent(unitary[list(rows), :n])) ** 2 / weight
    assert abs(mass + collided - 1.0) < TOL_NORM
    assert target.attrs["renormalised"] is True and 0.0 < mass < 1.0


def test_fock_one_photon_is_the_first_column_in_mode_order():
    """One photon in mode 0: detector k fires with probability |U[k, 0]|^2, bit k = mode k."""
    unitary = haar_interferometer(4, 1)
    probs, mass = fock_probs(unitary, 1)
    assert abs(mass - 1.0) < TOL_NORM
    for k in range(4):
        assert abs(probs[1 << (3 - k)] - abs(unitary[k, 0]) ** 2) < TOL_PROBS


def test_fock_samples_pass_chisquare_and_are_collision_free():
    """Fock samples have exactly n ones and fit the renormalised distribution."""
    target = make_target({**FOCK_SPECS[1], "n_samples": 5000}, seed=3)
    assert np.all(target.samples.sum(axis=1) == 3)
    assert np.count_nonzero(target.probs) == math.comb(6, 3)
    assert pooled_chisquare(counts_of(target.samples), target.probs) > ALPHA


@pytest.mark.parametrize("kind", ["gbs", "boson_sampling"])
def test_seeded_determinism_and_interferometer_rebuild(kind):
    """Same seed, same target; another run seed, another interferometer; the seed attribute rebuilds it."""
    spec = {"kind": kind, "n_modes": 4, "n_samples": 200, **({"n_photons": 2} if kind == "boson_sampling" else {})}
    first, again, other = make_target(spec, 5), make_target(spec, 5), make_target(spec, 6)
    assert np.array_equal(first.samples, again.samples) and np.array_equal(first.probs, again.probs)
    assert not np.allclose(first.extra["interferometer/unitary"], other.extra["interferometer/unitary"])
    unitary = first.extra["interferometer/unitary"]
    assert np.allclose(unitary.conj().T @ unitary, np.eye(4), atol=1e-12)
    assert np.array_equal(haar_interferometer(4, first.attrs["interferometer_seed"]), unitary)
    fixed = {**spec, "interferometer_seed": first.attrs["interferometer_seed"]}
    assert np.array_equal(make_target(fixed, 6).extra["interferometer/unitary"], unitary)


def test_registry_and_schema_know_both_kinds(tmp_path):
    """Both kinds carry a sampling class, pass the schema, and write an artefact that reads back."""
    target_schema = jsonschema.Draft202012Validator({"$defs": load_schema()["$defs"], "$ref": "#/$defs/target"})
    for spec in GBS_SPECS + FOCK_SPECS:
        assert REGISTRY[spec["kind"]].sampling_class and REGISTRY[spec["kind"]].qubits(spec) == spec["n_modes"]
        target_schema.validate(spec)
    with pytest.raises(jsonschema.ValidationError):
        target_schema.validate({**GBS_SPECS[0], "squeezing": 0.5})
    out = run_target({**FOCK_SPECS[0], "n_samples": 10}, 3, tmp_path / "t.h5")
    art = read_artefact(out, kind="target")
    assert art["interferometer/unitary"].dtype == np.complex128 and art.attrs["renormalised"]
    assert 0.0 < art.attrs["collision_free_mass"] < 1.0 and art["probs"].shape == (16,)


@pytest.mark.parametrize(
    "spec, key",
    [
        ({"kind": "gbs", "n_modes": MAX_GBS_EXACT_MODES + 1}, "n_modes"),
        ({"kind": "gbs", "n_modes": 4, "r": [0.5, 0.5]}, "r"),
        ({"kind": "gbs", "n_modes": 4, "r": [0.5, 0.5], "n_squeezed": 3}, "r"),
        ({"kind": "gbs", "n_modes": 4, "r": -0.1}, "r"),
        ({"kind": "gbs", "n_modes": 4, "r": 0.0}, "r"),
        ({"kind": "gbs", "n_modes": 4, "n_squeezed": 5}, "n_squeezed"),
        ({"kind": "gbs", "n_modes": 4, "method": "shots"}, "method"),
        ({"kind": "gbs", "n_modes": 4, "method": "sampler", "sampler": {"fanout": 0}}, "sampler.fanout"),
        ({"kind": "gbs", "n_modes": 4, "interferometer_seed": -1}, "interferometer_seed"),
        ({"kind": "boson_sampling", "n_modes": 4, "n_photons": 5}, "n_photons"),
        ({"kind": "boson_sampling", "n_modes": 25, "n_photons": 2}, "n_modes"),
        ({"kind": "iqp", "n_qubits": 4}, "kind"),
    ],
)
def test_bad_input_names_the_key(spec, key):
    """Invalid entries raise InvalidConfigError naming the key, before anything is simulated."""
    with pytest.raises(InvalidConfigError) as err:
        check_boson_spec(spec)
    assert err.value.key == key


def test_sampler_method_lifts_the_exact_mode_limit():
    """Beyond the exact limit only method: sampler is accepted."""
    check_boson_spec({"kind": "gbs", "n_modes": MAX_GBS_EXACT_MODES + 1, "method": "sampler"})
