"""Self-describing artefacts: every dataset explained, circuits as OpenQASM, `qgenflow inspect` prints both."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pennylane as qml
import pytest
from snakemake.utils import validate

from qgenflow.bits import bits_to_index
from qgenflow.circuits import CircuitRunner
from qgenflow.circuits.qasm import QASM_DATASET, circuit_qasm
from qgenflow.cli import main
from qgenflow.describe import BIT_ORDER, DESCRIPTIONS, Context, describe, undescribed
from qgenflow.devices import make_device
from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.io import ARTEFACT_KINDS, Artefact, read_artefact, write_artefact
from qgenflow.models import make_ansatz
from qgenflow.models.result import TargetData
from qgenflow.plan import SCHEMA_PATH, selection_params, trainability_params, trial_params
from qgenflow.stages.audit import run_audit
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training
from qgenflow.stages.trainability import run_trainability
from qgenflow.stages.tune import run_selection, run_trial

#: Probabilities from the OpenQASM text against those the model stored (both double precision).
PROB_ATOL = 1e-10
SEED = 0
TARGET = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}
FAST = {"training": {"engine": "lightning"}, "n_samples": 100, "checkpoint_every": 0}
QCBM = {"kind": "qcbm", "layers": 1, "optimizer": {"name": "adam", "lr": 0.1, "steps": 3}, **FAST}
STUDY = {
    "seeds": [SEED],
    "tuning": {"trials": 2},
    "evaluation": {"sigmas": [1.0], "n_samples": 100, "n_bootstrap": 10},
    "targets": {"bas": TARGET},
    "models": {
        "rbm": {"kind": "rbm", "optimizer": {"steps": 3}, "n_samples": 100,
                "search": {"optimizer.lr": {"low": 0.01, "high": 0.3, "log": True}}},
        "qcbm": {"kind": "qcbm", "layers": 1, "optimizer": {"steps": 2}},
    },
    "studies": [{"targets": ["bas"], "models": ["rbm", "qcbm"]}],
    "trainability": {"enabled": True, "layers": [1], "initialisations": 3, "shots": [50, 100], "repetitions": 2,
                     "max_qubits": 3},
}
MODELS = {
    "qcbm": QCBM,
    "qcbm_kl": {**QCBM, "loss": {"type": "kl"}},
    "iqp": {**QCBM, "ansatz": "iqp"},
    "clifford": {"kind": "clifford", "layers": 1, "steps": 10, "shots": 50, "n_samples": 100},
    "product": {"kind": "product", "n_samples": 100},
    "qgan": {"kind": "qgan", "flavor": "classical_discriminator", "layers": 1, "n_samples": 100,
             "optimizer": {"name": "adam", "lr": 0.05, "steps": 2}, "log_every": 1},
}


def qiskit_probs(qasm: str, n: int) -> np.ndarray:
    """Big-endian probabilities of an OpenQASM 2.0 program by Qiskit's own parser and statevector (the reference)."""
    qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit.quantum_info import Statevector

    circuit = qasm2.loads(qasm)
    circuit.remove_final_measurements()
    little = Statevector(circuit).probabilities()  # qubit 0 is the least significant bit
    return little.reshape([2] * n).transpose(range(n - 1, -1, -1)).ravel()


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    """A bars-and-stripes 2x2 target."""
    return run_target(TARGET, SEED, tmp_path_factory.mktemp("target") / "target.h5")


@pytest.fixture(scope="module")
def qcbm(target, tmp_path_factory) -> Artefact:
    """A small trained QCBM."""
    return read_artefact(run_training(QCBM, target, SEED, tmp_path_factory.mktemp("qcbm") / "model.h5"))


def _missing(art: Artefact) -> list[str]:
    return [name for name in art.datasets if not art.dataset_attrs.get(name, {}).get("description")]


def test_target_and_model_datasets_explain_themselves(target, qcbm):
    """/probs states the bit order, /params/theta names one axis per dimension, /history/loss names its loss."""
    art = read_artefact(target, kind="target")
    assert _missing(art) == [] and _missing(qcbm) == []
    assert art.dataset_attrs["probs"]["bit_order"] == BIT_ORDER and "big-endian" in BIT_ORDER
    assert art.dataset_attrs["samples"]["axes"] == ["sample", "bit"]
    assert qcbm.dataset_attrs["params/theta"]["axes"] == ["layer", "qubit", "angle"]
    assert len(qcbm.dataset_attrs["params/theta"]["axes"]) == qcbm["params/theta"].ndim
    assert qcbm.dataset_attrs["params/theta"]["units"] == "radian"
    assert qcbm.dataset_attrs["history/loss"]["loss"] == "mmd2 (sigmas=[0.5, 1, 2, 4]), Gaussian kernels on Hamming distance"
    assert qcbm.dataset_attrs["probs"]["bit_order"] == BIT_ORDER


def test_qasm_reproduces_the_stored_probabilities(qcbm):
    """The trained QCBM's OpenQASM, run by Qiskit, gives the probabilities model.h5 stores."""
    n = int(qcbm.attrs["n_qubits"])
    np.testing.assert_allclose(qiskit_probs(qcbm[QASM_DATASET], n), qcbm["probs"], atol=PROB_ATOL)


def test_qasm_bit_order_is_as_recorded():
    """X on wire 0 of 3 is the string 100: index 4 of qgenflow's vector, '001' in Qiskit's counts (c[0] rightmost)."""
    qasm = circuit_qasm([qml.PauliX(0)], 3)
    assert "measure q[0] -> c[0];" in qasm and "x q[0];" in qasm
    probs = qiskit_probs(qasm, 3)
    assert np.argmax(probs) == bits_to_index(np.array([[1, 0, 0]]))[0] == 4
    from qiskit import qasm2
    from qiskit.quantum_info import Statevector

    circuit = qasm2.loads(qasm)
    circuit.remove_final_measurements()
    assert Statevector(circuit).probabilities_dict() == pytest.approx({"001": 1.0})


@pytest.mark.parametrize("ansatz", ["hardware_efficient", "iqp", "symmetry_preserving", "liu_wang"])
def test_qasm_of_every_ansatz_matches_lightning(ansatz, rng):
    """Random angles of each built-in family: OpenQASM through Qiskit equals lightning.qubit's probabilities."""
    n = 4
    circuit = make_ansatz(ansatz, n, 2, target=None if ansatz != "liu_wang" else _uniform_target(n, rng))
    params = circuit.init_params(rng, np.pi)
    ops = circuit.ops(params)
    exact = CircuitRunner(make_device({"name": "lightning.qubit"}, n), n).probs(ops)
    np.testing.assert_allclose(qiskit_probs(circuit_qasm(ops, n), n), exact, atol=PROB_ATOL)


def _uniform_target(n: int, rng: np.random.Generator) -> TargetData:
    """Random training samples, for the Liu-Wang ansatz's Chow-Liu tree."""
    samples = rng.integers(0, 2, size=(200, n)).astype(np.uint8)
    return TargetData(n_qubits=n, samples=samples, probs=None, state=None, config=None, attrs={})


def test_registry_explains_loss_by_model():
    """The loss name follows the model: KL, the IQP estimator, a QGAN's generator, a baseline's own definition."""
    def loss(config, **attrs):
        return describe(Context("history/loss", (3,), "model", {"model_kind": config["kind"], **attrs}, config))["loss"]

    assert loss({"kind": "qcbm", "loss": {"type": "kl"}}).startswith("kl")
    assert "estimator" in loss({"kind": "qcbm", "training": {"method": "estimator"}, "loss": {"sigmas": [2.0]}})
    assert "sigmas=[2.0]" in loss({"kind": "qcbm", "training": {"method": "estimator"}, "loss": {"sigmas": [2.0]}})
    assert loss({"kind": "qgan"}, flavor="quantum_discriminator").startswith("generator loss 1 - P_real")
    assert loss({"kind": "qgan"}, flavor="state_preparation", objective="fidelity").startswith("infidelity")
    assert loss({"kind": "rbm"}, loss_definition="neg_log_pseudo_likelihood") == "neg_log_pseudo_likelihood"
    tuned = {"kind": "qcbm", "loss": {"type": "mmd", "sigmas": [3.0]}}
    assert "sigmas=[3.0]" in loss({"kind": "qcbm"}, trained_config=tuned)


def test_an_unknown_dataset_is_reported_undescribed():
    """A dataset no rule matches is listed (so the every-kind test can fail) and gets no attributes."""
    assert undescribed("target", ["probs", "mystery"]) == ["mystery"]
    assert describe(Context("mystery", (2,), "target")) == {}
    assert set(DESCRIPTIONS) == set(ARTEFACT_KINDS)


def test_writer_attributes_win_and_axes_are_strings(tmp_path):
    """A writer's own dataset attributes override the registry's; axes read back as a list of names."""
    path = write_artefact(tmp_path / "t.h5", "target", {"probs": np.ones(4) / 4}, config={}, seed=0,
                          dataset_attrs={"probs": {"units": "custom"}})
    attrs = read_artefact(path).dataset_attrs["probs"]
    assert attrs["units"] == "custom" and attrs["axes"] == ["bitstring"] and attrs["bit_order"] == BIT_ORDER


def test_inspect_prints_descriptions_and_qasm(qcbm, capsys):
    """`qgenflow inspect` lists each dataset's attributes; --dataset circuit/qasm prints the OpenQASM text."""
    assert main(["inspect", str(qcbm.path)]) == 0
    out = capsys.readouterr().out
    assert "model artefact" in out and "/params/theta: float64 [1, 4, 2]" in out
    assert "axes: [layer, qubit, angle]" in out and "loss: mmd2" in out and "bit_order: bit i = qubit/wire i" in out
    assert main(["inspect", str(qcbm.path), "--dataset", "circuit/qasm"]) == 0
    out = capsys.readouterr().out
    assert "OPENQASM 2.0;" in out and "measure q[3] -> c[3];" in out and "description: the trained circuit" in out
    assert main(["inspect", str(qcbm.path), "-d", "nope"]) == 1
    assert "no dataset '/nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_every_dataset_of_every_kind_is_described(target, tmp_path):
    """Small runs of every stage: each dataset of each artefact kind has a description; circuits replay in Qiskit."""
    config = copy.deepcopy(STUDY)
    validate(config, str(SCHEMA_PATH))
    arts: list[Artefact] = [read_artefact(target)]
    models = {}
    for name, spec in MODELS.items():
        models[name] = run_training(spec, target, SEED, tmp_path / f"{name}.h5")
        arts.append(read_artefact(models[name]))
    metrics = run_evaluation(target, models["qcbm"], STUDY["evaluation"], SEED, tmp_path / "metrics.h5")
    outputs = {"audit": tmp_path / "audit.h5", "table": tmp_path / "audit.csv", "rule": tmp_path / "rule.txt"}
    run_audit([target], [models["qcbm"]], ["qcbm"], [metrics], {"evaluation": STUDY["evaluation"], "verdict": {}},
              outputs)
    trials = [run_trial(trial_params(config, "bas", "rbm"), target, SEED, k, tmp_path / f"trial{k}.h5", model_name="rbm",
                        target_name="bas") for k in range(2)]
    tuning = run_selection(selection_params(config, "bas", "rbm"), trials, tmp_path / "tuning.h5", model_name="rbm",
                           target_name="bas")
    tuned = run_training({**config["models"]["rbm"], "tuning": {"trials": 2, "override": False, "study_trials": 2}},
                         target, SEED, tmp_path / "tuned.h5", tuning)
    trainability = run_trainability(target, trainability_params(config, "bas"), tmp_path / "trainability.h5", SEED)
    Checkpointer(tmp_path / "ck.h5", 1, {"run": 1}).save(2, np.zeros(3), [np.ones(2)], {"loss": np.ones(5)},
                                                         {"d_state": np.zeros(2)})
    for path in (metrics, outputs["audit"], *trials, tuning, tuned, trainability, tmp_path / "ck.h5"):
        arts.append(read_artefact(path))
    # deploy.h5 needs a PennyLane device run: tests/unit/metrics/test_deploy.py checks its descriptions
    assert {art.kind for art in arts} == set(ARTEFACT_KINDS) - {"deploy"}
    for art in arts:
        assert _missing(art) == [], f"{art.kind} {art.path.name}"
        for name, attrs in art.dataset_attrs.items():
            if "axes" in attrs:
                assert len(attrs["axes"]) == np.ndim(art[name]), f"{art.path.name}:/{name}"
        if QASM_DATASET in art:
            n = int(art.attrs["n_qubits"])
            np.testing.assert_allclose(qiskit_probs(art[QASM_DATASET], n), art["probs"], atol=PROB_ATOL)
    qasm_models = {art.path.stem for art in arts if QASM_DATASET in art}
    assert qasm_models == {"qcbm", "qcbm_kl", "iqp", "clifford", "qgan"}
