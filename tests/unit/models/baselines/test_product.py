"""Product baseline: closed-form marginals, Kronecker probabilities, exact sampling, model.h5."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.bits import all_bitstrings
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.stages.train import run_training
from qgenflow.train import PARAMETER_COUNTS, count_params, train
from qgenflow.models.baselines.product import fit_marginals
from qgenflow.stages.target import run_target

PROB_TOL = 1e-12
N_SIGMA = 5.0  # sampling-error bound in standard deviations


def test_probs_are_the_kronecker_product_of_empirical_marginals(product_target):
    """Probabilities sum to 1 and equal prod_i m_i^x_i (1 - m_i)^(1 - x_i), string by string."""
    target = product_target(np.array([0.1, 0.5, 0.8, 0.3, 0.95]), 3000, 0)
    res = train({**{"n_samples": 10}, "kind": "product"}, target, seed=0)
    m = target["samples"].mean(axis=0)
    x = all_bitstrings(5)
    brute = np.prod(np.where(x == 1, m, 1 - m), axis=1)
    assert abs(res.probs.sum() - 1) < PROB_TOL
    np.testing.assert_allclose(res.probs, brute, rtol=0, atol=PROB_TOL)
    np.testing.assert_array_equal(res.params["marginals"], m)
    assert res.n_params == 5 == count_params({**{}, "kind": "product"}, 5)


def test_reproduces_a_product_target_up_to_sampling_error(product_target):
    """Fitted marginals, model-sample marginals and the NLL match the true product distribution."""
    true = np.array([0.05, 0.3, 0.5, 0.7, 0.9, 0.6])
    n_train, n_model = 20000, 20000
    res = train({**{"n_samples": n_model}, "kind": "product"}, product_target(true, n_train, 1), seed=3)
    fitted = res.params["marginals"]
    assert np.all(np.abs(fitted - true) < N_SIGMA * np.sqrt(true * (1 - true) / n_train))
    assert np.all(np.abs(res.samples.mean(axis=0) - fitted) < N_SIGMA * np.sqrt(fitted * (1 - fitted) / n_model))
    entropy = -np.sum(true * np.log(true) + (1 - true) * np.log(1 - true))
    assert res.history["loss"][-1] == pytest.approx(entropy, abs=N_SIGMA * 0.01)
    assert res.samples.dtype == np.uint8 and res.samples.shape == (n_model, 6)


def test_pseudocount_keeps_unseen_values_possible():
    """A bit that is always 0 in training keeps P(1) = c / (N + 2c) > 0 with a pseudocount."""
    samples = np.zeros((10, 2), dtype=np.uint8)
    assert fit_marginals(samples)[0] == 0.0
    assert fit_marginals(samples, 1.0)[0] == pytest.approx(1 / 12)


def test_same_seed_same_samples(product_target):
    """The same seed gives identical samples; another seed gives different ones."""
    target = product_target(np.full(8, 0.5), 500, 2)
    a, b, c = (train({**{"n_samples": 200}, "kind": "product"}, target, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_run_baseline_writes_a_model_artefact(tmp_path):
    """run_baseline writes params, history, probs, samples and the timing attributes of model.h5."""
    target = run_target({"kind": "uniform", "n_bits": 3, "n_samples": 400}, 0, tmp_path / "t.h5")
    spec = {"kind": "product", "n_samples": 50}
    model = read_artefact(run_training(spec, target, 0, tmp_path / "m.h5"), kind="model")
    for name in ("params/marginals", "history/step", "history/loss", "probs", "samples"):
        assert name in model
    assert model["samples"].shape == (50, 3) and model["samples"].dtype == np.uint8
    assert model.attrs["model_kind"] == "product" and model.attrs["n_qubits"] == 3 and model.attrs["n_params"] == 3
    for key in ("train_seconds", "seconds_per_step", "final_loss", "train_nll"):
        assert np.isfinite(model.attrs[key])
    assert model.config == spec and not (tmp_path / "m.h5.checkpoint").exists()


def test_unknown_kind_is_refused(product_target):
    """An unknown baseline kind names the allowed ones."""
    with pytest.raises(InvalidConfigError, match="product"):
        train({**{}, "kind": "vae"}, product_target(np.full(2, 0.5), 10, 0), seed=0)
    assert set(PARAMETER_COUNTS) == {"product", "rbm", "autoregressive", "transformer", "gan"}
