"""The deploy stage: a trained circuit exported as OpenQASM, sampled on qiskit.aer ideal and noisy, scored."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

from qgenflow.io import read_artefact
from qgenflow.metrics.audit import model_circuit
from qgenflow.metrics.deploy import circuit_qasm, empirical_probs
from qgenflow.plan import artefact_identity, deploy_params
from qgenflow.stages.audit import run_audit
from qgenflow.stages.deploy import run_deploy
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.figure import draw_figure
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training

pytest.importorskip("pennylane_qiskit", reason="the hardware extra is not installed")
pytest.importorskip("qiskit_ibm_runtime", reason="the hardware extra is not installed")

SHOTS = [200, 4000]
EVALUATION = {"n_bootstrap": 20, "n_samples": 4000}
IDEAL = {"name": "qiskit.aer", "options": {}}
NOISY = {"name": "qiskit.aer", "options": {}, "noise_model": {"depolarizing": 0.05, "depolarizing_2q": 0.1, "readout": 0.05}}
#: Smallest chi-square p-value an ideal deployment may give (a false alarm once in 1000 runs).
P_MIN = 1e-3


def _spec(device: dict, label: str) -> dict:
    return {"device": device, "label": label, "shots": SHOTS, "evaluation": EVALUATION}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2x2 bars-and-stripes target and a 2-layer QCBM trained on it for a few steps."""
    folder = tmp_path_factory.mktemp("deploy")
    target = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 4000}, 0, folder / "t.h5")
    spec = {"kind": "qcbm", "layers": 2, "checkpoint_every": 0, "n_samples": 4000, "optimizer": {"steps": 40}}
    return target, run_training(spec, target, 0, folder / "m.h5"), folder


@pytest.fixture(scope="module")
def deployed(trained):
    """The model deployed on ideal and noisy qiskit.aer with the same seed."""
    target, model, folder = trained
    return {label: read_artefact(run_deploy(target, model, _spec(device, label), folder / f"{label}.h5", 0))
            for label, device in (("ideal", IDEAL), ("noisy", NOISY))}


def test_ideal_deployment_reproduces_the_model_probabilities(trained, deployed):
    """4000 ideal shots pass a chi-square test against the model's exact /probs (bins with >= 5 expected)."""
    model = read_artefact(trained[1])
    probs = np.asarray(model["probs"])
    counts = np.bincount(np.asarray(deployed["ideal"]["samples"]) @ (1 << np.arange(3, -1, -1)), minlength=16)
    expected = probs * counts.sum()
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    wanted = np.append(expected[big], expected[~big].sum())
    keep = wanted > 0
    assert stats.chisquare(observed[keep], wanted[keep]).pvalue > P_MIN
    np.testing.assert_allclose(empirical_probs(deployed["ideal"]["samples"], 4), counts / counts.sum())


def test_noisy_deployment_is_measurably_worse_than_ideal(deployed):
    """Same seed and budgets: the noisy device's samples are farther from the model and from the target."""
    ideal, noisy = deployed["ideal"], deployed["noisy"]
    assert noisy["tv_model"][-1] > ideal["tv_model"][-1] + 0.05
    gap = noisy["metrics/mmd2_samples"][-1] - ideal["metrics/mmd2_samples"][-1]
    assert gap > 4 * np.hypot(noisy["metrics_stderr/mmd2_samples"][-1], ideal["metrics_stderr/mmd2_samples"][-1])
    # Ideal sampling's own TV at the largest budget is what the ideal device gives, within a few of its spreads.
    assert abs(ideal["tv_model"][-1] - ideal["tv_model_floor"][-1]) < 0.03


def test_deployment_is_determined_by_the_seed(trained, deployed):
    """The same seed gives the same shots and metrics; another seed other shots."""
    target, model, folder = trained
    again = read_artefact(run_deploy(target, model, _spec(NOISY, "noisy"), folder / "again.h5", 0))
    other = read_artefact(run_deploy(target, model, _spec(NOISY, "noisy"), folder / "other.h5", 1))
    assert np.array_equal(again["samples"], deployed["noisy"]["samples"])
    np.testing.assert_array_equal(again["metrics/mmd2_samples"], deployed["noisy"]["metrics/mmd2_samples"])
    assert not np.array_equal(other["samples"], deployed["noisy"]["samples"])


def test_the_artefact_holds_the_circuit_as_openqasm_and_every_budget(trained, deployed):
    """/qasm, loaded by Qiskit, prepares the model's probabilities; budgets are prefixes of one run."""
    from qiskit import qasm2
    from qiskit.quantum_info import Statevector

    art = deployed["ideal"]
    circuit = qasm2.loads(str(art["qasm"])).remove_final_measurements(inplace=False)
    little = Statevector.from_instruction(circuit).probabilities()
    big_endian = little[[int(f"{i:04b}"[::-1], 2) for i in range(16)]]
    model = read_artefact(trained[1])
    np.testing.assert_allclose(big_endian, model["probs"], atol=1e-10)
    ops, n = model_circuit(model)
    assert str(art["qasm"]) == circuit_qasm(ops, n)
    assert list(art["shots"]) == SHOTS and art["samples"].shape == (SHOTS[-1], 4)
    assert art.attrs["device_label"] == "ideal" and art.attrs["n_gates"] == len(ops)
    assert float(art["model_metrics/mmd2_samples"]) == pytest.approx(
        float(read_artefact(run_evaluation(trained[0], trained[1], EVALUATION, 0, trained[2] / "e.h5"))["mmd2_samples"]))


def test_plan_gives_each_deploy_job_its_slice_and_identity():
    """deploy.h5 is made from the first seed's target and model with the device's slice."""
    config = {"seeds": [3, 4], "evaluation": {"n_samples": 100},
              "deploy": {"devices": [{"name": "qiskit.aer", "noise_model": {"backend": "FakeManilaV2"}}], "shots": [1000, 10]}}
    label = "qiskit_aer_FakeManilaV2"
    params = deploy_params(config, label)
    assert params["shots"] == [10, 1000] and params["device"]["noise_model"] == {"backend": "FakeManilaV2"}
    identity = artefact_identity(config, f"results/deploy/t/q/{label}/deploy.h5")
    assert identity["kind"] == "deploy" and identity["seed"] == 3 and identity["config"] == params
    assert identity["made_from"] == ["results/targets/t/seed3/target.h5", "results/models/t/q/seed3/model.h5"]


def test_figure_and_audit_show_ideal_and_deployed(trained, deployed, tmp_path):
    """The deploy figure draws; the audit table gains the simulated and each device's deployed metric."""
    target, model, folder = trained
    paths = [folder / "ideal.h5", folder / "noisy.h5"]
    draw_figure("deploy", [tmp_path / "deploy.png"], deploy=paths, options={"title": "bas", "deploy_metric": "tv_model"})
    assert (tmp_path / "deploy.png").stat().st_size > 0
    metrics = run_evaluation(target, model, EVALUATION, 0, tmp_path / "metrics.h5", model_name="qcbm")
    outputs = {"audit": tmp_path / "audit.h5", "table": tmp_path / "audit.csv", "rule": tmp_path / "rule.txt"}
    run_audit([target], [model], ["qcbm"], [metrics], {"evaluation": EVALUATION, "verdict": {}}, outputs,
              deploy=paths, deploy_metric="tv_model")
    (row,) = csv.DictReader(open(outputs["table"]))
    assert float(row["tv_model_noisy"]) == pytest.approx(deployed["noisy"]["tv_model"][-1], rel=1e-3)
    assert float(row["tv_model_ideal"]) == pytest.approx(deployed["ideal"]["tv_model"][-1], rel=1e-3)
    assert float(row["tv_model_simulated"]) == pytest.approx(deployed["ideal"]["tv_model_floor"][-1], rel=1e-3)
    assert int(row["deploy_shots"]) == SHOTS[-1]


def test_every_dataset_of_a_deployment_is_described(deployed):
    """deploy.h5 explains each of its datasets (qgenflow.describe), like every other artefact kind."""
    from qgenflow.describe import undescribed

    for art in deployed.values():
        assert undescribed("deploy", list(art.datasets)) == [], art.path
        assert all(art.dataset_attrs[name].get("description") for name in art.datasets), art.path
