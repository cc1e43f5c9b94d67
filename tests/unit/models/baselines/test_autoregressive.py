"""Autoregressive baseline (NetKet's ARNNDense): autoregressive structure, exact likelihood and
sampling, parameter count, training on bars-and-stripes."""

from __future__ import annotations

import jax
from jax.flatten_util import ravel_pytree
import numpy as np
import pytest
from scipy.stats import chisquare

from qgenflow.bits import all_bitstrings, bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.models.baselines import autoregressive as ar
from qgenflow.train import count_params, train

PROB_TOL = 1e-12
CHI2_P_MIN = 1e-3  # a correct sampler fails this with probability 1e-3 (the seed is fixed)
MIN_EXPECTED = 5.0  # bins expecting fewer counts are pooled for the chi-square test
# TV(samples, p) of N exact samples over K strings: E[TV] <= sqrt(K / N) / 2 = 0.014 for K = 16, N = 20000.
SAMPLE_TV_MAX = 0.03
BAS_VALID_MASS_MIN = 0.95
BAS_SPEC = {
    "kind": "autoregressive", "hidden": 8, "n_samples": 2000, "optimizer": {"name": "adam", "lr": 0.1, "steps": 100},
}
ARCHITECTURES = [(4, 8, 1, False), (4, 8, 1, True), (5, 7, 0, False), (6, 13, 2, True), (9, 64, 1, False)]


@pytest.fixture(scope="module")
def bas_made(bas_target):
    """The autoregressive network trained by full-batch maximum likelihood on BAS 2x2."""
    return train({**BAS_SPEC, "kind": "autoregressive"}, bas_target, seed=0)


def network(n: int, hidden: int, layers: int, direct: bool, seed: int, scale: float = 1.0):
    """Jitted functions of a network and NetKet's initial parameters scaled by ``scale``."""
    jax.config.update("jax_enable_x64", True)
    fns = ar._functions(n, hidden, layers, direct, "tanh")
    return fns, np.asarray(fns["init"](jax.random.PRNGKey(seed))) * scale


@pytest.mark.parametrize("direct", [False, True])
def test_conditional_of_bit_i_depends_on_the_earlier_bits_only(direct):
    """Flipping bit j changes p(x_i | x_<i) for some i > j and never for i <= j."""
    n = 6
    fns, flat = network(n, 13, 2, direct, 0, scale=3.0)
    model, variables = fns["model"], fns["unravel"](flat)
    x = np.asarray(all_bitstrings(n), dtype=np.float64)
    cond = np.asarray(model.apply(variables, x, method=model.conditionals))
    for j in range(n):
        flipped = x.copy()
        flipped[:, j] = 1 - flipped[:, j]
        moved = np.abs(np.asarray(model.apply(variables, flipped, method=model.conditionals)) - cond).max(axis=(0, 2))
        assert np.all(moved[: j + 1] < PROB_TOL)
        assert j == n - 1 or moved[j + 1 :].max() > 1e-3


def test_probs_normalised_equal_product_of_conditionals_and_samples_match_them():
    """p of all strings sums to 1 and equals the product of the network's conditionals; ARDirectSampler's
    samples pass a chi-square test and lie within a TV bound of p."""
    n, n_samples = 4, 20000
    fns, flat = network(n, 6, 2, True, 1, scale=3.0)
    probs = ar._all_probs(fns["log_prob"], flat, n)
    assert abs(probs.sum() - 1) < PROB_TOL
    model, variables = fns["model"], fns["unravel"](flat)
    x = all_bitstrings(n)
    cond = np.asarray(model.apply(variables, x.astype(np.float64), method=model.conditionals))  # [2^n, n, 2]
    product = np.prod(np.take_along_axis(cond, x[:, :, None].astype(np.int64), axis=2)[:, :, 0], axis=1)
    np.testing.assert_allclose(probs, product, rtol=1e-10, atol=0)
    samples = ar.sample_exact(model, variables, n_samples, np.random.default_rng(2))
    assert samples.shape == (n_samples, n) and samples.dtype == np.uint8
    observed = np.bincount(bits_to_index(samples), minlength=2**n)
    assert 0.5 * np.abs(observed / n_samples - probs).sum() < SAMPLE_TV_MAX
    expected = probs * n_samples
    small = expected < MIN_EXPECTED
    obs, exp = observed[~small], expected[~small]
    if small.any():
        obs, exp = np.append(obs, observed[small].sum()), np.append(exp, expected[small].sum())
    assert chisquare(obs, exp).pvalue > CHI2_P_MIN


@pytest.mark.parametrize("n,hidden,layers,direct", ARCHITECTURES)
def test_count_params_is_the_entries_the_masks_leave_free(n, hidden, layers, direct):
    """count_params equals the module's biases plus its kernel entries that are not masked out (NetKet
    initialises exactly those to nonzero values), and the gradient never reaches a masked entry."""
    fns, flat = network(n, hidden, layers, direct, 3)
    leaves = jax.tree_util.tree_leaves_with_path(fns["unravel"](flat)["params"])
    free = sum(int(np.count_nonzero(v)) if "kernel" in str(path[-1]) else v.size for path, v in leaves)
    spec = {"hidden": hidden, "layers": layers, "direct_connections": direct, "activation": "tanh"}
    assert ar.count_params(spec, n) == free
    x = np.asarray(all_bitstrings(n)[:8], dtype=np.float64)
    _, grad = fns["nll_and_grad"](flat, x, np.full(8, 1 / 8))
    masked = jax.tree_util.tree_map_with_path(
        lambda path, v: (v == 0) & ("kernel" in str(path[-1])), fns["unravel"](flat)
    )
    assert np.all(np.asarray(grad)[np.asarray(ravel_pytree(masked)[0], dtype=bool)] == 0)


def test_training_learns_bars_and_stripes(bas_made, bas_target):
    """Full-batch maximum likelihood puts > 95 % of the mass on the 6 valid patterns."""
    support = bas_target["probs"] > 0
    assert bas_made.probs[support].sum() > BAS_VALID_MASS_MIN
    assert abs(bas_made.probs.sum() - 1) < PROB_TOL
    nll = -np.mean(np.log(bas_made.probs[bits_to_index(bas_target["samples"])]))
    assert bas_made.history["loss"][-1] == pytest.approx(nll, abs=1e-9)
    assert bas_made.attrs["train_nll"] == pytest.approx(nll, abs=1e-9)
    assert bas_made.n_params == count_params({**BAS_SPEC, "kind": "autoregressive"}, 4)


def test_same_seed_gives_identical_params_and_samples(bas_target):
    """Two minibatch runs with one seed are bit-identical; another seed differs."""
    spec = dict(BAS_SPEC, batch_size=2, optimizer={"lr": 0.1, "steps": 5})
    a, b, c = (train({**spec, "kind": "autoregressive"}, bas_target, seed=s) for s in (4, 4, 5))
    assert a.attrs["loss_definition"] == "minibatch_nll"
    assert a.params.keys() == b.params.keys() == {"_layers_0/kernel", "_layers_0/bias", "_layers_1/kernel", "_layers_1/bias"}
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.params["_layers_1/kernel"], c.params["_layers_1/kernel"])
    assert not np.array_equal(a.samples, c.samples)


def test_lbfgs_is_refused_for_minibatches(bas_target):
    """With more distinct strings than batch_size the loss is stochastic and L-BFGS is refused."""
    with pytest.raises(InvalidConfigError, match="lbfgs"):
        spec = dict(BAS_SPEC, batch_size=2, optimizer={"name": "lbfgs"})
        train({**spec, "kind": "autoregressive"}, bas_target, seed=0)
