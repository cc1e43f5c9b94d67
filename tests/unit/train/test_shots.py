"""Finite-shot training through parameter-shift: the hardware path."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.devices import DeviceExecutionError, execute, make_device
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.kernels import mmd2_exact, mmd2_samples_vs_probs
from qgenflow.models import QCBM, make_ansatz
from qgenflow.stages.target import run_target
from qgenflow.circuits import gradient_method
from qgenflow.stages.train import run_training
from qgenflow.circuits import CircuitRunner, ShotRunner

N_SIGMA = 5.0
SIGMAS = (0.5, 1.0, 2.0, 4.0)


def test_unbiased_mmd_against_probabilities(rng):
    """The sample MMD against exact q averages to the exact MMD."""
    p, q = rng.dirichlet(np.ones(8)), rng.dirichlet(np.ones(8))
    from qgenflow.bits import sample_from_probs

    est = [mmd2_samples_vs_probs(sample_from_probs(p, 50, rng), q, SIGMAS) for _ in range(400)]
    assert abs(np.mean(est) - mmd2_exact(p, q, SIGMAS)) < N_SIGMA * np.std(est) / np.sqrt(len(est))


def test_shot_gradient_is_unbiased():
    """Parameter-shift with shots averages to the exact adjoint gradient."""
    n = 3
    model = QCBM(make_ansatz("hardware_efficient", n, 1))
    params = np.random.default_rng(3).uniform(-1, 1, model.shape)
    diag = np.random.default_rng(4).normal(size=2**n)
    exact = CircuitRunner(make_device({}, n), n).diagonal_grad(model.ops(params), diag)
    runner = ShotRunner({"name": "lightning.qubit"}, n, shots=4000, seed=0)
    grads = np.array([runner.diagonal_grad(model.ops(params), diag, step) for step in range(20)])
    stderr = grads.std(axis=0, ddof=1) / np.sqrt(len(grads))
    assert np.all(np.abs(grads.mean(axis=0) - exact) < N_SIGMA * stderr + 1e-9)


def test_shot_noise_is_reproducible_per_step():
    """The same step draws the same samples; another step draws others."""
    model = QCBM(make_ansatz("hardware_efficient", 3, 1))
    ops = model.ops(np.full(model.shape, 0.7))
    runner = ShotRunner({}, 3, shots=200, seed=5)
    assert np.array_equal(runner.samples(ops, 4), runner.samples(ops, 4))
    assert not np.array_equal(runner.samples(ops, 4), runner.samples(ops, 5))


def test_gradient_method_choice():
    """auto picks adjoint without shots and parameter-shift with them; contradictions are refused."""
    assert gradient_method({"device": {"shots": None}}) == "adjoint"
    assert gradient_method({"device": {"shots": 100}}) == "parameter_shift"
    with pytest.raises(InvalidConfigError, match="gradient"):
        gradient_method({"gradient": "adjoint", "device": {"shots": 10}})


def test_unknown_device_names_installed_ones():
    """An uninstalled device fails with the list of installed devices."""
    with pytest.raises(InvalidConfigError, match="lightning.qubit"):
        make_device({"name": "nope.device"}, 2)


def test_failing_device_is_retried_then_reported():
    """Transient device errors are retried with back-off, then reported clearly."""
    import pennylane as qml

    class Flaky:
        name = "flaky"
        calls = 0

        def execute(self, tapes):
            Flaky.calls += 1
            raise qml.exceptions.DeviceError("backend offline")

    with pytest.raises(DeviceExecutionError, match="flaky.*3 attempt.*backend offline"):
        execute(Flaky(), [], retries=2, backoff=0.0)
    assert Flaky.calls == 3


def test_shot_training_learns_bars_and_stripes(tmp_path):
    """With 2,000 shots per circuit the QCBM's valid-pattern rate rises well above the untrained one."""
    tpath = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 100}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "layers": 2, "device": {"name": "lightning.qubit", "shots": 2000},
            "optimizer": {"name": "adam", "lr": 0.1, "steps": 40}, "n_samples": 2000, "checkpoint_every": 0}
    model = read_artefact(run_training(spec, tpath, 0, tmp_path / "m.h5"))
    target = read_artefact(tpath)["probs"]
    valid = lambda probs: probs[target > 0].sum()  # noqa: E731
    untrained = make_ansatz("hardware_efficient", 4, 2)
    p0 = CircuitRunner(make_device({}, 4), 4).probs(
        QCBM(untrained).ops(untrained.init_params(np.random.default_rng([0, 1]), np.pi))
    )
    assert valid(model["probs"]) > valid(p0) + 0.25
    assert model.attrs["gradient"] == "parameter_shift" and model["samples"].shape == (2000, 4)


def test_qiskit_aer_plugin_runs_shot_training(tmp_path):
    """A real PennyLane plugin device (qiskit.aer) trains a small model with shots."""
    pytest.importorskip("pennylane_qiskit", reason="the hardware extra is not installed")
    tpath = run_target({"kind": "uniform", "n_bits": 2, "n_samples": 100}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "layers": 1, "device": {"name": "qiskit.aer", "shots": 500},
            "optimizer": {"name": "adam", "lr": 0.2, "steps": 5}, "n_samples": 300, "checkpoint_every": 0}
    model = read_artefact(run_training(spec, tpath, 0, tmp_path / "m.h5"))
    assert model.attrs["device"] == "qiskit.aer" and model["samples"].shape == (300, 2)
    assert np.all(np.isfinite(model["history/loss"]))


def test_qiskit_aer_shots_are_reproducible_from_the_seed(tmp_path):
    """The same config and seed on qiskit.aer gives the same samples and losses; another seed does not."""
    pytest.importorskip("pennylane_qiskit", reason="the hardware extra is not installed")
    tpath = run_target({"kind": "uniform", "n_bits": 2, "n_samples": 100}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "layers": 1, "device": {"name": "qiskit.aer", "shots": 200},
            "optimizer": {"name": "adam", "lr": 0.2, "steps": 3}, "n_samples": 200, "checkpoint_every": 0}
    runs = [read_artefact(run_training(spec, tpath, seed, tmp_path / f"m{i}.h5")) for i, seed in enumerate((4, 4, 5))]
    for key in ("samples", "history/loss", "params/theta"):
        assert np.array_equal(runs[0][key], runs[1][key]), key
    assert not np.array_equal(runs[0]["samples"], runs[2]["samples"])


def test_qiskit_devices_are_seeded_by_their_own_keyword():
    """qiskit.aer is seeded through seed_simulator (its seed keyword is ignored), lightning through seed."""
    from qgenflow.devices import seed_keyword

    assert seed_keyword("qiskit.aer") == "seed_simulator"
    assert seed_keyword("lightning.qubit") == "seed"
    assert seed_keyword("qiskit.remote") is None
