"""Autoregressive (MADE) baseline: masks, exact likelihood and sampling, training on bars-and-stripes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from qgenflow.bits import bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.models.baselines import autoregressive as ar
from qgenflow.train import count_params, train

PROB_TOL = 1e-12
CHI2_P_MIN = 1e-3  # a correct sampler fails this with probability 1e-3 (the seed is fixed)
MIN_EXPECTED = 5.0  # bins expecting fewer counts are pooled for the chi-square test
BAS_VALID_MASS_MIN = 0.95
BAS_SPEC = {
    "kind": "autoregressive", "hidden": 8, "n_samples": 2000, "optimizer": {"name": "adam", "lr": 0.1, "steps": 100},
}


@pytest.fixture(scope="module")
def bas_made(bas_target):
    """A MADE trained by full-batch maximum likelihood on BAS 2x2."""
    return train({**BAS_SPEC, "kind": "autoregressive"}, bas_target, seed=0)


def made(n: int, hidden: int, layers: int, seed: int, scale: float = 1.0):
    """Jitted functions of a MADE and random initial parameters scaled by ``scale``."""
    import jax

    jax.config.update("jax_enable_x64", True)
    fns = ar._functions(n, hidden, layers, True, "tanh")
    flat = ar._init_flat(fns["shapes"], ar._layer_masks(n, hidden, layers), np.random.default_rng(seed))
    return fns, flat * scale


def test_masks_let_bit_i_see_exactly_the_earlier_bits():
    """Paths through the masks (two hidden layers) join input j to output i exactly when j < i."""
    n = 6
    reach = np.linalg.multi_dot(ar.made_masks(n, 7, 2))  # [input j, output i]: number of paths
    assert np.array_equal(reach > 0, ar._direct_mask(n) > 0)
    assert np.array_equal(ar._direct_mask(n), np.triu(np.ones((n, n)), k=1))


def test_probs_normalised_and_exact_samples_match_them():
    """Probabilities of all strings sum to 1 (so the net is autoregressive); exact samples pass a chi-square test."""
    n, n_samples = 4, 20000
    fns, flat = made(n, 6, 2, 1, scale=3.0)
    probs = ar._all_probs(fns["log_prob"], flat, n)
    assert abs(probs.sum() - 1) < PROB_TOL
    samples = np.asarray(fns["sample"](flat, np.random.default_rng(2).random((n_samples, n))))
    observed = np.bincount(bits_to_index(samples), minlength=2**n)
    expected = probs * n_samples
    small = expected < MIN_EXPECTED
    obs, exp = observed[~small], expected[~small]
    if small.any():
        obs, exp = np.append(obs, observed[small].sum()), np.append(exp, expected[small].sum())
    assert chisquare(obs, exp).pvalue > CHI2_P_MIN


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
    assert a.params.keys() == b.params.keys()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.params["output/kernel"], c.params["output/kernel"])


def test_lbfgs_is_refused_for_minibatches(bas_target):
    """With more distinct strings than batch_size the loss is stochastic and L-BFGS is refused."""
    with pytest.raises(InvalidConfigError, match="lbfgs"):
        spec = dict(BAS_SPEC, batch_size=2, optimizer={"name": "lbfgs"})
        train({**spec, "kind": "autoregressive"}, bas_target, seed=0)
