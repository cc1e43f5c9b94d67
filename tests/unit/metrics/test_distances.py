"""Exact and sample-based distances against closed forms and brute-force references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qgenflow.bits import empirical_probs, unique_counts
from qgenflow.metrics import (
    classical_fidelity,
    kl_divergence,
    kl_smoothed_samples,
    mmd2_from_counts,
    mmd2_probs,
    mmd2_samples,
    total_variation,
    total_variation_samples,
)
from qgenflow import kernels

EXACT_ATOL = 1e-12
PATH_ATOL = 1e-10
# Monte-Carlo checks pass when the mean is within this many standard errors.
N_STDERR = 4.0
SIGMAS = [0.5, 1.0, 2.0]


def explicit_kernel(n: int, sigmas: list[float]) -> np.ndarray:
    """The full 2^n x 2^n mixture kernel matrix, built entry by entry (reference only)."""
    strings = list(itertools.product([0, 1], repeat=n))
    mat = np.empty((len(strings), len(strings)))
    for i, a in enumerate(strings):
        for j, b in enumerate(strings):
            d = sum(u != v for u, v in zip(a, b))
            mat[i, j] = np.mean([np.exp(-d / (2 * s**2)) for s in sigmas])
    return mat


def brute_force_mmd2_u(x: np.ndarray, y: np.ndarray, sigmas: list[float]) -> float:
    """Unbiased squared MMD from the textbook double sums over sample pairs (reference only)."""

    def k(a: np.ndarray, b: np.ndarray) -> float:
        d = np.sum(a != b)
        return float(np.mean([np.exp(-d / (2 * s**2)) for s in sigmas]))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return kxx + kyy - 2 * kxy


def test_mmd2_probs_zero_for_equal(rng):
    """The exact squared MMD of a distribution with itself is zero."""
    p = rng.dirichlet(np.ones(2**6))
    assert mmd2_probs(p, p, SIGMAS) == pytest.approx(0.0, abs=EXACT_ATOL)


def test_mmd2_probs_matches_explicit_kernel_matrix(rng):
    """Exact MMD equals d' K d with the explicit 16 x 16 kernel matrix at n = 4."""
    p, q = rng.dirichlet(np.ones(16)), rng.dirichlet(np.ones(16))
    d = p - q
    reference = d @ explicit_kernel(4, SIGMAS) @ d
    assert mmd2_probs(p, q, SIGMAS) == pytest.approx(reference, abs=EXACT_ATOL)


def test_mmd2_probs_bernoulli_product_closed_form(product_probs):
    """For product distributions and one bandwidth, MMD^2 is a sum of products of one-bit terms."""
    a, b, sigma = [0.1, 0.5, 0.8], [0.4, 0.5, 0.2], 1.3
    e = np.exp(-1 / (2 * sigma**2))

    def pair(u: list[float], v: list[float]) -> float:
        return float(np.prod([1 - (1 - e) * (s * (1 - t) + (1 - s) * t) for s, t in zip(u, v)]))

    reference = pair(a, a) + pair(b, b) - 2 * pair(a, b)
    got = mmd2_probs(product_probs(a), product_probs(b), [sigma])
    assert got == pytest.approx(reference, abs=EXACT_ATOL)


def test_kl_tv_fidelity_bernoulli_closed_forms(product_probs):
    """KL and fidelity of two Bernoulli products, and TV of one bit, match their closed forms."""
    a, b, n = 0.2, 0.6, 3
    p, q = product_probs([a] * n), product_probs([b] * n)
    kl_bit = a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))
    assert kl_divergence(p, q) == pytest.approx(n * kl_bit, abs=EXACT_ATOL)
    fid_bit = np.sqrt(a * b) + np.sqrt((1 - a) * (1 - b))
    assert classical_fidelity(p, q) == pytest.approx(fid_bit ** (2 * n), abs=EXACT_ATOL)
    assert total_variation(product_probs([a]), product_probs([b])) == pytest.approx(abs(a - b))


def test_divergences_of_disjoint_and_equal_distributions():
    """Disjoint supports give TV 1 and fidelity 0; equal ones give KL 0, TV 0, fidelity 1."""
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.25, 0.75])
    assert total_variation(p, q) == pytest.approx(1.0)
    assert classical_fidelity(p, q) == pytest.approx(0.0, abs=EXACT_ATOL)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=EXACT_ATOL)
    assert total_variation(q, q) == 0.0
    assert classical_fidelity(q, q) == pytest.approx(1.0)


def test_kl_floor_keeps_divergence_finite():
    """A model zero on the target's support costs p log(p / eps) there instead of infinity."""
    eps = 1e-12
    p = np.array([0.5, 0.5])
    q = np.array([1.0, 0.0])
    assert kl_divergence(p, q, eps=eps) == pytest.approx(
        0.5 * np.log(0.5) + 0.5 * np.log(0.5 / eps), rel=1e-12
    )


def test_mmd2_samples_matches_brute_force_u_statistic(rng):
    """The counts-based estimator equals the textbook double-sum U-statistic on raw samples."""
    x = rng.integers(0, 2, size=(25, 5), dtype=np.uint8)
    y = (rng.random((30, 5)) < 0.3).astype(np.uint8)
    reference = brute_force_mmd2_u(x, y, SIGMAS)
    for method in ("dense", "distinct"):
        assert mmd2_samples(x, y, SIGMAS, method=method) == pytest.approx(reference, abs=EXACT_ATOL)


def test_mmd2_samples_unbiased_average_equals_exact(rng, draw, product_probs):
    """Averaged over repeated draws, the sample MMD matches the exact MMD (a V-statistic would not)."""
    p = product_probs([0.2, 0.7, 0.5, 0.4])
    q = rng.dirichlet(np.ones(16))
    exact = mmd2_probs(p, q, SIGMAS)
    n_draws, n_samples = 300, 30
    estimates = np.array(
        [mmd2_samples(draw(p, n_samples, rng), draw(q, n_samples, rng), SIGMAS) for _ in range(n_draws)]
    )
    stderr = estimates.std(ddof=1) / np.sqrt(n_draws)
    assert abs(estimates.mean() - exact) < N_STDERR * stderr
    # The biased V-statistic adds (1 - E k(x, x')) / N per side; this test must see that.
    k = explicit_kernel(4, SIGMAS)
    bias = (1 - p @ k @ p) / n_samples + (1 - q @ k @ q) / n_samples
    assert bias > 2 * N_STDERR * stderr


def test_mmd2_samples_same_distribution_mean_zero(rng, draw):
    """Two sample sets from one distribution give a sample MMD that is zero on average."""
    p = rng.dirichlet(np.ones(32))
    n_draws = 300
    estimates = np.array([mmd2_samples(draw(p, 20, rng), draw(p, 25, rng), SIGMAS) for _ in range(n_draws)])
    stderr = estimates.std(ddof=1) / np.sqrt(n_draws)
    assert abs(estimates.mean()) < N_STDERR * stderr
    assert estimates.min() < 0  # unbiased, so it goes negative


def test_dense_and_distinct_paths_agree(rng, monkeypatch):
    """Dense histograms and chunked distinct-row blocks give the same values, batched or not."""
    monkeypatch.setattr(kernels, "_BLOCK_ENTRIES", 64)  # force many chunks
    x = (rng.random((300, 10)) < 0.4).astype(np.uint8)
    y = (rng.random((200, 10)) < 0.6).astype(np.uint8)
    xr, xc = unique_counts(x)
    yr, yc = unique_counts(y)
    dense = mmd2_from_counts(xr, xc, yr, yc, SIGMAS, per_sigma=True, method="dense")
    blocks = mmd2_from_counts(xr, xc, yr, yc, SIGMAS, per_sigma=True, method="distinct")
    np.testing.assert_allclose(blocks, dense, atol=PATH_ATOL)
    batch_x = rng.multinomial(xc.sum(), xc / xc.sum(), size=3)
    batch_y = rng.multinomial(yc.sum(), yc / yc.sum(), size=3)
    dense_b = mmd2_from_counts(xr, batch_x, yr, batch_y, SIGMAS, method="dense")
    blocks_b = mmd2_from_counts(xr, batch_x, yr, batch_y, SIGMAS, method="distinct")
    assert dense_b.shape == (3,)
    np.testing.assert_allclose(blocks_b, dense_b, atol=PATH_ATOL)
    single = mmd2_from_counts(xr, batch_x[1], yr, batch_y[1], SIGMAS, method="dense")
    assert dense_b[1] == pytest.approx(single, abs=PATH_ATOL)
    assert float(np.mean(dense)) == pytest.approx(mmd2_samples(x, y, SIGMAS), abs=PATH_ATOL)


def test_mmd2_samples_large_n_uses_distinct_rows(rng):
    """At 40 bits (no dense histogram possible) the estimator runs and matches brute force."""
    x = (rng.random((12, 40)) < 0.5).astype(np.uint8)
    y = (rng.random((10, 40)) < 0.2).astype(np.uint8)
    with pytest.raises(ValueError, match="dense"):
        mmd2_samples(x, y, SIGMAS, method="dense")
    assert mmd2_samples(x, y, [3.0, 6.0]) == pytest.approx(
        brute_force_mmd2_u(x, y, [3.0, 6.0]), abs=EXACT_ATOL
    )


def test_total_variation_samples_matches_dense_histograms(rng):
    """TV over distinct rows equals the TV of the dense empirical histograms."""
    x = (rng.random((500, 8)) < 0.3).astype(np.uint8)
    y = (rng.random((300, 8)) < 0.5).astype(np.uint8)
    reference = total_variation(empirical_probs(x), empirical_probs(y))
    assert total_variation_samples(x, y) == pytest.approx(reference, abs=EXACT_ATOL)
    assert total_variation_samples(x, x[::-1]) == pytest.approx(0.0, abs=EXACT_ATOL)


def test_kl_smoothed_samples_matches_dense_formula(rng, draw):
    """The counts-based smoothed KL equals KL against the dense pseudo-count histogram."""
    n, a = 6, 0.5
    p = rng.dirichlet(np.ones(2**n))
    p[::3] = 0.0
    p /= p.sum()
    samples = draw(rng.dirichlet(np.ones(2**n)), 100, rng)
    counts = empirical_probs(samples) * len(samples)
    q = (counts + a) / (len(samples) + a * 2**n)
    assert kl_smoothed_samples(p, samples, a) == pytest.approx(kl_divergence(p, q), abs=EXACT_ATOL)


def test_mmd2_samples_opposite_point_masses():
    """All-zeros vs all-ones samples give 2 - 2 k(d=3) on both paths."""
    x = np.zeros((4, 3), dtype=np.uint8)
    y = np.ones((5, 3), dtype=np.uint8)
    e3 = np.exp(-3 / 2.0)  # sigma = 1, Hamming distance 3
    for method in ("dense", "distinct"):
        assert mmd2_samples(x, y, [1.0], method=method) == pytest.approx(2 - 2 * e3, abs=EXACT_ATOL)
