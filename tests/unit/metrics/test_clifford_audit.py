"""The advantage audit flags Clifford Born machines as classically simulable (Gottesman-Knill), at any size."""

from __future__ import annotations

import numpy as np

from qgenflow.io import read_artefact
from qgenflow.metrics.advantage import decision_rule, summarise
from qgenflow.metrics.audit import audit_model, model_circuit, model_state, training_method
from qgenflow.metrics.verdict import Comparison, Verdict
from qgenflow.models import make_ansatz
from qgenflow.models.result import TrainedModel
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training, write_trained_model
from qgenflow.train.clifford import sample_circuit

#: Agreement of two exact computations of the same quantity.
EXACT = 1e-10
SIGMAS = [0.5, 1.0, 2.0]
CLIFFORD = {"kind": "clifford", "layers": 2, "steps": 30, "shots": 200, "checkpoint_every": 0, "n_samples": 300}
IQP_FACTS = {"kind": "iqp", "quantum": False, "sampling_class": "IQP circuits"}
GOTTESMAN_KNILL = "every gate is Clifford, so it is simulable by the Gottesman-Knill theorem"


def quantum_wins() -> Verdict:
    """A verdict in which the quantum model ``q`` wins the primary comparison."""
    comparison = Comparison("mmd2_samples", "q", "c", 0.1, 0.2, 1.0, 0.01, 3, "paired t", 0.001, 0.001, True)
    return Verdict("quantum better", "mmd2_samples", 0.05, (comparison,), (), ())


def test_trained_clifford_model_is_audited_as_clifford(tmp_path):
    """A Clifford model trained by the workflow's stage: rebuilt to its /probs, flagged Clifford, decision says so."""
    target = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}, 0, tmp_path / "t.h5")
    model = read_artefact(run_training(CLIFFORD, target, 0, tmp_path / "m.h5"))
    assert model.attrs["model_kind"] == "clifford" and model.attrs["ansatz"] == "clifford"
    ops, n = model_circuit(model, read_artefact(target))
    np.testing.assert_allclose(np.abs(model_state(ops, n)) ** 2, model["probs"], atol=EXACT)
    record = audit_model(model, read_artefact(target), SIGMAS)
    assert record["clifford"] is True and record["method"] == "discrete search, shots on default.clifford"
    # A stabiliser state: 2^S equal Schmidt coefficients at every cut.
    np.testing.assert_allclose(record["entropies"], np.round(record["entropies"]), atol=1e-9)
    row = summarise("q", [{**record, "peak_memory_mb": 100.0}], [], "mmd2_samples")
    assert row["clifford"] is True
    text = decision_rule("bas2x2", IQP_FACTS, [row], quantum_wins())
    assert GOTTESMAN_KNILL in text and "no quantum advantage is shown" in text


def test_two_hundred_qubit_clifford_model_is_flagged_without_a_state(write_target, tmp_path, rng):
    """At 200 qubits no state is built, yet the audit flags the circuit Clifford and the decision names
    Gottesman-Knill; the same row unflagged would read as possibly needing a device."""
    n = 200
    ansatz = make_ansatz("clifford", n, 3)
    gates = ansatz.init_params(rng, 1.0)
    samples = sample_circuit(ansatz.ops(gates), n, 300, {"name": "default.clifford"}, 0, 0, 0)
    tpath = write_target(rng.integers(0, 2, (300, n), dtype=np.uint8))
    attrs = {"ansatz": "clifford", "gradient": "search", "device": "default.clifford"}
    result = TrainedModel(params={"theta": gates}, history={"step": np.arange(2), "loss": np.array([0.2, 0.1])},
                          probs=None, samples=samples, n_params=gates.size, seconds=3.0, seconds_per_step=1.5,
                          attrs=attrs)
    spec = {"kind": "clifford", "layers": 3}
    model = read_artefact(write_trained_model(result, tmp_path / "m.h5", spec, 0, tpath, n))
    record = audit_model(model, read_artefact(tpath), SIGMAS)
    assert record["clifford"] is True and record["state_built"] is False and record["n_params"] == 600
    row = summarise("q", [record], [], "mmd2_samples")
    text = decision_rule("big", IQP_FACTS, [row], quantum_wins())
    assert f"no, at {n} qubits: {GOTTESMAN_KNILL}" in text
    assert "a quantum advantage is plausible" not in text
    unflagged = decision_rule("big", IQP_FACTS, [{**row, "clifford": False}], quantum_wins())
    assert "possibly" in unflagged and "a quantum advantage is plausible" in unflagged


def test_training_method_names_the_search():
    """The audit's method column says how a Clifford model was trained."""
    assert training_method({"gradient": "search", "device": "default.clifford"}) == (
        "discrete search, shots on default.clifford"
    )
