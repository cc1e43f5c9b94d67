"""Classical GAN baseline: the QGAN's bookkeeping, an unbiased REINFORCE gradient, learning, determinism, resume."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qgenflow.bits import all_bitstrings
from qgenflow.errors import InvalidConfigError
from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.io import read_artefact, write_artefact
from qgenflow.models.baselines import gan
from qgenflow.models.result import TargetData
from qgenflow.schema import with_defaults
from qgenflow.train import count_params, train
from tests.unit.killed import Killed, KilledAfterSave

SHORT = {"kind": "gan", "optimizer": {"steps": 12}, "log_every": 4, "n_samples": 300}
QGAN_SHORT = {"kind": "qgan", "flavor": "classical_discriminator", "layers": 1, "optimizer": {"steps": 12},
              "log_every": 4, "n_samples": 300}
PRODUCT_MARGINALS = np.array([0.9, 0.1, 0.8, 0.2])
#: After 300 default steps on the product target: KL(target || model) below this, and MMD shrunk this much.
PRODUCT_KL_MAX = 0.3
PRODUCT_MMD_SHRINK = 5.0
GRAD_COSINE_MIN = 0.99  # REINFORCE (20000 draws) against the exact gradient at the same noise
GRAD_NORM_RTOL = 0.05
PROB_TOL = 1e-12


@pytest.fixture(scope="module")
def product_data() -> TargetData:
    """Four independent bits with P(1) = PRODUCT_MARGINALS: 2000 samples and the exact distribution."""
    samples = (np.random.default_rng(0).random((2000, 4)) < PRODUCT_MARGINALS).astype(np.uint8)
    x = all_bitstrings(4)
    probs = np.prod(np.where(x == 1, PRODUCT_MARGINALS, 1 - PRODUCT_MARGINALS), axis=1)
    return TargetData(4, samples, probs, None, None, {"n_qubits": 4})


def test_history_and_layout_are_the_qgans(bas_target, tmp_path):
    """A short run logs exactly the QGAN's series (same names, dtypes, shapes) and writes as model.h5."""
    result = train(SHORT, bas_target, seed=0)
    qgan = train(QGAN_SHORT, bas_target, seed=0)
    assert set(result.history) == set(qgan.history)
    for key, series in qgan.history.items():
        assert result.history[key].dtype == series.dtype and result.history[key].shape == series.shape, key
    assert np.array_equal(result.history["log_step"], [0, 4, 8, 12])
    assert result.probs is None and result.samples.shape == (300, 4) and result.samples.dtype == np.uint8
    assert result.n_params == count_params(SHORT, 4)
    assert result.n_params == sum(v.size for k, v in result.params.items() if k.startswith("generator/"))
    assert {k for k in result.params if k.startswith("discriminator/")} == {
        k for k in qgan.params if k.startswith("discriminator/")
    }
    for key in ("final_d_accuracy", "final_mmd", "coverage", "mode_collapse", "sample_support_fraction"):
        assert key in result.attrs and key in qgan.attrs
    assert result.attrs["gradient"] == "reinforce"
    path = write_artefact(tmp_path / "model.h5", "model", result.datasets(), config=SHORT, seed=0, attrs=result.attrs)
    back = read_artefact(path, kind="model")
    assert np.array_equal(back["history/coverage"], result.history["coverage"])
    assert "probs" not in back.datasets


def test_same_seed_is_bit_identical(bas_target):
    """Two runs with one seed give identical parameters, history and samples; another seed differs."""
    spec = {**SHORT, "batch_size": 16, "d_steps": 2}
    a, b, c = (train(spec, bas_target, seed=s) for s in (3, 3, 4))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    for name in a.history:
        np.testing.assert_array_equal(a.history[name], b.history[name])
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.history["loss"], c.history["loss"])


def test_killed_run_resumes_to_the_uninterrupted_result(bas_target, tmp_path):
    """Killed after its step-8 checkpoint and rerun: bit-identical to an unkilled run."""
    spec = {**SHORT, "batch_size": 16}
    full = train(spec, bas_target, seed=2)
    path, identity = tmp_path / "ckpt.h5", {"kind": "gan", "seed": 2}
    with pytest.raises(Killed):
        train(spec, bas_target, 2, KilledAfterSave(path, 4, identity, 8))
    resumed = train(spec, bas_target, 2, Checkpointer(path, 4, identity))
    assert resumed.attrs["resumed_from"] == 8
    for field in ("params", "history"):
        x, y = getattr(full, field), getattr(resumed, field)
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{field}/{key}")
    np.testing.assert_array_equal(full.samples, resumed.samples)


def test_moves_toward_a_product_target(product_data):
    """With the schema defaults the generator approaches independent bits: KL and MMD fall well below their start."""
    result = train({"kind": "gan", "log_every": 50, "n_samples": 2000}, product_data, seed=0)
    h = result.history
    assert h["kl"][-1] < PRODUCT_KL_MAX < h["kl"][0]
    assert h["mmd"][-1] < h["mmd"][0] / PRODUCT_MMD_SHRINK
    assert np.abs(result.samples.mean(axis=0) - PRODUCT_MARGINALS).max() < 0.1


def test_reinforce_gradient_matches_the_exact_gradient_at_the_same_noise():
    """The score-function estimate from 20000 draws agrees with the gradient of sum_x p(x|z) g(x) (enumerated)."""
    jax.config.update("jax_enable_x64", True)
    n = 4
    spec = with_defaults("models", {"kind": "gan", "generator": {"batch_size": 20000, "hidden": [8]}})
    gen = gan.MLPGenerator(spec, n, seed=1)
    theta = gen.theta0
    gen.view(theta, 0)
    _, z, _ = gen._drawn
    g = np.random.default_rng(2).normal(size=2**n)
    estimate = gen.grad(theta, g, 0)
    x = jnp.asarray(all_bitstrings(n), dtype=jnp.float64)

    def expected_g(flat):
        logits = gen.fns["logits"](flat, jnp.asarray(z))  # [B, n]
        log_p = x @ jax.nn.log_sigmoid(logits).T + (1 - x) @ jax.nn.log_sigmoid(-logits).T  # [2^n, B]
        return jnp.mean(jnp.asarray(g) @ jnp.exp(log_p))

    exact = np.asarray(jax.grad(expected_g)(jnp.asarray(theta)))
    cosine = estimate @ exact / (np.linalg.norm(estimate) * np.linalg.norm(exact))
    assert cosine > GRAD_COSINE_MIN
    assert np.linalg.norm(estimate) == pytest.approx(np.linalg.norm(exact), rel=GRAD_NORM_RTOL)


def test_mixture_probs_is_the_noise_average_of_products():
    """The logged distribution estimate is the mean over draws of each draw's product distribution."""
    logits = np.random.default_rng(0).normal(scale=2.0, size=(7, 3))
    p = gan.mixture_probs(logits, 3)
    q = 1.0 / (1.0 + np.exp(-logits))
    x = all_bitstrings(3)
    reference = np.mean([np.prod(np.where(x == 1, row, 1 - row), axis=1) for row in q], axis=0)
    np.testing.assert_allclose(p, reference, rtol=1e-12, atol=0)
    assert abs(p.sum() - 1) < PROB_TOL


def test_too_many_bits_and_bad_settings_are_refused(bas_target):
    """More bits than the discriminator's table holds, and a one-sample batch, are refused naming the key."""
    wide = TargetData(17, np.zeros((4, 17), dtype=np.uint8), None, None, None, {"n_qubits": 17})
    with pytest.raises(InvalidConfigError, match="2\\^n"):
        train(SHORT, wide, seed=0)
    with pytest.raises(InvalidConfigError, match="generator.batch_size"):
        train({**SHORT, "generator": {"batch_size": 1}}, bas_target, seed=0)
