"""Trainability diagnostics: gradient variance against independent gradients, its decay with qubits, shot noise."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
from pennylane import numpy as pnp

from qgenflow.bits import all_bitstrings, sample_from_probs
from qgenflow.circuits import CircuitRunner
from qgenflow.metrics.trainability import (
    default_qubits,
    diagnose_model,
    fit_decay,
    gradient_samples,
    reference_distribution,
    shot_noise,
    variance_summary,
)
from qgenflow.models import QCBM, make_ansatz
from qgenflow.models.result import TargetData
from qgenflow.rng import make_rng
from qgenflow.schema import with_defaults

#: Agreement of two exact gradient computations (float64 statevectors).
GRAD_ATOL = 1e-10
#: Relative tolerance of a std over 50 draws (its own spread ~ 1/sqrt(2 * 50) = 10 %, three of those).
SHOT_STD_RTOL = 0.3
SIGMAS = (0.5, 1.0, 2.0)
#: Central-difference step and the agreement it allows (truncation ~ step^2, rounding ~ 1e-16 / step).
FD_STEP, FD_ATOL = 1e-5, 1e-8


def _target(n: int, seed: int, exact: bool = True) -> TargetData:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(2**n))
    samples = sample_from_probs(probs, 4000, rng)
    return TargetData(n_qubits=n, samples=samples, probs=probs if exact else None, state=None, config=None, attrs={})


def _hea(**extra) -> dict:
    return with_defaults("models", {"kind": "qcbm", "ansatz": "hardware_efficient", "loss": {"type": "mmd", "sigmas": list(SIGMAS)},
                                    **extra})


def test_reference_is_the_marginal_on_the_first_bits(seed):
    """The reference at n bits sums the target over its last bits; from samples, it is their first n columns' histogram."""
    data = _target(4, seed)
    explicit = np.zeros(4)
    for x, p in zip(all_bitstrings(4), data.probs):
        explicit[2 * x[0] + x[1]] += p
    np.testing.assert_allclose(reference_distribution(data, 2), explicit, atol=1e-15)
    sampled = _target(4, seed, exact=False)
    counts = np.bincount(2 * sampled.samples[:, 0] + sampled.samples[:, 1], minlength=4)
    np.testing.assert_allclose(reference_distribution(sampled, 2), counts / counts.sum())
    with pytest.raises(ValueError, match="no marginal on 5 bits"):
        reference_distribution(data, 5)


def _kernel_matrix(n: int, sigmas=SIGMAS) -> np.ndarray:
    """The mixture kernel written out as a 2^n x 2^n matrix of Hamming distances."""
    bits = all_bitstrings(n).astype(float)
    hamming = np.abs(bits[:, None, :] - bits[None, :, :]).sum(-1)
    return sum(np.exp(-hamming / (2 * s**2)) for s in sigmas) / len(sigmas)


def _pennylane_gradients(n: int, layers: int, q: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
    """dMMD^2/dtheta by autograd on default.qubit, circuit and kernel matrix written out independently."""
    kernel = _kernel_matrix(n)

    @qml.qnode(qml.device("default.qubit", wires=n), diff_method="backprop")
    def probs(theta):
        for layer in range(layers):
            for w in range(n):
                qml.RY(theta[layer, w, 0], wires=w)
                qml.RZ(theta[layer, w, 1], wires=w)
            for w in range(n - 1):
                qml.CNOT(wires=[w, w + 1])
        return qml.probs(wires=range(n))

    def loss(theta):
        d = probs(theta) - q
        return d @ kernel @ d

    return np.array([np.asarray(qml.grad(loss)(pnp.array(p, requires_grad=True))).reshape(-1) for p in params])


def test_gradients_and_variance_match_pennylane_autograd(seed):
    """Every sampled gradient (and so the variance) equals qml.grad of an independently written MMD^2 loss."""
    n, layers, k = 3, 2, 6
    data = _target(n, seed)
    result = gradient_samples(_hea(), data, n, layers, k, seed)
    rng = make_rng(seed, "trainability_init", n, layers)
    params = [rng.uniform(-np.pi, np.pi, size=(layers, n, 2)) for _ in range(k)]
    expected = _pennylane_gradients(n, layers, data.probs, params)
    np.testing.assert_allclose(result["grads"], expected, atol=GRAD_ATOL)
    var = variance_summary(result["grads"])
    assert var["mean"] == pytest.approx(np.var(expected, axis=0, ddof=1).mean(), rel=1e-8)
    assert var["first"] == pytest.approx(np.var(expected[:, 0], ddof=1), rel=1e-8)
    assert result["method"] == "numba"


def test_iqp_gradients_match_finite_differences(seed):
    """The IQP ansatz (gate angles twice its parameters) gets dL/dtheta, as central differences of its loss say."""
    spec, data = with_defaults("models", {"kind": "qcbm", "ansatz": "iqp", "layers": 1}), _target(3, seed)
    grads = gradient_samples(spec, data, 3, 1, 1, seed)["grads"][0]
    model = QCBM(make_ansatz("iqp", 3, 1))
    theta = model.init_params(make_rng(seed, "trainability_init", 3, 1), np.pi).ravel()
    runner, kernel = CircuitRunner(qml.device("default.qubit", wires=3), 3), _kernel_matrix(3, (0.5, 1, 2, 4))

    def loss(t):
        d = runner.probs(model.ops(t)) - data.probs
        return d @ kernel @ d

    steps = np.eye(theta.size) * FD_STEP
    expected = [(loss(theta + h) - loss(theta - h)) / (2 * FD_STEP) for h in steps]
    np.testing.assert_allclose(grads, expected, atol=FD_ATOL)


def test_deep_hardware_efficient_gradients_vanish_exponentially(seed):
    """With layers >= n the hardware-efficient ansatz's gradient variance decays with n (fitted slope < -0.5 per qubit)."""
    data = _target(8, seed)
    qubits = [2, 4, 6, 8]
    variances = [variance_summary(gradient_samples(_hea(), data, n, 8, 40, seed)["grads"])["mean"] for n in qubits]
    slope, _ = fit_decay(qubits, variances)
    assert all(np.diff(variances) < 0)
    assert slope < -0.5


def test_fit_decay_recovers_an_exact_exponential():
    """Var = 3 * 2^(-1.5 n) gives slope -1.5 and intercept log2 3; non-positive and NaN points are left out."""
    n = np.array([2, 4, 6, 8, 10])
    slope, intercept = fit_decay(n, np.where(n == 10, np.nan, 3 * 2.0 ** (-1.5 * n)))
    assert slope == pytest.approx(-1.5) and intercept == pytest.approx(np.log2(3))
    assert np.isnan(fit_decay([2, 4], [1e-3, 0.0])[0])


def test_shot_noise_falls_as_one_over_sqrt_shots(seed):
    """sqrt(shots) * std of the unbiased shot MMD tends to its closed form 2 sd_{x~p}[(K(p-q))(x)]; its mean is exact."""
    data, spec, repetitions = _target(4, seed), _hea(layers=2), 50
    noise = shot_noise(spec, data, [1000, 4000, 16000], repetitions, seed)
    model = QCBM(make_ansatz("hardware_efficient", 4, 2))
    p = CircuitRunner(qml.device("default.qubit", wires=4), 4).probs(
        model.ops(model.init_params(make_rng(seed, "model_init"), np.pi)))
    witness = _kernel_matrix(4) @ (p - data.probs)
    asymptotic = 2 * np.sqrt(p @ witness**2 - (p @ witness) ** 2)
    np.testing.assert_allclose(noise["std"] * np.sqrt(noise["shots"]), asymptotic, rtol=SHOT_STD_RTOL)
    assert noise["exact"] == pytest.approx((p - data.probs) @ witness, rel=1e-10)
    assert np.all(np.abs(noise["mean"] - noise["exact"]) < 4 * noise["std"] / np.sqrt(repetitions))


def test_parameter_shift_gradients_from_shots_estimate_the_exact_ones(seed):
    """A model with device shots gets parameter-shift gradients from shots, close to the exact adjoint ones."""
    data = _target(2, seed)
    exact = gradient_samples(_hea(layers=1), data, 2, 1, 3, seed)
    shots = gradient_samples(_hea(layers=1, device={"name": "lightning.qubit", "shots": 20000}), data, 2, 1, 3, seed)
    assert shots["method"] == "parameter_shift"
    np.testing.assert_allclose(shots["grads"], exact["grads"], atol=0.03)
    assert not np.allclose(shots["grads"], exact["grads"], atol=1e-9)


def test_points_that_cannot_be_computed_are_skipped_with_a_reason(seed):
    """A qubit count above the target's width is skipped and recorded, its variances NaN; the rest is computed."""
    settings = with_defaults("trainability", {"qubits": [2, 5], "layers": [1], "initialisations": 4, "shots": [50],
                                              "repetitions": 3})
    datasets, fits, skipped = diagnose_model(_hea(layers=1), _target(3, seed), settings, seed)
    assert skipped == [{"n_qubits": 5, "layers": 1, "reason": "wider than the target (3 bits): no marginal to fit"}]
    assert np.isfinite(datasets["var_mean"][0, 0]) and np.isnan(datasets["var_mean"][1, 0])
    assert datasets["grads/n2_l1"].shape == (4, 4) and "grads/n5_l1" not in datasets
    assert np.isnan(fits["slope_mean"][0]) and fits["methods"] == ["numba"]
    assert datasets["shot_noise/losses"].shape == (1, 3)


def test_default_qubit_scan():
    """Even counts up to min(width, max); every count from 1 for narrow targets."""
    assert default_qubits(16, 14) == [2, 4, 6, 8, 10, 12, 14]
    assert default_qubits(9, 14) == [2, 4, 6, 8]
    assert default_qubits(4, 14) == [1, 2, 3, 4]
