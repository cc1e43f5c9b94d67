"""QCBM training end to end on small targets."""

import numpy as np
import pytest

from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target
from qgenflow.targets import make_target
from qgenflow.stages.train import run_training
from qgenflow.train import train

MMD_GOAL = 1e-4


def test_learns_uniform_three_bits():
    """On the tutorial's 3-bit uniform target the QCBM reaches MMD < 1e-4."""
    target = make_target({"kind": "uniform", "n_bits": 3, "n_samples": 10}, 0)
    spec = {"layers": 3, "optimizer": {"name": "adam", "lr": 0.05, "steps": 200}}
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    result, probs = trained, trained.probs
    assert result.history["loss"][-1] < MMD_GOAL
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-10)


def test_training_is_reproducible(tmp_path):
    """Same seed, bit-identical parameters and samples."""
    tpath = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 50}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "layers": 2, "optimizer": {"steps": 20}, "n_samples": 100}
    a = read_artefact(run_training(spec, tpath, 1, tmp_path / "a.h5"))
    b = read_artefact(run_training(spec, tpath, 1, tmp_path / "b.h5"))
    for key in ("params/theta", "probs", "samples", "history/loss"):
        assert np.array_equal(a[key], b[key])
    assert a.attrs["n_params"] == 2 * 4 * 2 and a["samples"].shape == (100, 4)


def test_kl_loss_gradient_and_training():
    """The KL loss's dL/dp matches finite differences, and KL training learns the uniform target."""
    from qgenflow.fit.losses import make_loss

    rng = np.random.default_rng(0)
    q, p = rng.dirichlet(np.ones(8)), rng.dirichlet(np.ones(8))
    loss = make_loss({"type": "kl"}, q)
    g = loss.grad_probs(p)
    eps = 1e-7
    for i in range(8):
        dp = np.zeros(8)
        dp[i] = eps
        assert (loss.value(p + dp) - loss.value(p - dp)) / (2 * eps) == pytest.approx(g[i], rel=1e-5)
    target = make_target({"kind": "uniform", "n_bits": 3, "n_samples": 10}, 0)
    spec = {"layers": 3, "loss": {"type": "kl"}, "optimizer": {"lr": 0.05, "steps": 150}}
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    result = trained
    assert result.history["loss"][-1] < 1e-4


def test_baseline_matched_to_a_quantum_models_parameter_count(tmp_path):
    """match_params sizes an RBM to the parameter count of the named QCBM."""
    tpath = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}, 0, tmp_path / "t.h5")
    qcbm = {"kind": "qcbm", "ansatz": "hardware_efficient", "layers": 5}  # 5 * 4 * 2 = 40 parameters
    spec = {"kind": "rbm", "match_params": "q", "match_params_spec": qcbm, "optimizer": {"steps": 5},
            "n_samples": 100, "checkpoint_every": 0}
    model = read_artefact(run_training(spec, tpath, 0, tmp_path / "rbm.h5"))
    assert abs(model.attrs["n_params"] - 40) <= 5  # n_hidden h: 4h + 4 + h parameters


@pytest.mark.parametrize("ansatz, options", [("hardware_efficient", {}), ("symmetry_preserving", {"zz_phase": True})])
def test_numba_and_lightning_engines_train_identically(ansatz, options):
    """The numba adjoint kernels and lightning's adjoint give the same optimisation path."""
    target = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 3, "n_samples": 10}, 0)
    base = {"ansatz": ansatz, "ansatz_options": options, "layers": 2, "optimizer": {"name": "adam", "steps": 25}}
    runs = {}
    for engine in ("numba", "lightning"):
        spec = {**base, "training": {"engine": engine}}
        trained = train({**spec, "kind": "qcbm"}, target, seed=3)
        result, probs = trained, trained.probs
        runs[engine] = (result, probs)
    (fast, p_fast), (slow, p_slow) = runs["numba"], runs["lightning"]
    np.testing.assert_allclose(fast.history["loss"], slow.history["loss"], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(fast.params["theta"], slow.params["theta"], atol=1e-9)
    np.testing.assert_allclose(p_fast, p_slow, atol=1e-12)


def test_engine_choice():
    from qgenflow.train.qcbm import gradient_engine

    assert gradient_engine({}) == "numba"
    assert gradient_engine({"device": {"name": "lightning.gpu"}}) == "lightning"
    assert gradient_engine({"device": {"name": "lightning.qubit", "options": {"batch_obs": True}}}) == "lightning"
    assert gradient_engine({"training": {"engine": "lightning"}}) == "lightning"
    assert gradient_engine({"device": {"shots": 100}}) == "parameter_shift"


def test_engine_is_recorded(tmp_path):
    tpath = run_target({"kind": "uniform", "n_bits": 2, "n_samples": 20}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "layers": 1, "optimizer": {"steps": 3}, "n_samples": 10}
    assert read_artefact(run_training(spec, tpath, 0, tmp_path / "m.h5")).attrs["gradient_engine"] == "numba"
