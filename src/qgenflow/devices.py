"""PennyLane device factory and resilient execution: every device is built here.

``device: {name, shots, seed, options}`` builds any installed PennyLane device
(``lightning.qubit`` by default; ``qiskit.aer`` and hardware plugins with the
``hardware`` extra). Shots are set per circuit, not on the device. Executions
that fail with a device or connection error are retried with exponential
back-off, then reported with the device name and what was attempted.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .errors import InvalidConfigError, QgenflowError

__all__ = ["DeviceExecutionError", "SEED_KEYWORDS", "make_device", "seed_keyword", "execute", "RETRYABLE", "step_device"]

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


def make_device(spec: Mapping[str, Any], n_qubits: int, seed: int | None = None):
    """Build the PennyLane device named in ``spec`` on ``n_qubits`` wires.

    ``spec["options"]`` are passed to ``qml.device`` as keyword arguments (for
    example a backend or noise model of a plugin).

    Raises:
        InvalidConfigError: the device is not installed or refuses the options.
    """
    import pennylane as qml  # heavy: pennylane takes seconds to load; targets/iqp imports devices at workflow parse time

    name = spec.get("name", "lightning.qubit")
    kwargs: dict[str, Any] = {"wires": n_qubits, **dict(spec.get("options") or {})}
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
