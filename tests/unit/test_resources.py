"""Memory requests of statevector jobs at 24-28 qubits (qgenflow.plan.job_resources)."""

import pytest

from qgenflow.limits import MAX_NUMBA_QUBITS, NUMBA_STEP_BYTES_PER_AMPLITUDE
from qgenflow.plan import job_resources

QCBM = {"kind": "qcbm", "layers": 6, "optimizer": {"steps": 500}}
GIB = 1024  # MB


@pytest.mark.parametrize("n", [24, 26, 28])
@pytest.mark.parametrize("target", [{"kind": "uniform"}, {"kind": "file"}])
def test_numba_qcbm_asks_for_its_measured_step_memory(n, target):
    """A numba-trained QCBM asks for the step's measured peak (~57 B per amplitude: 3.9 GiB at 26
    qubits) whether or not its target holds probabilities, and fits a 24 GiB machine at 28."""
    mem = job_resources("train", {**target, "n_bits": n}, QCBM)["mem_mb"]
    assert mem >= 57 * 2**n / 2**20 + 300  # the measured peak, Python and numba included
    assert mem >= NUMBA_STEP_BYTES_PER_AMPLITUDE * 2**n / 2**20
    if n == 28:
        assert mem < 20 * GIB
    assert MAX_NUMBA_QUBITS >= 28


def test_engine_decides_the_request():
    """lightning's adjoint keeps its own (larger) estimate; a shot-trained or estimator QCBM gets no numba term."""
    target = {"kind": "uniform", "n_bits": 24}
    numba = job_resources("train", target, QCBM)["mem_mb"]
    lightning = job_resources("train", target, {**QCBM, "training": {"engine": "lightning"}})["mem_mb"]
    assert lightning >= numba
    shots = {**QCBM, "device": {"name": "lightning.qubit", "shots": 1000}}
    file_target = {"kind": "file", "n_bits": 26}
    assert job_resources("train", file_target, shots)["mem_mb"] < job_resources("train", file_target, QCBM)["mem_mb"]
    estimator = {**QCBM, "training": {"method": "estimator"}}
    assert job_resources("train", file_target, estimator)["mem_mb"] == 1500


def test_iqp_shot_target_asks_for_the_statevector():
    """An IQP target sampled with lightning shots at 28 qubits needs ~13 GiB (3.3 GiB measured at 26)."""
    mem = job_resources("targets", {"kind": "iqp", "n_qubits": 28, "method": "shots"})["mem_mb"]
    assert mem >= 13 * GIB


@pytest.mark.parametrize(
    "target, model",
    [
        ({"kind": "tfim", "lattice": [64], "method": "dmrg"}, {"kind": "autoregressive"}),
        ({"kind": "tfim", "lattice": [64], "method": "dmrg"}, {"kind": "product"}),
        ({"kind": "iqp", "n_qubits": 1000}, {"kind": "qcbm", "ansatz": "iqp", "training": {"method": "estimator"}}),
    ],
)
def test_models_that_never_build_a_statevector_ask_for_polynomial_time(target, model):
    """A 64-bit MADE once asked for 2^64-scaled minutes (10^14) from the statevector formula."""
    runtime = job_resources("train", target, model)["runtime"]
    assert 10 <= runtime < 24 * 60


def test_a_statevector_qcbm_time_still_grows_as_two_to_the_n():
    small = job_resources("train", {"kind": "iqp", "n_qubits": 16}, {"kind": "qcbm"})["runtime"]
    large = job_resources("train", {"kind": "iqp", "n_qubits": 24}, {"kind": "qcbm"})["runtime"]
    assert large > 100 * (small - 10)
