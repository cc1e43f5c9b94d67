"""Discretised 2-D Gaussian targets: cell masses, marginals, moments, encodings and bad configs."""

import jsonschema
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from qgenflow.bits import bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.schema import load_schema
from qgenflow.targets import REGISTRY, make_target
from qgenflow.targets.gaussian_grid import gaussian_grid_probabilities, gaussian_grid_qubits, make_gaussian_grid
from qgenflow.targets.gaussian_mixture import grid_codes, grid_probabilities

TOL_NORM = 1e-12  # sum of a float64 probability vector
TOL_PROBS = 1e-13  # two exact computations of the same cell masses (observed ~2e-16)
TOL_BVN = 1e-10  # scipy's bivariate normal CDF, asked for 1e-13 absolute error
# Moments of a wide grid (128 x 128 cells, Gaussian > 5 sigma from every edge) against the
# configured ones, after Sheppard's correction h^2 / 12; truncation and discretisation leave ~1e-8.
TOL_MOMENT = 1e-6
N_SIGMA = 5.0  # statistical tolerances are this many standard errors


def spec_of(n, **extra):
    """A gaussian_grid target spec with ``n`` bits."""
    return {"kind": "gaussian_grid", "n_bits": n, **extra}


def covariance(sx, sy, rho):
    """The 2x2 covariance of standard deviations ``sx``, ``sy`` and correlation ``rho``."""
    return np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])


@pytest.mark.parametrize("bits", [(3, 3), (2, 4), (1, 2)])
@pytest.mark.parametrize("rho", [0.7, -0.4])
def test_cell_masses_equal_bivariate_cdf(bits, rho):
    """Correlated cell masses equal inclusion-exclusion of scipy's bivariate normal CDF, renormalised."""
    mean, cov = np.array([0.45, 0.6]), covariance(0.12, 0.2, rho)
    ours = gaussian_grid_probabilities(*bits, mean, cov)
    ex, ey = (np.linspace(0.0, 1.0, 2**b + 1) for b in bits)
    xx, yy = np.meshgrid(ex, ey, indexing="ij")
    cdf = multivariate_normal(mean, cov, abseps=1e-13, releps=1e-13).cdf(np.stack([xx.ravel(), yy.ravel()], -1))
    cdf = cdf.reshape(xx.shape)
    ref = cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1]
    np.testing.assert_allclose(ours, ref / ref.sum(), atol=TOL_BVN)


def test_normalised_and_non_negative():
    """Probabilities are non-negative and sum to one, also for a Gaussian narrower than a cell."""
    for cov in (covariance(0.2, 0.2, 0.0), covariance(0.01, 0.3, 0.9), covariance(0.3, 0.02, -0.95)):
        target = make_target(spec_of(6, covariance=cov.tolist(), n_samples=100), seed=0)
        assert target.probs.min() >= 0.0
        assert abs(target.probs.sum() - 1.0) < TOL_NORM


def test_uncorrelated_marginals_are_the_1d_targets():
    """With correlation 0 the grid is the product of the two 1-D discretised Gaussians (gaussian_mixture)."""
    target = make_target(spec_of(7, bits_x=4, mean=[0.3, 0.6], std=[0.1, 0.25]), seed=0)
    grid = target.extra["grid_probs"]
    assert grid.shape == (16, 8)
    np.testing.assert_allclose(grid.sum(axis=1), grid_probabilities(4, [{"mean": 0.3, "std": 0.1}]), atol=TOL_PROBS)
    np.testing.assert_allclose(grid.sum(axis=0), grid_probabilities(3, [{"mean": 0.6, "std": 0.25}]), atol=TOL_PROBS)
    np.testing.assert_allclose(grid, np.outer(grid.sum(axis=1), grid.sum(axis=0)), atol=TOL_PROBS)


def test_small_correlation_is_close_to_the_product():
    """The quadrature path tends to the product as the correlation goes to 0 (no jump at rho = 0)."""
    mean = np.array([0.4, 0.55])
    product = gaussian_grid_probabilities(4, 4, mean, covariance(0.1, 0.15, 0.0))
    near = gaussian_grid_probabilities(4, 4, mean, covariance(0.1, 0.15, 1e-9))
    np.testing.assert_allclose(near, product, atol=1e-9)


@pytest.mark.parametrize("rho", [0.0, 0.6, -0.8])
def test_moments_of_a_wide_grid(rho):
    """Mean and covariance of the cell centres match the configured ones (Sheppard-corrected)."""
    bits, mean, std = 7, np.array([0.45, 0.55]), np.array([0.08, 0.07])
    probs = gaussian_grid_probabilities(bits, bits, mean, covariance(*std, rho))
    centres = (np.arange(2**bits) + 0.5) / 2**bits
    xx, yy = np.meshgrid(centres, centres, indexing="ij")
    mu = np.array([np.sum(probs * xx), np.sum(probs * yy)])
    dx, dy = xx - mu[0], yy - mu[1]
    cov = np.array([[np.sum(probs * dx * dx), np.sum(probs * dx * dy)], [0.0, np.sum(probs * dy * dy)]])
    cov[1, 0] = cov[0, 1]
    cov -= np.eye(2) * (2.0**-bits) ** 2 / 12.0
    np.testing.assert_allclose(mu, mean, atol=TOL_MOMENT)
    np.testing.assert_allclose(cov, covariance(*std, rho), atol=TOL_MOMENT)


@pytest.mark.parametrize("encoding", ["binary", "gray"])
def test_registers_encoding_and_samples(encoding):
    """x is the leading register, each axis coded like the 1-D target, and samples follow the probabilities."""
    spec = spec_of(5, encoding=encoding, mean=[0.3, 0.7], std=[0.15, 0.2], correlation=0.5, n_samples=40000)
    target = make_gaussian_grid(spec, np.random.default_rng(1))
    grid = target.extra["grid_probs"]
    assert (target.attrs["bits_x"], target.attrs["bits_y"]) == (3, 2)
    for i in range(8):
        for j in range(4):
            index = grid_codes(3, encoding)[i] * 4 + grid_codes(2, encoding)[j]
            assert target.probs[index] == grid[i, j]
    counts = np.bincount(bits_to_index(target.samples), minlength=32)
    expected = target.probs * 40000
    assert np.all(np.abs(counts - expected) <= N_SIGMA * np.sqrt(expected) + 1)


def test_covariance_replaces_std_and_correlation():
    """A covariance matrix gives the same grid as the std and correlation it encodes."""
    a = make_target(spec_of(6, std=[0.1, 0.2], correlation=-0.3, n_samples=10), seed=0)
    b = make_target(spec_of(6, covariance=covariance(0.1, 0.2, -0.3).tolist(), n_samples=10), seed=0)
    np.testing.assert_allclose(a.probs, b.probs, atol=TOL_PROBS)


@pytest.mark.parametrize(
    "extra, key",
    [
        ({"bits_x": 6}, "bits_x"),
        ({"bits_x": 0}, "bits_x"),
        ({"std": [0.1, -0.1]}, "std"),
        ({"correlation": 1.0}, "correlation"),
        ({"covariance": [[0.01, 0.02], [0.02, 0.01]]}, "covariance"),
        ({"covariance": [[0.01, 0.0], [0.001, 0.01]]}, "covariance"),
        ({"mean": [0.5, 1.5]}, "mean"),
        ({"encoding": "hex"}, "encoding"),
    ],
)
def test_bad_config_names_the_key(extra, key):
    """Bad registers, spreads, means or encodings are refused when the plan asks for the width."""
    with pytest.raises(InvalidConfigError) as err:
        gaussian_grid_qubits(spec_of(6, **extra))
    assert err.value.key == key


def test_registered_and_schema_example_is_valid():
    """gaussian_grid is a registered kind; the example entry in the schema's docs validates and builds."""
    example = {"kind": "gaussian_grid", "n_bits": 8, "mean": [0.5, 0.5], "std": [0.2, 0.15], "correlation": 0.5}
    schema = load_schema()
    jsonschema.validate({"targets": {"g": example}}, {**schema, "required": []})
    assert REGISTRY["gaussian_grid"].qubits(example) == 8
    assert make_target(example, seed=0).probs.size == 256
