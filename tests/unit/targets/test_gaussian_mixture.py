"""Discretised Gaussian mixtures: normalisation, encodings, moments, published shape."""

import numpy as np
import pytest

from qgenflow.bits import bits_to_index, index_to_bits
from qgenflow.errors import InvalidConfigError
from qgenflow.targets.gaussian_mixture import (
    DEFAULT_COMPONENTS,
    grid_codes,
    grid_probabilities,
    make_gaussian_mixture,
)

NORM_TOL = 1e-12
MEAN_TOL = 1e-9  # grid units; truncation far in the tails is below this
SHEPPARD_TOL = 1e-8  # grid units^2; variance of a binned Gaussian is sigma^2 + 1/12 up to exp(-2 pi^2 sigma^2)
PAPER_TV_TOL = 2e-3  # total variation to Liu & Wang's point-evaluated target at n = 10 (half-cell shift)


@pytest.fixture
def seed() -> int:
    """Seed of the target's random draws."""
    return 2024


def reflected_gray(n: int) -> list[str]:
    """Gray code by reflection (independent of the XOR formula): G(n) = 0G(n-1), 1 reversed(G(n-1))."""
    codes = [""]
    for _ in range(n):
        codes = ["0" + c for c in codes] + ["1" + c for c in reversed(codes)]
    return codes


@pytest.mark.parametrize("encoding", ["binary", "gray"])
@pytest.mark.parametrize("n_bits", [1, 3, 8])
def test_probs_normalised(n_bits, encoding, seed):
    """probs and grid_probs are non-negative and sum to one."""
    t = make_gaussian_mixture({"n_bits": n_bits, "n_samples": 50, "encoding": encoding}, np.random.default_rng(seed))
    for p in (t.probs, t.extra["grid_probs"]):
        assert p.shape == (2**n_bits,) and np.all(p >= 0)
        assert p.sum() == pytest.approx(1.0, abs=NORM_TOL)
    assert t.n_qubits == n_bits and t.samples.shape == (50, n_bits) and t.samples.dtype == np.uint8
    assert t.attrs["encoding"] == encoding


def test_gray_neighbours_differ_in_one_bit():
    """Under gray encoding, grid points k and k+1 differ in exactly one bit."""
    n = 6
    bits = index_to_bits(grid_codes(n, "gray"), n)
    hamming = np.abs(np.diff(bits.astype(int), axis=0)).sum(axis=1)
    assert np.all(hamming == 1)


def test_gray_matches_reflected_construction():
    """The gray codes equal the reflected binary Gray code built by reflection."""
    n = 5
    expected = np.array([int(c, 2) for c in reflected_gray(n)])
    assert np.array_equal(grid_codes(n, "gray"), expected)
    assert np.array_equal(grid_codes(n, "binary"), np.arange(2**n))


def test_binary_and_gray_are_permutations(seed):
    """Binary and gray targets share grid_probs; probs agree after mapping grid point k to its code."""
    spec = {"n_bits": 7, "n_samples": 10}
    a = make_gaussian_mixture({**spec, "encoding": "binary"}, np.random.default_rng(seed))
    b = make_gaussian_mixture({**spec, "encoding": "gray"}, np.random.default_rng(seed))
    assert np.array_equal(a.extra["grid_probs"], b.extra["grid_probs"])
    assert np.array_equal(np.sort(a.probs), np.sort(b.probs))
    assert not np.array_equal(a.probs, b.probs)
    assert np.array_equal(a.probs, a.extra["grid_probs"])
    assert np.array_equal(b.probs[grid_codes(7, "gray")], b.extra["grid_probs"])


def test_single_component_moments():
    """One component's mean and variance on the grid are mean*2^n - 1/2 and (std*2^n)^2 + 1/12."""
    n, mean, std = 10, 0.4, 0.05
    p = grid_probabilities(n, [{"mean": mean, "std": std, "weight": 1.0}])
    k = np.arange(2**n)
    m = (p * k).sum()
    var = (p * (k - m) ** 2).sum()
    assert m == pytest.approx(mean * 2**n - 0.5, abs=MEAN_TOL)
    assert var == pytest.approx((std * 2**n) ** 2 + 1 / 12, abs=SHEPPARD_TOL)


def test_weights_are_normalised_internally():
    """Weights (3, 1) and (0.75, 0.25) give the same target, with masses 3/4 and 1/4 in the halves."""
    n = 8
    comps = [{"mean": 0.25, "std": 0.02, "weight": 3.0}, {"mean": 0.75, "std": 0.02, "weight": 1.0}]
    scaled = [{**c, "weight": c["weight"] / 4} for c in comps]
    p = grid_probabilities(n, comps)
    assert np.allclose(p, grid_probabilities(n, scaled), atol=NORM_TOL, rtol=0)
    assert p[: 2 ** (n - 1)].sum() == pytest.approx(0.75, abs=NORM_TOL)


def test_default_matches_liu_wang_target():
    """Defaults reproduce Liu & Wang's two-Gaussian target (mu = 2/7, 5/7 and sigma = 1/8 of 2^n) at n = 10."""
    n = 10
    x = np.arange(2**n)
    size = 2.0**n
    paper = sum(np.exp(-((x - mu * size) ** 2) / (2 * (size / 8) ** 2)) for mu in (2 / 7, 5 / 7))
    paper /= paper.sum()
    p = make_gaussian_mixture({"n_bits": n, "n_samples": 1}, np.random.default_rng(0)).extra["grid_probs"]
    assert 0.5 * np.abs(p - paper).sum() < PAPER_TV_TOL


def test_symmetric_mixture_is_complement_symmetric():
    """The default mixture is symmetric about the grid centre: binary probs are invariant under flipping all bits."""
    n = 6
    p = grid_probabilities(n, DEFAULT_COMPONENTS)
    flipped = bits_to_index(1 - index_to_bits(np.arange(2**n), n))
    assert np.allclose(p, p[flipped], atol=NORM_TOL, rtol=0)


def test_narrow_component_stays_finite():
    """A width far below one cell puts all mass in the cell holding the mean, without NaN."""
    p = grid_probabilities(4, [{"mean": 0.3, "std": 1e-9}])
    assert np.all(np.isfinite(p)) and p[int(0.3 * 16)] == pytest.approx(1.0, abs=NORM_TOL)


def test_seeded_samples_reproducible(seed):
    """Same seed, same samples; another seed, other samples; samples come from probs' support."""
    spec = {"n_bits": 5, "n_samples": 300, "encoding": "gray"}
    a = make_gaussian_mixture(spec, np.random.default_rng(seed))
    b = make_gaussian_mixture(spec, np.random.default_rng(seed))
    c = make_gaussian_mixture(spec, np.random.default_rng(seed + 1))
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    assert np.all(a.probs[bits_to_index(a.samples)] > 0)


@pytest.mark.parametrize(
    "components,key",
    [
        ([{"mean": 0.5, "std": 0.0}], "components[0].std"),
        ([{"mean": 0.5, "std": 0.1}, {"mean": 0.5, "std": -1}], "components[1].std"),
        ([{"mean": 0.5, "std": 0.1, "weight": 0}], "components[0].weight"),
        ([{"mean": 1.5, "std": 0.1}], "components[0].mean"),
        ([{"mean": 0.5}], "components[0].std"),
        ([{"mean": 0.5, "std": 0.1, "sigma": 1}], "components[0]"),
        ([], "components"),
    ],
)
def test_invalid_components(components, key):
    """Invalid components raise InvalidConfigError naming the offending key."""
    with pytest.raises(InvalidConfigError) as info:
        make_gaussian_mixture({"n_bits": 3, "components": components}, np.random.default_rng(0))
    assert info.value.key == key


def test_unknown_encoding():
    """An unknown encoding names the allowed ones."""
    with pytest.raises(InvalidConfigError, match="binary, gray"):
        make_gaussian_mixture({"n_bits": 3, "encoding": "onehot"}, np.random.default_rng(0))
