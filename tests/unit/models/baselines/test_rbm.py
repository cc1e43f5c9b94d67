"""RBM baseline: exact enumeration, exact-gradient training on bars-and-stripes, PCD at 24 bits."""

from __future__ import annotations

import itertools
import logging

import jax
import netket as nk
import numpy as np
import pytest
from scipy.special import logsumexp

from qgenflow.bits import all_bitstrings, bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.models.baselines import rbm
from qgenflow.train import count_params, train
from qgenflow.fit.checkpoint import Checkpointer

PROB_TOL = 1e-12
# KL(target || model) bound on BAS 2x2: a model spreading 95 % of its mass evenly over the
# 6 patterns has KL = -log 0.95 = 0.051; the empirical distribution of 2000 samples is itself
# ~ 5 / (2 * 2000) = 0.0013 from the target. Measured: 0.014 after 150 Adam steps.
BAS_KL_MAX = 0.05
BAS_VALID_MASS_MIN = 0.90
# TV(samples, p) of N = 2000 exact samples over K = 16 strings: E[TV] <= sqrt(K / N) / 2 = 0.045.
SAMPLE_TV_MAX = 0.07
BAS_SPEC = {"kind": "rbm", "n_hidden": 6, "n_samples": 2000, "optimizer": {"name": "adam", "lr": 0.1, "steps": 150}}


def random_params(n: int, m: int, seed: int, scale: float = 0.7) -> dict[str, np.ndarray]:
    """Random RBM parameters."""
    rng = np.random.default_rng(seed)
    return {
        "visible_bias": rng.normal(0, scale, n),
        "hidden_bias": rng.normal(0, scale, m),
        "weights": rng.normal(0, scale, (n, m)),
    }


@pytest.fixture(scope="module")
def bas_rbm(bas_target):
    """An RBM trained with the exact likelihood gradient on BAS 2x2."""
    return train({**BAS_SPEC, "kind": "rbm"}, bas_target, seed=0)


def test_enumerated_probs_equal_brute_force_sum_over_hidden_units():
    """At n = 4, p(v) equals sum_h exp(-E(v, h)) / Z with E summed over every (v, h) pair."""
    n, m = 4, 3
    p = random_params(n, m, 0)
    vs, hs = all_bitstrings(n).astype(float), np.array(list(itertools.product((0, 1), repeat=m)), dtype=float)
    neg_energy = (vs @ p["visible_bias"])[:, None] + (hs @ p["hidden_bias"])[None, :] + vs @ p["weights"] @ hs.T
    weights = np.exp(neg_energy).sum(axis=1)
    np.testing.assert_allclose(np.exp(rbm.log_probs_all(p)), weights / weights.sum(), rtol=0, atol=PROB_TOL)


def test_block_enumeration_keeps_big_endian_order():
    """Above the 2^12 block size, the blocks concatenate to the big-endian order of all strings."""
    n, m = rbm.ENUM_BLOCK_BITS + 2, 2
    p = random_params(n, m, 1, scale=0.3)
    v = all_bitstrings(n).astype(float)
    neg_f = v @ p["visible_bias"] + np.logaddexp(0, v @ p["weights"] + p["hidden_bias"]).sum(axis=1)
    expected = neg_f - np.log(np.exp(neg_f - neg_f.max()).sum()) - neg_f.max()
    np.testing.assert_allclose(rbm.log_probs_all(p), expected, rtol=0, atol=1e-10)


def numpy_neg_free_energy(p: dict[str, np.ndarray], v: np.ndarray) -> np.ndarray:
    """-F(v) = a.v + sum_j log(1 + exp(b_j + (v W)_j)), written out in NumPy."""
    return v @ p["visible_bias"] + np.logaddexp(0, v @ p["weights"] + p["hidden_bias"]).sum(axis=1)


def test_netket_module_log_psi_is_minus_the_free_energy():
    """NetKet's RBM (softplus, 0/1 bits) gives log psi = -F(v) on random parameters, and has n + m + n m parameters."""
    n, m = 7, 5
    p = random_params(n, m, 2)
    v = np.random.default_rng(3).integers(0, 2, (50, n)).astype(float)
    log_psi = np.asarray(rbm.rbm_module(n, m).apply(rbm.module_variables(p), v))
    np.testing.assert_allclose(log_psi, numpy_neg_free_energy(p, v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(-np.asarray(rbm.free_energy(p, v)), log_psi, rtol=0, atol=0)
    variables = rbm.rbm_module(n, m).init(jax.random.PRNGKey(0), np.zeros((1, n)))
    assert sum(x.size for x in jax.tree_util.tree_leaves(variables)) == count_params({"kind": "rbm", "n_hidden": m}, n)


def test_netkets_default_log_cosh_rbm_on_spins_is_the_same_family():
    """The default nk.models.RBM (log cosh, spins s = 2v - 1) with W/4, b/2 + sum_i W_ij/4, a/2 + sum_j W_ij/4
    gives the same normalised p(v) = exp(log psi) / Z; the Born rule |psi|^2 does not."""
    n, m = 5, 4
    p = random_params(n, m, 4)
    w = p["weights"]
    spin = {"params": {
        "Dense": {"kernel": w / 4, "bias": p["hidden_bias"] / 2 + w.sum(axis=0) / 4},
        "visible_bias": p["visible_bias"] / 2 + w.sum(axis=1) / 4,
    }}
    v = all_bitstrings(n).astype(float)
    log_psi = np.asarray(nk.models.RBM(alpha=m / n, param_dtype=np.float64).apply(spin, 2 * v - 1))
    expected = rbm.log_probs_all(p)
    np.testing.assert_allclose(log_psi - logsumexp(log_psi), expected, rtol=0, atol=1e-12)
    assert np.abs(2 * log_psi - logsumexp(2 * log_psi) - expected).max() > 0.1


def test_trained_probs_are_the_free_energies_and_samples_match_them(bas_rbm):
    """The trained model's probs equal exp(-F) / Z of its parameters (NumPy), and its exact samples lie
    within a TV bound of them."""
    v = all_bitstrings(4).astype(float)
    neg_f = numpy_neg_free_energy(bas_rbm.params, v)
    np.testing.assert_allclose(bas_rbm.probs, np.exp(neg_f - logsumexp(neg_f)), rtol=0, atol=PROB_TOL)
    freq = np.bincount(bits_to_index(bas_rbm.samples), minlength=16) / bas_rbm.samples.shape[0]
    assert 0.5 * np.abs(freq - bas_rbm.probs).sum() < SAMPLE_TV_MAX


def test_exact_training_learns_bars_and_stripes(bas_rbm, bas_target):
    """Exact-gradient training reaches KL < 0.05 nats and puts > 90 % of the mass on valid patterns."""
    target_probs = bas_target["probs"]
    support = target_probs > 0
    kl = np.sum(target_probs[support] * np.log(target_probs[support] / bas_rbm.probs[support]))
    assert kl < BAS_KL_MAX
    assert bas_rbm.probs[support].sum() > BAS_VALID_MASS_MIN
    assert abs(bas_rbm.probs.sum() - 1) < PROB_TOL
    assert bas_rbm.history["loss"][-1] < bas_rbm.history["loss"][0]
    assert bas_rbm.attrs["training"] == "exact" and bas_rbm.attrs["sampler"] == "exact"


def test_loss_is_the_nll_of_the_enumerated_probabilities(bas_rbm, bas_target):
    """The final loss equals -mean log p(x) over the training samples, p from the enumeration."""
    nll = -np.mean(np.log(bas_rbm.probs[bits_to_index(bas_target["samples"])]))
    assert bas_rbm.history["loss"][-1] == pytest.approx(nll, abs=1e-9)
    assert bas_rbm.attrs["train_nll"] == pytest.approx(nll, abs=1e-9)
    assert bas_rbm.n_params == 4 + 6 + 24 == count_params({**BAS_SPEC, "kind": "rbm"}, 4)


def test_same_seed_gives_identical_params_and_samples(bas_target):
    """Two exact runs with one seed are bit-identical; another seed differs."""
    spec = dict(BAS_SPEC, optimizer={"lr": 0.1, "steps": 5}, n_samples=300)
    a, b, c = (train({**spec, "kind": "rbm"}, bas_target, seed=s) for s in (4, 4, 5))
    for name in rbm.PARAM_NAMES:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.params["weights"], c.params["weights"])


def test_pcd_runs_at_24_bits_without_enumerating(product_target, monkeypatch, tmp_path, caplog):
    """Above exact_max_bits PCD trains and Gibbs-samples without any 2^n object, and a run
    resumed from a checkpoint (chains included) is bit-identical to an uninterrupted one."""

    def refuse(*args, **kwargs):
        raise AssertionError("enumerated the visible space")

    monkeypatch.setattr(rbm, "_neg_free_energy_all", refuse)
    monkeypatch.setattr(rbm, "all_bitstrings", refuse)
    target = product_target(np.linspace(0.1, 0.9, 24), 1000, 3)
    spec = {
        "kind": "rbm", "n_hidden": 4, "n_chains": 16, "k": 1, "batch_size": 64, "n_samples": 64,
        "sampling": {"n_chains": 16, "burn_in": 4, "thin": 2}, "optimizer": {"lr": 0.01, "steps": 4},
    }
    a = train({**spec, "kind": "rbm"}, target, seed=0)
    checkpointer = Checkpointer(tmp_path / "ck.h5", every=2, identity={"test": "pcd"})
    train({**spec, "kind": "rbm"}, target, seed=0, checkpointer=checkpointer)  # leaves its step-2 checkpoint
    with caplog.at_level(logging.INFO, logger="qgenflow.fit.checkpoint"):
        b = train({**spec, "kind": "rbm"}, target, seed=0, checkpointer=checkpointer)  # resumes at step 2
    assert "resuming from checkpoint at step 2" in caplog.text
    assert a.probs is None and a.samples.shape == (64, 24) and a.samples.dtype == np.uint8
    assert a.attrs["training"] == "pcd" and a.attrs["sampler"] == "gibbs"
    assert a.attrs["loss_definition"] == "neg_log_pseudo_likelihood" and np.all(np.isfinite(a.history["loss"]))
    np.testing.assert_array_equal(a.params["weights"], b.params["weights"])
    np.testing.assert_array_equal(a.samples, b.samples)


def test_lbfgs_is_refused_for_pcd(product_target):
    """PCD gradients are stochastic, so the deterministic L-BFGS optimiser is refused."""
    spec = {"exact_max_bits": 0, "optimizer": {"name": "lbfgs"}}
    with pytest.raises(InvalidConfigError, match="lbfgs"):
        train({**spec, "kind": "rbm"}, product_target(np.full(3, 0.5), 10, 0), seed=0)
