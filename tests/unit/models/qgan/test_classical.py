"""QGAN with a classical discriminator: learning, shots, mode-collapse reporting, resume."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qgenflow.bits import bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact, write_artefact
from qgenflow.train import train
from qgenflow.models.qgan import QGANResult
from qgenflow.models.qgan.classical import CoverageMonitor, coverage
from qgenflow.targets import bas_patterns, make_target
from qgenflow.fit.checkpoint import Checkpointer

FLAVOR = "classical_discriminator"
EXACT = {
    "layers": 3,
    "optimizer": {"lr": 0.05, "steps": 80},
    "log_every": 10,
    "n_samples": 2000,
}
SHOTS = {
    "layers": 2,
    "optimizer": {"lr": 0.1, "steps": 20},
    "log_every": 5,
    "n_samples": 500,
    "device": {"name": "lightning.qubit", "shots": 300},
}
#: Mass the generator must put on the 6 valid 2x2 patterns after the short exact run.
SUPPORT_GOAL = 0.8
#: Share of valid patterns the generator must reach (acceptance: bars-and-stripes 3x3).
VALID_GOAL = 0.9
KILLED_EXACT = {**EXACT, "optimizer": {"lr": 0.05, "steps": 17, "schedule": "cosine"}, "log_every": 3,
                "batch_size": 32, "d_steps": 2, "n_samples": 200}
KILLED_SHOTS = {**SHOTS, "optimizer": {"lr": 0.1, "steps": 13}, "log_every": 4, "n_samples": 100,
                "device": {"name": "lightning.qubit", "shots": 100}}
BAS_3X3 = {"kind": "bars_and_stripes", "rows": 3, "cols": 3, "n_samples": 20000}
BAS_3X3_SPEC = {
    "ansatz": "hardware_efficient",
    "layers": 8,
    "optimizer": {"name": "adam", "lr": 0.03, "steps": 400, "schedule": "cosine"},
    "discriminator": {"hidden": [32, 32], "lr": 0.01},
    "d_steps": 2,
    "label_smoothing": 0.1,
    "log_every": 50,
    "n_samples": 20000,
}


def test_learns_bars_and_stripes_2x2_with_model_h5_layout(bas_2x2, tmp_path):
    """Exact training puts most mass on the 6 valid 2x2 patterns; the result writes and reads as model.h5."""
    result = train({**EXACT, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=0)
    assert isinstance(result, QGANResult) and result.attrs["gradient"] == "adjoint"
    assert result.attrs["support_mass"] > SUPPORT_GOAL
    h = result.history
    assert h["support_mass"][-1] > h["support_mass"][0]
    valid = np.isin(bits_to_index(result.samples), bits_to_index(bas_2x2["patterns"]))
    assert valid.mean() == pytest.approx(result.attrs["sample_support_fraction"])
    # Layout: per-step losses, per-log metrics, samples, probabilities, named parameters.
    assert np.array_equal(h["step"], np.arange(81)) and h["loss"].shape == h["d_loss"].shape == (81,)
    assert np.array_equal(h["log_step"], np.arange(0, 81, 10))
    for key in ("d_accuracy", "mmd", "kl", "coverage", "support_mass", "mode_collapse"):
        assert h[key].shape == (9,)
    assert result.samples.shape == (2000, 4) and result.samples.dtype == np.uint8
    assert result.probs.sum() == pytest.approx(1.0, abs=1e-10)
    assert result.n_params == 3 * 4 * 2 == result.params["theta"].size
    assert set(result.params) == {"theta"} | {
        f"discriminator/Dense_{i}/{w}" for i in range(3) for w in ("kernel", "bias")
    }
    assert result.params["discriminator/Dense_0/kernel"].shape == (4, 32)
    path = write_artefact(tmp_path / "model.h5", "model", result.datasets(), config=EXACT, seed=0, attrs=result.attrs)
    back = read_artefact(path, kind="model")
    assert np.array_equal(back["params/theta"], result.params["theta"])
    assert np.array_equal(back["history/coverage"], h["coverage"])
    assert back.attrs["mode_collapse"] == result.attrs["mode_collapse"]


def test_finite_shots_run_learns_and_is_reproducible(bas_2x2):
    """With shots (parameter-shift via ShotRunner) the generator learns, reproducibly from its seed."""
    a = train({**SHOTS, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=0)
    b = train({**SHOTS, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=0)
    assert a.attrs["gradient"] == "parameter_shift"
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])
    assert np.array_equal(a.samples, b.samples) and a.samples.shape == (500, 4) and a.probs is not None
    assert np.all(np.isfinite(a.history["loss"])) and np.all(np.isfinite(a.history["d_loss"]))
    # The shot histogram's mass on valid patterns grows from initialisation.
    assert a.history["support_mass"][-1] > a.history["support_mass"][0] + 0.2


def test_resume_from_checkpoint_is_exact(bas_2x2, tmp_path, assert_same_result):
    """A run resumed from the step-10 checkpoint a finished run leaves behind ends where that run ended."""
    spec = {**EXACT, "optimizer": {"steps": 16}, "log_every": 4, "batch_size": 32, "d_steps": 2}
    ckpt = Checkpointer(tmp_path / "ckpt.h5", every=10, identity={"test": 1})
    full = train({**spec, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=2, checkpointer=ckpt)
    assert ckpt.path.exists()
    resumed = train({**spec, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=2, checkpointer=ckpt)
    assert resumed.attrs["resumed_from"] == 10
    assert_same_result(resumed, full)


@pytest.mark.parametrize("spec", [KILLED_EXACT, KILLED_SHOTS], ids=["exact", "shots"])
def test_killed_run_resumes_to_the_uninterrupted_result(bas_2x2, killed_then_resumed, spec, assert_same_result):
    """Killed after its step-10 checkpoint (random real batches, shots) and rerun: bit-identical to an unkilled run."""
    full = train({**spec, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, seed=3)
    resumed = killed_then_resumed(FLAVOR, spec, bas_2x2, seed=3, every=5, at=10)
    assert resumed.attrs["resumed_from"] == 10 and full.attrs["resumed_from"] == 0
    assert_same_result(resumed, full)
    assert resumed.attrs["mode_collapse_events"] == full.attrs["mode_collapse_events"]
    assert resumed.attrs["coverage_best"] == full.attrs["coverage_best"]


def test_coverage_counts_support_above_threshold():
    """Coverage is the share of support bitstrings holding more than the threshold."""
    p = np.array([0.5, 0.3, 0.001, 0.199])
    assert coverage(p, np.array([0, 1, 2]), 0.01) == pytest.approx(2 / 3)


def test_mode_collapse_is_flagged_and_logged(caplog):
    """Coverage falling below half its best is flagged once, with a warning, and clears on recovery."""
    monitor = CoverageMonitor(0.5)
    with caplog.at_level(logging.WARNING, logger="qgenflow.models.qgan.classical"):
        flags = [monitor.update(s, c) for s, c in enumerate([0.2, 0.8, 0.5, 0.3, 0.2, 0.9])]
    assert flags == [False, False, False, True, True, False]
    assert monitor.events == 1 and monitor.best == 0.9
    assert sum("mode collapse" in r.message for r in caplog.records) == 1


def test_invalid_settings_are_refused(bas_2x2):
    """Unknown flavours and out-of-range settings raise InvalidConfigError naming the key."""
    with pytest.raises(InvalidConfigError, match="flavor"):
        train({**{}, "kind": "qgan", "flavor": "nope"}, bas_2x2, 0)
    with pytest.raises(InvalidConfigError, match="label_smoothing"):
        train({**{"label_smoothing": 0.7}, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, 0)
    with pytest.raises(InvalidConfigError, match="activation"):
        train({**{"discriminator": {"activation": "swish2"}}, "kind": "qgan", "flavor": FLAVOR}, bas_2x2, 0)


@pytest.mark.slow
def test_bars_and_stripes_3x3_acceptance():
    """In at least 2 of 3 seeds, >= 90 % of 20,000 samples of the trained generator are valid 3x3 patterns."""
    valid = []
    for seed in (0, 1, 2):
        result = train({**BAS_3X3_SPEC, "kind": "qgan", "flavor": FLAVOR}, make_target(BAS_3X3, seed), seed=seed)
        assert result.samples.shape == (20000, 9)
        valid.append(np.isin(bits_to_index(result.samples), bits_to_index(bas_patterns(3, 3))).mean())
    assert sum(v >= VALID_GOAL for v in valid) >= 2, valid


@pytest.mark.parametrize("name", ["pennylane:StronglyEntanglingLayers", "iqp"])
def test_the_generator_gradient_goes_through_the_ansatzs_angle_map(name):
    """The QGAN generator's gradient of E_p[g] in its parameters (not its gate angles) equals finite differences,
    for a template whose angles are not its parameters and for IQP's MultiRZ(2 theta)."""
    from qgenflow.models import QCBM, make_ansatz
    from qgenflow.models.qgan.classical import _BornGenerator

    model = QCBM(make_ansatz(name, 3, 2, {}))
    gen = _BornGenerator(model, {"name": "lightning.qubit"}, "adjoint", 3, seed=0)
    rng = np.random.default_rng(1)
    theta, g = rng.uniform(-1, 1, size=model.shape), rng.normal(size=8)
    grad = model.param_grad(theta, gen.grad(model.ops(theta), g, 0))

    def value(t: np.ndarray) -> float:
        return float(gen.view(model.ops(t), 0)[2] @ g)

    eps, fd = 1e-6, np.zeros(theta.size)
    for k in range(theta.size):
        step = np.zeros(theta.size)
        step[k] = eps
        fd[k] = (value(theta + step.reshape(theta.shape)) - value(theta - step.reshape(theta.shape))) / (2 * eps)
    np.testing.assert_allclose(grad.ravel(), fd, atol=1e-6)
