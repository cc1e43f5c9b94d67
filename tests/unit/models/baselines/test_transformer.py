"""Transformer baseline: exact likelihood and sampling, causality, parameter count, learning, determinism."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy.stats import chisquare

from qgenflow.bits import all_bitstrings, bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.models.baselines import transformer as tf
from qgenflow.train import count_params, train

PROB_TOL = 1e-12
CAUSAL_TOL = 1e-12
CHI2_P_MIN = 1e-3  # a correct sampler fails this with probability 1e-3 (the seed is fixed)
MIN_EXPECTED = 5.0  # bins expecting fewer counts are pooled for the chi-square test
BAS_KL_MAX = 0.02  # nats, KL(target || model) after training (the 2000 training samples alone cost ~0.002)
ARCH = {"d_model": 16, "heads": 2, "layers": 2, "d_ff": None}
BAS_SPEC = {"kind": "transformer", **ARCH, "n_samples": 2000, "optimizer": {"lr": 0.01, "steps": 200}}


def functions(n: int, seed: int):
    """Jitted functions of a small transformer and its flax-initialised parameters."""
    jax.config.update("jax_enable_x64", True)
    fns = tf._functions(n, *tf._options(ARCH))
    return fns, fns["init"](jax.random.PRNGKey(seed))


@pytest.fixture(scope="module")
def bas_transformer(bas_target):
    """A small transformer trained by full-batch maximum likelihood on BAS 2x2 (200 adam steps)."""
    return train(BAS_SPEC, bas_target, seed=0)


def test_probabilities_are_normalised_and_equal_exp_log_prob():
    """The enumerated probabilities sum to 1 and equal exp(log p) of each string, whatever the parameters."""
    n = 5
    fns, flat = functions(n, 1)
    flat = flat * 3.0  # far from the initialisation: normalisation must not depend on it
    probs = tf._all_probs(fns["log_prob"], flat, n)
    assert abs(probs.sum() - 1) < PROB_TOL
    x = all_bitstrings(n).astype(np.float64)
    logits = np.asarray(fns["logits"](flat, x))
    # independent reference: the product of the n conditionals, each a Bernoulli of its logit
    p1 = 1.0 / (1.0 + np.exp(-logits))
    reference = np.prod(np.where(x == 1, p1, 1.0 - p1), axis=1)
    np.testing.assert_allclose(probs, reference, rtol=1e-10, atol=0)
    np.testing.assert_allclose(np.exp(np.asarray(fns["log_prob"](flat, x))), probs, rtol=1e-12, atol=0)


def test_sampling_frequencies_match_the_exact_probabilities():
    """Exact ancestral samples pass a chi-square test against the enumerated probabilities."""
    n, n_samples = 4, 20000
    fns, flat = functions(n, 2)
    flat = flat * 3.0
    probs = tf._all_probs(fns["log_prob"], flat, n)
    samples = np.asarray(fns["sample"](flat, np.random.default_rng(3).random((n_samples, n))))
    observed = np.bincount(bits_to_index(samples), minlength=2**n)
    expected = probs * n_samples
    small = expected < MIN_EXPECTED
    obs, exp = observed[~small], expected[~small]
    if small.any():
        obs, exp = np.append(obs, observed[small].sum()), np.append(exp, expected[small].sum())
    assert chisquare(obs, exp).pvalue > CHI2_P_MIN


def test_conditionals_are_causal():
    """Changing bit j leaves the logits of bits 0..j unchanged and changes some later one."""
    n = 6
    fns, flat = functions(n, 4)
    x = np.random.default_rng(5).integers(0, 2, size=(8, n)).astype(np.float64)
    base = np.asarray(fns["logits"](flat, x))
    for j in range(n):
        flipped = x.copy()
        flipped[:, j] = 1 - flipped[:, j]
        out = np.asarray(fns["logits"](flat, flipped))
        np.testing.assert_allclose(out[:, : j + 1], base[:, : j + 1], atol=CAUSAL_TOL, rtol=0)
        if j < n - 1:
            assert np.abs(out[:, j + 1 :] - base[:, j + 1 :]).max() > 1e-6


def test_parameter_count_matches_the_network():
    """count_params (closed form) equals the size of flax's parameter tree, for several shapes."""
    jax.config.update("jax_enable_x64", True)
    for n, arch in ((3, ARCH), (7, {"d_model": 12, "heads": 3, "layers": 1, "d_ff": 5})):
        model = tf.Transformer(n, *tf._options(arch))
        shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), np.zeros((1, n)))
        size = sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(shapes))
        assert count_params({"kind": "transformer", **arch}, n) == size


def test_heads_must_divide_d_model(bas_target):
    """A head count that does not divide d_model is refused, naming the key."""
    with pytest.raises(InvalidConfigError, match="heads"):
        train({**BAS_SPEC, "d_model": 10, "heads": 3}, bas_target, seed=0)


def test_learns_bars_and_stripes_2x2(bas_transformer, bas_target):
    """Full-batch maximum likelihood reaches a small KL to BAS 2x2; loss and train_nll are the exact NLL."""
    result = bas_transformer
    target = np.asarray(bas_target["probs"])
    support = target > 0
    kl = float(np.sum(target[support] * np.log(target[support] / result.probs[support])))
    assert kl < BAS_KL_MAX
    assert abs(result.probs.sum() - 1) < PROB_TOL
    nll = -np.mean(np.log(result.probs[bits_to_index(bas_target["samples"])]))
    assert result.history["loss"][-1] == pytest.approx(nll, abs=1e-9)
    assert result.attrs["train_nll"] == pytest.approx(nll, abs=1e-9)
    assert result.attrs["loss_definition"] == "nll" and result.attrs["sampler"] == "exact"
    assert result.samples.shape == (2000, 4) and result.samples.dtype == np.uint8
    assert result.n_params == count_params(BAS_SPEC, 4) == sum(v.size for v in result.params.values())


def test_same_seed_gives_identical_minibatch_training(bas_target):
    """Two minibatch runs with one seed are bit-identical; another seed differs."""
    spec = {**BAS_SPEC, "batch_size": 3, "n_samples": 200, "optimizer": {"lr": 0.01, "steps": 5}}
    a, b, c = (train(spec, bas_target, seed=s) for s in (4, 4, 5))
    assert a.attrs["loss_definition"] == "minibatch_nll"
    assert a.params.keys() == b.params.keys()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.history["loss"], c.history["loss"])
