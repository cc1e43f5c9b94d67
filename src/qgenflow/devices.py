"""PennyLane device factory and resilient execution: every device is built here.

``device: {name, shots, seed, options, noise_model}`` builds any installed PennyLane
device (``lightning.qubit`` by default; ``qiskit.aer`` and hardware plugins with the
``hardware`` extra). Shots are set per circuit, not on the device. Executions
that fail with a device or connection error are retried with exponential
back-off, then reported with the device name and what was attempted.

A noise model is named in the config, never written as an object (YAML cannot hold
one): ``noise_model: {backend: FakeManilaV2}`` is the noise of a fake IBM backend of
``qiskit_ibm_runtime.fake_provider`` (its calibrated gate, relaxation and readout errors
on physical qubits ``0 .. n-1``, wire ``i`` on qubit ``i`` without routing, so a two-qubit
gate between qubits the backend does not couple carries no gate error), and
``noise_model: {depolarizing: p1, depolarizing_2q: p2, readout: pr}`` is a uniform model:
single-qubit depolarizing error ``p1`` on every physical single-qubit gate (``sx``,
``x``; ``rz`` is virtual, as on IBM hardware), two-qubit depolarizing error ``p2`` on
every ``cx``, and a symmetric readout bit flip ``pr``. :func:`check_noise_model` checks
a spec before any job without importing qiskit; :func:`build_noise_model` makes the
``qiskit_aer.noise.NoiseModel`` that :func:`make_device` hands to ``qml.device``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .errors import InvalidConfigError, QgenflowError

__all__ = [
    "DeviceExecutionError",
    "NOISE_CHANNELS",
    "NOISE_DEVICES",
    "RETRYABLE",
    "SEED_KEYWORDS",
    "build_noise_model",
    "check_noise_model",
    "execute",
    "fake_backend_names",
    "make_device",
    "seed_keyword",
    "step_device",
]

log = logging.getLogger(__name__)


class DeviceExecutionError(QgenflowError, RuntimeError):
    """A device kept failing after every retry."""


def _retryable() -> tuple[type[BaseException], ...]:
    import pennylane as qml  # heavy: pennylane takes seconds to load; targets/iqp imports devices at workflow parse time

    return (qml.exceptions.DeviceError, ConnectionError, TimeoutError, OSError)


RETRYABLE = _retryable


#: Device keyword that seeds each device's shot sampling, where it is not ``seed``.
#: Qiskit's simulators take ``seed_simulator`` (a ``seed`` keyword reaches ``backend.run``
#: and is ignored); the other ``qiskit.*`` devices are remote hardware and take none.
SEED_KEYWORDS: dict[str, str | None] = {
    "qiskit.aer": "seed_simulator",
    "qiskit.basicsim": "seed_simulator",
}


def seed_keyword(name: str) -> str | None:
    """The keyword that seeds device ``name``'s sampling, or None if it cannot be seeded."""
    if name in SEED_KEYWORDS:
        return SEED_KEYWORDS[name]
    if name.startswith("qiskit."):
        return None
    return "seed"


#: Devices that take a ``noise_model`` (a ``qiskit_aer.noise.NoiseModel``).
NOISE_DEVICES = ("qiskit.aer",)
#: Keys of a uniform noise model: single-qubit depolarizing, two-qubit depolarizing, readout flip.
NOISE_CHANNELS = ("depolarizing", "depolarizing_2q", "readout")
# Basis of a uniform noise model (what qiskit-aer transpiles the circuit into), and its noisy gates.
_UNIFORM_BASIS = ("id", "rz", "sx", "x", "cx")
_NOISY_1Q, _NOISY_2Q = ("sx", "x"), ("cx",)


@functools.cache
def fake_backend_names() -> tuple[str, ...]:
    """Fake IBM backends of ``qiskit_ibm_runtime.fake_provider``, read without importing qiskit.

    The names its ``backends`` package imports, found from its source (importing
    qiskit_ibm_runtime takes seconds; this runs when a study is validated). Empty
    when qiskit-ibm-runtime is not installed.
    """
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return ()
    init = Path(list(spec.submodule_search_locations)[0]) / "fake_provider" / "backends" / "__init__.py"
    if not init.is_file():
        return ()
    tree = ast.parse(init.read_text(encoding="utf-8"))
    names = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}
    return tuple(sorted(n for n in names if n.startswith("Fake")))


def check_noise_model(key: str, device: Mapping[str, Any]) -> None:
    """Refuse, before any job, a device spec's noise model that cannot be built.

    ``key`` is where the device sits in the config (``models.NAME.device``). Checks that
    the device takes a noise model, that qiskit-aer is installed, that a ``backend`` is a
    fake backend of qiskit-ibm-runtime, and that a plain-data ``options.noise_model`` is not used.

    Raises:
        InvalidConfigError: naming the key and what is allowed.
    """
    options = device.get("options") or {}
    if "noise_model" in options:
        raise InvalidConfigError(
            f"{key}.options.noise_model", "a noise model cannot be written as an object in the config; name it "
            "as device.noise_model: {backend: FakeManilaV2} or {depolarizing: 0.01, depolarizing_2q: 0.02, readout: 0.02}",
        )
    spec = device.get("noise_model")
    if not spec:
        return
    name = device.get("name", "lightning.qubit")
    if name not in NOISE_DEVICES:
        raise InvalidConfigError(
            f"{key}.noise_model", f"device {name!r} takes no noise model; devices that do: {', '.join(NOISE_DEVICES)}"
        )
    if importlib.util.find_spec("qiskit_aer") is None:
        raise InvalidConfigError(f"{key}.noise_model", "noise models need qiskit-aer: pip install -e '.[hardware]'")
    if "backend" in spec:
        allowed = fake_backend_names()
        if not allowed:
            raise InvalidConfigError(
                f"{key}.noise_model.backend", "fake backends need qiskit-ibm-runtime: pip install -e '.[hardware]'"
            )
        if spec["backend"] not in allowed:
            raise InvalidConfigError(
                f"{key}.noise_model.backend", f"unknown fake backend {spec['backend']!r}; allowed: {', '.join(allowed)}"
            )
    elif not any(spec.get(channel) for channel in NOISE_CHANNELS):
        raise InvalidConfigError(
            f"{key}.noise_model", f"give a backend or a non-zero error rate of {', '.join(NOISE_CHANNELS)}"
        )


def build_noise_model(spec: Mapping[str, Any], key: str = "device.noise_model"):
    """The ``qiskit_aer.noise.NoiseModel`` a config's ``noise_model`` names (see the module docstring).

    Built once per process for each spec (a fake backend takes a second to load).

    Raises:
        InvalidConfigError: an unknown backend or key (naming ``key``), or qiskit-aer is missing.
    """
    unknown = sorted(set(spec) - {"backend", *NOISE_CHANNELS})
    if unknown or ("backend" in spec and len(spec) > 1):
        raise InvalidConfigError(
            key, f"give either backend (a fake IBM backend) or the error rates {', '.join(NOISE_CHANNELS)}, got {sorted(spec)}"
        )
    check_noise_model(key.removesuffix(".noise_model"), {"name": NOISE_DEVICES[0], "noise_model": dict(spec)})
    return _noise_model(json.dumps(dict(spec), sort_keys=True))


@functools.cache
def _noise_model(spec_json: str):
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error  # heavy: optional hardware extra, seconds to load

    spec = json.loads(spec_json)
    if "backend" in spec:
        from qiskit_ibm_runtime import fake_provider  # heavy: optional hardware extra, seconds to load

        return NoiseModel.from_backend(getattr(fake_provider, spec["backend"])())
    model = NoiseModel(basis_gates=list(_UNIFORM_BASIS))
    if spec.get("depolarizing"):
        model.add_all_qubit_quantum_error(depolarizing_error(float(spec["depolarizing"]), 1), list(_NOISY_1Q))
    if spec.get("depolarizing_2q"):
        model.add_all_qubit_quantum_error(depolarizing_error(float(spec["depolarizing_2q"]), 2), list(_NOISY_2Q))
    if spec.get("readout"):
        p = float(spec["readout"])
        model.add_all_qubit_readout_error(ReadoutError([[1.0 - p, p], [p, 1.0 - p]]))
    return model


def make_device(spec: Mapping[str, Any], n_qubits: int, seed: int | None = None):
    """Build the PennyLane device named in ``spec`` on ``n_qubits`` wires.

    ``spec["options"]`` are passed to ``qml.device`` as keyword arguments (for
    example a backend of a plugin); ``spec["noise_model"]`` names a noise model
    (:func:`build_noise_model`), passed as the ``noise_model`` keyword.

    Raises:
        InvalidConfigError: the device is not installed, refuses the options, or its noise model is unknown.
    """
    import pennylane as qml  # heavy: pennylane takes seconds to load; targets/iqp imports devices at workflow parse time

    name = spec.get("name", "lightning.qubit")
    kwargs: dict[str, Any] = {"wires": n_qubits, **dict(spec.get("options") or {})}
    if isinstance(kwargs.get("noise_model"), (Mapping, str, list, int, float)):
        check_noise_model("device", spec)  # plain data where an object is needed: refused, naming the key
    if spec.get("noise_model"):
        check_noise_model("device", spec)
        kwargs["noise_model"] = build_noise_model(spec["noise_model"])
    if seed is not None:
        keyword = seed_keyword(name)
        if keyword is None:
            log.warning("device %s draws its own randomness (hardware): its shots are not reproducible", name)
        else:
            kwargs[keyword] = int(seed)
    installed = sorted(qml.plugin_devices)
    if name not in installed:
        raise InvalidConfigError(
            "device.name",
            f"PennyLane device {name!r} is not installed; installed: {', '.join(installed)} "
            "(hardware plugins come with `pip install -e '.[hardware]'`)",
        )
    try:
        return qml.device(name, **kwargs)
    except TypeError as exc:
        if "seed" in kwargs and "seed" in str(exc):
            log.warning("device %s cannot be seeded; its shot noise is not reproducible", name)
            kwargs.pop("seed")
            return qml.device(name, **kwargs)
        raise InvalidConfigError("device.options", f"device {name!r} refused its options: {exc}") from None
    except qml.exceptions.DeviceError as exc:
        raise InvalidConfigError("device", f"cannot build PennyLane device {name!r}: {exc}") from None


def execute(device, tapes: Sequence, retries: int = 3, backoff: float = 1.0):
    """Run tapes on a device, retrying transient failures with exponential back-off."""
    retrying = Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=backoff, max=60),
        retry=retry_if_exception_type(_retryable()),
        before_sleep=lambda state: log.warning(
            "device %s failed (%s); retry %d of %d", getattr(device, "name", device), state.outcome.exception(),
            state.attempt_number, retries,
        ),
        reraise=False,
    )
    try:
        for attempt in retrying:
            with attempt:
                return device.execute(list(tapes))
    except Exception as exc:  # tenacity.RetryError or a non-retryable failure
        cause = exc.last_attempt.exception() if hasattr(exc, "last_attempt") else exc
        raise DeviceExecutionError(
            f"device {getattr(device, 'name', device)!r} failed to run {len(tapes)} circuit(s) "
            f"after {retries + 1} attempt(s): {cause}"
        ) from cause


def step_device(device_spec: Mapping[str, Any], n_wires: int, seed: int, step: int, stream: int):
    """A device seeded from (seed, step, stream): shot noise that is reproducible and that a resumed run replays."""
    sub_seed = int(np.random.SeedSequence([int(seed), int(step), int(stream)]).generate_state(1)[0])
    return make_device(device_spec, n_wires, seed=sub_seed)
