"""Ansätze by import path: PennyLane templates and a user's own circuit function (qgenflow.models.custom)."""

import numpy as np
import pennylane as qml
import pytest

from qgenflow.circuits import CircuitRunner, FastAdjointRunner
from qgenflow.devices import make_device
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.metrics.audit import model_ansatz
from qgenflow.models import QCBM, make_ansatz
from qgenflow.models.ansatz import check_ansatz_name
from qgenflow.plan import check_config
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training
from qgenflow.targets import make_target
from qgenflow.train import train

TOL_PROBS = 1e-12  # two exact simulations of the same circuit
TOL_GRAD = 1e-7  # pulled-back adjoint gradient vs central finite difference with step FD_STEP
FD_STEP = 1e-6
USER = "tests.unit.models.byo_ansatz"

TEMPLATES = [
    ("StronglyEntanglingLayers", {}, "numba"),
    ("StronglyEntanglingLayers", {"ranges": [1, 2], "imprimitive": "CZ"}, "numba"),
    ("BasicEntanglerLayers", {"rotation": "RY"}, "numba"),
    ("SimplifiedTwoDesign", {}, "numba"),
    ("ParticleConservingU2", {"init_state": [1, 1, 0, 0]}, "numba"),  # CRX(2 theta): a non-identity angle map
    ("GateFabric", {"init_state": [1, 1, 0, 0]}, "lightning"),  # DoubleExcitation: no numba kernel
]


@pytest.fixture
def runner4():
    """Probabilities and adjoint gradients on 4 qubits of lightning.qubit."""
    return CircuitRunner(make_device({"name": "lightning.qubit"}, 4), 4)


def finite_difference(model, runner, theta, diag):
    """Central differences of sum_x diag[x] p(x) with respect to every parameter."""
    out = np.zeros(theta.size)
    for i in range(theta.size):
        step = np.zeros(theta.size)
        step[i] = FD_STEP
        plus = runner.probs(model.ops(theta + step.reshape(theta.shape))) @ diag
        minus = runner.probs(model.ops(theta - step.reshape(theta.shape))) @ diag
        out[i] = (plus - minus) / (2 * FD_STEP)
    return out.reshape(theta.shape)


@pytest.mark.parametrize("template, options, engine", TEMPLATES)
def test_template_probs_equal_pennylane_default_qubit(template, options, engine, rng, runner4):
    """Probabilities of the decomposed template equal qml.probs of the template itself on default.qubit."""
    ansatz = make_ansatz(f"pennylane:{template}", 4, 2, options)
    cls = getattr(qml, template)
    shapes = cls.shape(n_layers=2, n_wires=4)
    expected_shape = shapes if np.isscalar(shapes[0]) else (sum(int(np.prod(s)) for s in shapes),)
    assert ansatz.shape == tuple(expected_shape) and ansatz.name == f"pennylane:{template}"
    theta = rng.uniform(-np.pi, np.pi, size=ansatz.shape)
    kwargs = {k: getattr(qml, v) if v in ("CZ", "RY") else v for k, v in options.items()}

    @qml.qnode(qml.device("default.qubit", wires=4))
    def reference():
        cls(*ansatz.split(theta), wires=range(4), **kwargs)
        return qml.probs(wires=range(4))

    np.testing.assert_allclose(runner4.probs(QCBM(ansatz).ops(theta)), reference(), rtol=0, atol=TOL_PROBS)
    assert FastAdjointRunner(4).supports(QCBM(ansatz).ops(theta)) == (engine == "numba")


@pytest.mark.parametrize("name, options", [("pennylane:ParticleConservingU2", {"init_state": [1, 1, 0, 0]}),
                                           ("pennylane:GateFabric", {"init_state": [1, 1, 0, 0]}),
                                           (f"{USER}:build", {"scale": 0.5, "entangler": "CZ"}),
                                           (f"{USER}:build_phase", {})])
def test_gradient_through_the_angle_map(name, options, rng, runner4):
    """QCBM.param_grad of the adjoint gate-angle gradient equals finite differences in the parameters."""
    model = QCBM(make_ansatz(name, 4, 2, options))
    theta = rng.uniform(-np.pi, np.pi, size=model.shape)
    diag = rng.normal(size=16)
    ops = model.ops(theta)
    grad = model.param_grad(theta, runner4.diagonal_grad(ops, diag))
    np.testing.assert_allclose(grad, finite_difference(model, runner4, theta, diag), atol=TOL_GRAD)


def test_user_ansatz_trains_through_train_and_is_rebuilt(tmp_path):
    """A user's build function trains through qgenflow.train (loss falls) and model.h5 rebuilds the same circuit."""
    tpath = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}, 0, tmp_path / "t.h5")
    spec = {"kind": "qcbm", "ansatz": f"{USER}:build", "ansatz_options": {"scale": 0.5}, "layers": 3,
            "optimizer": {"lr": 0.1, "steps": 60}, "n_samples": 100}
    model = read_artefact(run_training(spec, tpath, 0, tmp_path / "m.h5"))  # the training stage calls train
    loss = model["history/loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert model.attrs["ansatz"] == f"{USER}:build" and model.attrs["gradient_engine"] == "numba"
    ansatz, theta = model_ansatz(model)
    runner = CircuitRunner(make_device({"name": "lightning.qubit"}, 4), 4)
    np.testing.assert_allclose(runner.probs(QCBM(ansatz).ops(theta)), model["probs"], atol=TOL_PROBS)


def test_template_without_numba_gates_trains_on_device_adjoint():
    """A template with DoubleExcitation gates trains on the device's adjoint, and the artefact says so."""
    target = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 50}, 0)
    spec = {"kind": "qcbm", "ansatz": "pennylane:GateFabric", "ansatz_options": {"init_state": [1, 1, 0, 0]},
            "layers": 2, "optimizer": {"lr": 0.1, "steps": 20}, "n_samples": 50}
    trained = train(spec, target, seed=1)
    assert trained.attrs["gradient_engine"] == "lightning"
    assert trained.history["loss"][-1] < trained.history["loss"][0]


def sel_on_bars_and_stripes(rows, cols, layers, steps):
    """StronglyEntanglingLayers trained with KL on bars-and-stripes; (history, KL to target, KL of uniform)."""
    target = make_target({"kind": "bars_and_stripes", "rows": rows, "cols": cols, "n_samples": 10}, 0)
    spec = {"kind": "qcbm", "ansatz": "pennylane:StronglyEntanglingLayers", "layers": layers, "loss": {"type": "kl"},
            "optimizer": {"name": "adam", "lr": 0.05, "steps": steps}, "n_samples": 100, "data_access": "probabilities"}
    trained = train(spec, target, seed=0)
    q = target.probs
    support = q > 0
    kl = float(np.sum(q[support] * np.log(q[support] / np.maximum(trained.probs[support], 1e-300))))
    kl_uniform = float(np.sum(q[support] * np.log(q[support] * q.size)))
    return trained, kl, kl_uniform


def test_strongly_entangling_layers_learn_bars_and_stripes_2x2():
    """SEL on bars-and-stripes 2x2: the loss falls clearly and the model beats the uniform distribution in KL."""
    trained, kl, kl_uniform = sel_on_bars_and_stripes(2, 2, 2, 60)
    assert trained.attrs["gradient_engine"] == "numba"
    assert trained.history["loss"][-1] < 0.5 * trained.history["loss"][0]
    assert kl < 0.5 * kl_uniform


def test_strongly_entangling_layers_learn_bars_and_stripes_3x3():
    """SEL on bars-and-stripes 3x3 (9 qubits): the loss falls clearly and the model beats uniform in KL."""
    trained, kl, kl_uniform = sel_on_bars_and_stripes(3, 3, 3, 150)
    assert trained.history["loss"][-1] < 0.5 * trained.history["loss"][0]
    assert kl < 0.5 * kl_uniform


@pytest.mark.parametrize(
    "name, options, key, words",
    [
        ("nosuchpkg.mod:build", {}, "ansatz", "cannot import module"),
        (f"{USER}:missing", {}, "ansatz", "no attribute"),
        ("tests.unit.models.byo_bad:build_one", {}, "ansatz", "2 positional arguments"),
        ("tests.unit.models.byo_bad:build_two", {}, "ansatz", "must define shape"),
        (f"{USER}:build_numpy", {}, "ansatz", "JAX-traceable"),
        (f"{USER}:build", {"colour": 1}, "ansatz_options", "rejected"),
        ("pennylane:StronglyEntanglingLayers", {"colour": 1}, "ansatz_options.colour", "allowed"),
        ("pennylane:RandomLayers", {}, "ansatz_options.n_rotations", "shape needs"),
        ("pennylane:AngleEmbedding", {}, "ansatz", "neither a PennyLane template"),
        ("pennylane:StronglyEntangling", {}, "ansatz", "no attribute"),
        ("not a name", {}, "ansatz", "unknown ansatz"),
    ],
)
def test_bad_ansatz_is_refused_naming_the_key(name, options, key, words):
    """Unimportable, misnamed or malformed ansätze raise InvalidConfigError naming the key."""
    with pytest.raises(InvalidConfigError) as err:
        make_ansatz(name, 4, 1, options)
    assert err.value.key == key and words in str(err.value)


@pytest.mark.parametrize(
    "name, words",
    [
        ("nosuchpkg.mod:build", "cannot find module"),
        ("pennylane:StronglyEntangling", "defines no 'StronglyEntangling'"),
        ("tests.unit.models.byo_bad:build_one", "must take (params, wires"),
        ("tests.unit.models.byo_bad:build_two", "must define shape"),
    ],
)
def test_config_validation_refuses_bad_import_paths_before_any_job(name, words):
    """check_config names models.<m>.ansatz for an import path that cannot work, without importing it."""
    config = {"targets": {"t": {"kind": "uniform", "n_bits": 3}}, "models": {"m": {"kind": "qcbm", "ansatz": name}},
              "studies": [{"targets": ["t"], "models": ["m"]}]}
    with pytest.raises(InvalidConfigError) as err:
        check_config(config)
    assert err.value.key == "models.m.ansatz" and words in str(err.value)


def test_config_validation_accepts_templates_and_user_functions():
    """Valid import paths pass the static check."""
    for name in ("pennylane:StronglyEntanglingLayers", "pennylane:SimplifiedTwoDesign", f"{USER}:build", "iqp"):
        check_ansatz_name("ansatz", name)
