"""The one Runner protocol: every implementation gives the same probabilities, gradients and samples."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest

from qgenflow.circuits import CircuitRunner, ExpvalRunner, FastAdjointRunner, Runner, ShotRunner
from qgenflow.devices import make_device

N = 3


def _ops(theta):
    return [qml.RY(theta[0], 0), qml.RY(theta[1], 1), qml.CNOT([1, 2]), qml.RZ(theta[2], 2), qml.RY(theta[3], 2)]


def _runners():
    return {
        "exact": CircuitRunner(make_device({"name": "lightning.qubit"}, N), N, seed=5),
        "numba": FastAdjointRunner(N, seed=5),
        "expval": ExpvalRunner({"name": "lightning.qubit"}, N, 5),
        "shots": ShotRunner({"name": "default.qubit"}, N, 4000, 5),
    }


@pytest.mark.parametrize("name", ["exact", "numba", "expval", "shots"])
def test_every_runner_follows_the_protocol(name):
    runner = _runners()[name]
    assert isinstance(runner, Runner)
    theta = np.array([0.3, -1.1, 0.7, 2.0])
    reference = _runners()["exact"]
    p = runner.probs(_ops(theta))
    assert p.shape == (2**N,) and np.isclose(p.sum(), 1.0)
    diag = np.linspace(-1.0, 1.0, 2**N)
    g, g_ref = runner.diagonal_grad(_ops(theta), diag, 0), reference.diagonal_grad(_ops(theta), diag)
    if name == "shots":  # parameter shift on 4000 shots: within a few standard errors
        np.testing.assert_allclose(p, reference.probs(_ops(theta)), atol=0.05)
        np.testing.assert_allclose(g, g_ref, atol=0.15)
    else:
        np.testing.assert_allclose(p, reference.probs(_ops(theta)), atol=1e-10)
        np.testing.assert_allclose(g, g_ref, atol=1e-9)
    first, again, other = (runner.samples(_ops(theta), step, 500) for step in (7, 7, 8))
    assert first.shape == (500, N) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
