"""PennyLane device factory: every device is built here from a config entry."""

from __future__ import annotations

from typing import Any, Mapping

from .errors import InvalidConfigError

__all__ = ["make_device"]


def make_device(spec: Mapping[str, Any], n_qubits: int, seed: int | None = None):
    """Build the PennyLane device named in ``spec`` (``name``, ``shots``) on ``n_qubits`` wires.

    Raises:
        InvalidConfigError: the device is not installed.
    """
    import pennylane as qml

    name = spec.get("name", "lightning.qubit")
    kwargs: dict[str, Any] = {"wires": n_qubits}
    if seed is not None:
        kwargs["seed"] = int(seed)
    try:
        return qml.device(name, **kwargs)
    except qml.exceptions.DeviceError as exc:
        raise InvalidConfigError("device.name", f"cannot build PennyLane device {name!r}: {exc}") from None
