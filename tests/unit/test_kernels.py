"""Product-structure kernel application against an explicit kernel matrix."""

import numpy as np
import pytest

from qgenflow.bits import all_bitstrings
from qgenflow.kernels import apply_kernel, hamming_distances, mmd2_exact, mmd2_exact_grad

TOL = 1e-12
SIGMAS = (0.5, 1.0, 2.0, 4.0)


def explicit_kernel(n, sigmas):
    x = all_bitstrings(n).astype(float)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)  # squared Euclidean distance
    return np.mean([np.exp(-d2 / (2 * s**2)) for s in sigmas], axis=0)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_apply_kernel_matches_dense_matrix(n, rng):
    """K v by Kronecker factors equals the dense Gaussian kernel matrix times v."""
    v = rng.normal(size=2**n)
    assert np.allclose(apply_kernel(v, SIGMAS), explicit_kernel(n, SIGMAS) @ v, atol=TOL)


def _axis_loop_kernel(vec, sigmas):
    """The unblocked form: one numpy butterfly per axis from the top bit down, summed over bandwidths."""
    n = int(np.log2(vec.size))
    out = np.zeros_like(vec)
    for sigma in sigmas:
        e = np.exp(-1.0 / (2.0 * sigma**2))
        x = vec
        for axis in range(n):
            x = x.reshape(2**axis, 2, 2 ** (n - axis - 1))
            x = x + e * x[:, ::-1, :]
        out += x.reshape(-1)
    return out / len(sigmas)


TWO_SIGMAS = (0.7, 2.0)  # below _TRANSFORM_MIN_BANDWIDTHS: the Kronecker route


@pytest.mark.parametrize("n", [1, 2, 4, 12, 13, 14, 16])
def test_apply_kernel_blocked_equals_axis_loop_bit_for_bit(n, rng):
    """The tiled/chunked numba Kronecker kernel does per element the same operations in the same
    order as the numpy axis loop (below, at and above the chunk size of 2^13 and the tile width)."""
    v = rng.normal(size=2**n)
    np.testing.assert_array_equal(apply_kernel(v, TWO_SIGMAS), _axis_loop_kernel(v, TWO_SIGMAS))


@pytest.mark.parametrize("n", [1, 2, 4, 12, 13, 14, 16])
def test_walsh_hadamard_route_equals_the_axis_loop(n, rng):
    """Four bandwidths go through the Walsh-Hadamard basis: the same K v to rounding,
    below, at and above the chunk size and the tile width."""
    v = rng.normal(size=2**n)
    reference = _axis_loop_kernel(v, SIGMAS)
    assert np.max(np.abs(apply_kernel(v, SIGMAS) - reference)) <= 1e-14 * np.max(np.abs(reference))


def test_kernel_spectrum_is_the_eigenvalues_by_popcount():
    """(1 + e)^(n - |k|) (1 - e)^|k| are the eigenvalues of the Kronecker power, eigenvectors the Hadamard rows."""
    from scipy.linalg import hadamard

    from qgenflow.kernels import _kernel_spectrum, kernel_factor

    n = 4
    factors = [kernel_factor(s) for s in SIGMAS]
    h = hadamard(2**n)
    ones = np.array([bin(k).count("1") for k in range(2**n)])
    kernel = explicit_kernel(n, SIGMAS) * len(SIGMAS)
    np.testing.assert_allclose(h @ kernel @ h / 2**n, np.diag(_kernel_spectrum(factors, n, 1.0)[ones] * 2**n),
                               atol=1e-12)


@pytest.mark.parametrize("sigmas", [SIGMAS, TWO_SIGMAS], ids=["transform", "kronecker"])
def test_threaded_kernel_is_bit_for_bit_the_one_thread_result(sigmas, rng):
    """From 18 bits the tiles and chunks are shared among numba's threads: every element
    sees the same operations in the same order, whatever the thread count (and on the
    Kronecker route, the same as the numpy axis loop)."""
    import numba

    v = rng.normal(size=2**18)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            results.append(apply_kernel(v, sigmas))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])
    if sigmas is TWO_SIGMAS:
        np.testing.assert_array_equal(results[0], _axis_loop_kernel(v, sigmas))


def test_scale_multiplies_the_result(rng):
    """apply_kernel(v, s, scale=2) is 2 K v on both routes (the MMD gradient's form)."""
    v = rng.normal(size=2**10)
    for sigmas in (SIGMAS, TWO_SIGMAS):
        np.testing.assert_allclose(apply_kernel(v, sigmas, scale=2.0), 2.0 * apply_kernel(v, sigmas), rtol=1e-15)


def test_mmd_of_identical_distributions_is_zero(rng):
    """MMD(p, p) = 0 and MMD is symmetric and positive otherwise."""
    p, q = rng.dirichlet(np.ones(16)), rng.dirichlet(np.ones(16))
    assert mmd2_exact(p, p, SIGMAS) == 0.0
    assert mmd2_exact(p, q, SIGMAS) > 0
    assert mmd2_exact(p, q, SIGMAS) == pytest.approx(mmd2_exact(q, p, SIGMAS), rel=1e-12)


def test_mmd_gradient_matches_finite_differences(rng):
    """2 K (p - q) is the gradient of the quadratic form."""
    p, q = rng.dirichlet(np.ones(8)), rng.dirichlet(np.ones(8))
    g = mmd2_exact_grad(p, q, SIGMAS)
    eps = 1e-6
    for i in range(8):
        dp = np.zeros(8)
        dp[i] = eps
        fd = (mmd2_exact(p + dp, q, SIGMAS) - mmd2_exact(p - dp, q, SIGMAS)) / (2 * eps)
        assert fd == pytest.approx(g[i], abs=1e-7)


def test_hamming_distances(rng):
    """Pairwise Hamming distances equal counted differing bits."""
    x = rng.integers(0, 2, size=(7, 9), dtype=np.uint8)
    y = rng.integers(0, 2, size=(5, 9), dtype=np.uint8)
    expected = (x[:, None, :] != y[None, :, :]).sum(-1)
    assert np.array_equal(hamming_distances(x, y), expected)
