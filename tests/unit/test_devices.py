"""Noise models named in the config: resolved to qiskit-aer NoiseModels before qml.device, refused before any job."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest

from qgenflow.devices import build_noise_model, check_noise_model, fake_backend_names, make_device
from qgenflow.errors import InvalidConfigError
from qgenflow.plan import check_config, check_schema

pytest.importorskip("pennylane_qiskit", reason="the hardware extra is not installed")
pytest.importorskip("qiskit_ibm_runtime", reason="the hardware extra is not installed")

SHOTS = 20000
#: Binomial standard errors a sampled frequency may stray from its closed form.
SIGMAS = 4.0


def _frequencies(spec: dict, ops: list, n: int, seed: int = 3) -> np.ndarray:
    device = make_device(spec, n, seed=seed)
    tape = qml.tape.QuantumScript(ops, [qml.sample(wires=range(n))], shots=SHOTS)
    return np.asarray(device.execute([tape])[0]).mean(axis=0)


def test_uniform_noise_model_has_the_named_channels():
    """depolarizing, depolarizing_2q and readout put errors on sx/x, cx and measure, and nothing else."""
    model = build_noise_model({"depolarizing": 0.01, "depolarizing_2q": 0.02, "readout": 0.03})
    assert sorted(model.noise_instructions) == ["cx", "measure", "sx", "x"]
    assert sorted(build_noise_model({"readout": 0.03}).noise_instructions) == ["measure"]
    readout = [e for e in model.to_dict()["errors"] if e["type"] == "roerror"]
    np.testing.assert_allclose(readout[0]["probabilities"], [[0.97, 0.03], [0.03, 0.97]])


def test_uniform_noise_flips_bits_at_the_closed_form_rate():
    """X then readout: P(1) = (1 - p/2)(1 - r) + (p/2) r (depolarizing p keeps the state with 1 - p/2);
    an untouched qubit reads 1 with probability r."""
    p, r = 0.1, 0.05
    freq = _frequencies({"name": "qiskit.aer", "noise_model": {"depolarizing": p, "readout": r}}, [qml.PauliX(0)], 2)
    expected = np.array([(1 - p / 2) * (1 - r) + p / 2 * r, r])
    assert np.all(np.abs(freq - expected) < SIGMAS * np.sqrt(expected * (1 - expected) / SHOTS))


def test_backend_noise_model_is_the_fake_backends_own():
    """{backend: FakeManilaV2} is NoiseModel.from_backend of that fake backend: 5 noisy qubits, cx on coupled pairs."""
    from qiskit_aer.noise import NoiseModel
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    model = build_noise_model({"backend": "FakeManilaV2"})
    assert model == NoiseModel.from_backend(FakeManilaV2())
    assert model.noise_qubits == [0, 1, 2, 3, 4] and {"cx", "measure"} <= set(model.noise_instructions)
    assert "FakeManilaV2" in fake_backend_names() and "FakeBrisbane" in fake_backend_names()


def test_noisy_device_is_seeded_through_seed_simulator():
    """The same seed gives the same noisy shots on qiskit.aer; another seed does not."""
    spec = {"name": "qiskit.aer", "noise_model": {"backend": "FakeManilaV2"}}
    ops = [qml.Hadamard(0), qml.CNOT([0, 1])]
    assert np.array_equal(_frequencies(spec, ops, 2, seed=5), _frequencies(spec, ops, 2, seed=5))
    assert not np.array_equal(_frequencies(spec, ops, 2, seed=5), _frequencies(spec, ops, 2, seed=6))


def _config(device: dict, **extra) -> dict:
    return {"targets": {"t": {"kind": "bars_and_stripes", "rows": 2, "cols": 2}},
            "models": {"q": {"kind": "qcbm", "device": device}}, "studies": [{"targets": ["t"], "models": ["q"]}], **extra}


@pytest.mark.parametrize(
    "device, key, message",
    [
        ({"name": "qiskit.aer", "noise_model": {"backend": "FakeNowhere"}}, "models.q.device.noise_model.backend",
         "unknown fake backend 'FakeNowhere'; allowed: .*FakeManilaV2"),
        ({"name": "qiskit.aer", "options": {"noise_model": {"backend": "FakeManilaV2"}}},
         "models.q.device.options.noise_model", "name it as device.noise_model"),
        ({"name": "lightning.qubit", "noise_model": {"readout": 0.1}}, "models.q.device.noise_model",
         "takes no noise model; devices that do: qiskit.aer"),
    ],
)
def test_bad_noise_models_are_refused_before_any_job(device, key, message):
    """An unknown backend, a noise model written in options, or one on a device without noise: the key is named."""
    with pytest.raises(InvalidConfigError, match=message) as info:
        check_config(_config(device))
    assert info.value.key == key


def test_the_schema_refuses_unknown_noise_keys_and_mixed_kinds():
    """A noise model is a backend or error rates, never both, and only the known rates."""
    for noise in ({"backend": "FakeManilaV2", "readout": 0.1}, {"amplitude_damping": 0.1}, {}):
        with pytest.raises(InvalidConfigError, match="noise_model"):
            check_schema(_config({"name": "qiskit.aer", "noise_model": noise}))
    check_schema(_config({"name": "qiskit.aer", "noise_model": {"backend": "FakeManilaV2"}}))


def test_deploy_section_is_checked_before_any_job():
    """Two deploy devices with one label, or a deployed model that is not a circuit, are refused by key."""
    aer = {"name": "qiskit.aer"}
    with pytest.raises(InvalidConfigError, match="also the label of deploy.devices") as info:
        check_config(_config({}, deploy={"devices": [aer, aer]}))
    assert info.value.key == "deploy.devices[1].label"
    with pytest.raises(InvalidConfigError, match="not a circuit model") as info:
        check_config(_config({}, deploy={"devices": [aer], "models": ["rbm"]}))
    assert info.value.key == "deploy.models"
    with pytest.raises(InvalidConfigError, match="unknown fake backend") as info:
        check_noise_model("deploy.devices[0]", {"name": "qiskit.aer", "noise_model": {"backend": "Fake"}})
    assert info.value.key == "deploy.devices[0].noise_model.backend"
