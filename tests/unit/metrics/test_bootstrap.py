"""Bootstrap over counts: determinism, scaling with sample size, agreement with sampling spread."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.bits import unique_counts
from qgenflow.metrics import bootstrap, mmd2_from_counts, mmd2_samples, resample_counts

N_RESAMPLES = 400
SIGMAS = [0.5, 1.0, 2.0]
# Bootstrap errors from a few hundred replicates are good to ~10%; allow generous slack.
STDERR_RTOL = 0.25


def test_resample_counts_preserves_total_and_support(rng):
    """Every replicate has the original sample size and lives on the observed rows."""
    counts = np.array([5, 0, 3, 12])
    draws = resample_counts(counts, 50, rng)
    assert draws.shape == (50, 4)
    assert np.all(draws.sum(axis=1) == counts.sum())
    assert np.all(draws[:, 1] == 0)


def test_bootstrap_is_deterministic_given_seed(seed):
    """The same seed gives identical replicates and a proper percentile interval."""
    counts = [np.array([4, 7, 1, 9]), np.array([3, 3, 10])]

    def stat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a[:, 0] / a.sum(1) - b[:, 2] / b.sum(1)

    one = bootstrap(stat, counts, 50, np.random.default_rng(seed))
    two = bootstrap(stat, counts, 50, np.random.default_rng(seed))
    np.testing.assert_array_equal(one.replicates, two.replicates)
    assert one.low <= one.high
    with pytest.raises(ValueError):
        bootstrap(stat, counts, 1, np.random.default_rng(seed))


def test_bootstrap_mean_matches_binomial_error(rng):
    """For a frequency, the bootstrap error matches sqrt(f (1 - f) / N)."""
    n, k = 400, 100
    result = bootstrap(lambda c: c[:, 0] / c.sum(1), [np.array([k, n - k])], 2000, rng)
    binomial = np.sqrt(0.25 * 0.75 / n)
    assert result.stderr == pytest.approx(binomial, rel=0.1)
    assert result.low < k / n < result.high


def test_bootstrap_stderr_shrinks_with_sample_count(rng, draw, product_probs):
    """The MMD bootstrap error falls like 1/sqrt(N): 16x the samples gives ~4x smaller error."""
    # Well-separated distributions, so the 1/sqrt(N) term dominates the error.
    p = product_probs([0.2] * 5)
    q = product_probs([0.6] * 5)
    errors = []
    for n in (200, 3200):
        xr, xc = unique_counts(draw(p, n, rng))
        yr, yc = unique_counts(draw(q, n, rng))
        stat = lambda a, b: mmd2_from_counts(xr, a, yr, b, SIGMAS)  # noqa: E731
        errors.append(float(bootstrap(stat, [xc, yc], N_RESAMPLES, rng).stderr))
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=STDERR_RTOL)


def test_bootstrap_stderr_matches_sampling_spread(rng, draw):
    """The bootstrap error of the sample MMD agrees with its spread over fresh draws."""
    p = rng.dirichlet(np.ones(16))
    q = rng.dirichlet(np.ones(16))
    n = 300
    spread = np.std([mmd2_samples(draw(p, n, rng), draw(q, n, rng), SIGMAS) for _ in range(300)], ddof=1)
    xr, xc = unique_counts(draw(p, n, rng))
    yr, yc = unique_counts(draw(q, n, rng))
    stat = lambda a, b: mmd2_from_counts(xr, a, yr, b, SIGMAS)  # noqa: E731
    assert float(bootstrap(stat, [xc, yc], N_RESAMPLES, rng).stderr) == pytest.approx(spread, rel=STDERR_RTOL)
