"""Adjoint gradients of diagonal observables against parameter-shift."""

import numpy as np
import pytest

from qgenflow.devices import make_device
from qgenflow.models import QCBM, make_ansatz
from qgenflow.circuits import CircuitRunner

TOL = 1e-8


@pytest.fixture
def setup(rng):
    """A 4-qubit, 2-layer QCBM with random angles and a random diagonal observable."""
    model = QCBM(make_ansatz("hardware_efficient", 4, 2))
    params = model.init_params(rng, np.pi)
    diag = rng.normal(size=16)
    runner = CircuitRunner(make_device({"name": "lightning.qubit"}, 4), 4)
    return model, params, diag, runner


def test_probs_are_normalised(setup):
    """Born probabilities sum to one."""
    model, params, _, runner = setup
    p = runner.probs(model.ops(params))
    assert p.shape == (16,) and p.sum() == pytest.approx(1.0, abs=TOL) and p.min() >= 0


def test_adjoint_matches_parameter_shift(setup):
    """Every angle's adjoint derivative equals the two-term parameter-shift rule."""
    model, params, diag, runner = setup
    grad = runner.diagonal_grad(model.ops(params), diag).reshape(model.shape)
    flat = params.ravel()
    for k in range(flat.size):
        plus, minus = flat.copy(), flat.copy()
        plus[k] += np.pi / 2
        minus[k] -= np.pi / 2
        f_plus = diag @ runner.probs(model.ops(plus.reshape(model.shape)))
        f_minus = diag @ runner.probs(model.ops(minus.reshape(model.shape)))
        assert grad.ravel()[k] == pytest.approx((f_plus - f_minus) / 2, abs=TOL)
