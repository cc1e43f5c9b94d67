"""Parameterised circuit families for Born machines, as lists of PennyLane operations.

Every family is an :class:`Ansatz`: it knows its parameter shape, builds the
circuit's operations for given angles (trainable angles appear in
``params.ravel()`` order), and may carry structure derived from the target
(e.g. an entangling tree), which is stored with the model so it can be rebuilt.
Families register themselves in :data:`ANSATZE` by name; a name ``module:attribute``
instead names a PennyLane template or a user's circuit function (:mod:`.custom`).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InvalidConfigError

__all__ = ["ANSATZE", "Ansatz", "HardwareEfficient", "check_ansatz_name", "make_ansatz", "register_ansatz"]

#: Builder of the ansätze named by import path (PennyLane and JAX: loaded only for them).
CUSTOM_ANSATZ = "qgenflow.models.custom:custom_ansatz"
#: ``module.path:attribute``: a template class or circuit function to import.
IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


@dataclass
class Ansatz:
    """Base class of circuit families.

    Attributes:
        n_qubits: number of wires.
        layers: number of repeated layers.
        options: family-specific settings from the config.
        structure: arrays fixing the circuit beyond its angles (saved in model.h5 under ``/ansatz``).
    """

    n_qubits: int
    layers: int
    options: dict[str, Any] = field(default_factory=dict)
    structure: dict[str, np.ndarray] = field(default_factory=dict)

    name = "base"

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return int(np.prod(self.shape))

    def ops(self, params: np.ndarray) -> list:
        """PennyLane operations preparing U(params)|0...0>."""
        raise NotImplementedError

    def init_params(self, rng: np.random.Generator, scale: float) -> np.ndarray:
        """Angles drawn uniformly from [-scale, scale]."""
        return rng.uniform(-scale, scale, size=self.shape)

    def param_grad(self, params: np.ndarray, angle_grad: np.ndarray) -> np.ndarray:
        """dL/dparams from dL/d(gate angle), one per ``op.data`` entry of ``ops(params)`` in order.

        The identity here: the families above use each parameter as one gate angle, in order.
        """
        return np.reshape(angle_grad, self.shape)


ANSATZE: dict[str, Callable[..., Ansatz]] = {}


def register_ansatz(name: str):
    """Class decorator adding a family to :data:`ANSATZE`."""

    def wrap(cls):
        cls.name = name
        ANSATZE[name] = cls
        return cls

    return wrap


@register_ansatz("hardware_efficient")
class HardwareEfficient(Ansatz):
    """Per layer: RY then RZ on every qubit, then a CNOT chain 0->1->...->n-1."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers, self.n_qubits, 2)

    def ops(self, params: np.ndarray) -> list:
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit
        ops = []
        for layer in np.asarray(params):
            for wire in range(self.n_qubits):
                ops.append(qml.RY(layer[wire, 0], wires=wire))
                ops.append(qml.RZ(layer[wire, 1], wires=wire))
            for wire in range(self.n_qubits - 1):
                ops.append(qml.CNOT(wires=[wire, wire + 1]))
        return ops


def make_ansatz(
    name: str,
    n_qubits: int,
    layers: int,
    options: Mapping[str, Any] | None = None,
    target: Any = None,
) -> Ansatz:
    """Build the ansatz ``name``; ``target`` (a target Artefact) feeds families that adapt to the data.

    ``name`` is a registered family or ``module:attribute``, a PennyLane template class or a
    circuit function (:mod:`qgenflow.models.custom`).
    """
    check_ansatz_name("ansatz", name, static=False)
    if name in ANSATZE:
        ansatz = ANSATZE[name](n_qubits=n_qubits, layers=layers, options=dict(options or {}))
    else:
        module, function = CUSTOM_ANSATZ.split(":")
        build = getattr(importlib.import_module(module), function)  # heavy: PennyLane and JAX, for this ansatz only
        ansatz = build(name, n_qubits, layers, options)
    prepare = getattr(ansatz, "prepare", None)
    if prepare is not None:
        prepare(target)
    return ansatz


def check_ansatz_name(key: str, name: Any, static: bool = True) -> None:
    """Raise InvalidConfigError (at ``key``) unless ``name`` is a registered family or an importable ``module:attribute``.

    Light (nothing is imported but the parents of a dotted module): with ``static`` the
    module's source is read, and a function it defines must take two positional
    arguments and have a ``shape`` beside it. The full checks run when the ansatz is built.
    """
    if name in ANSATZE:
        return
    if not isinstance(name, str) or not IMPORT_PATH.match(name):
        raise InvalidConfigError(
            key, f"unknown ansatz {name!r}; allowed: {', '.join(sorted(ANSATZE))}, or module:attribute naming "
            "a PennyLane template (pennylane:StronglyEntanglingLayers) or a circuit function (mypkg.mod:build)"
        )
    if not static:
        return
    module, attribute = name.split(":")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise InvalidConfigError(key, f"cannot find module {module!r}: {exc}") from None
    if spec is None:
        raise InvalidConfigError(key, f"cannot find module {module!r} (not installed, not on PYTHONPATH)")
    if spec.origin and spec.origin.endswith(".py"):
        _check_source(key, name, _bindings(module, spec.origin))


def _module_path(module: str, origin: str, imported: str, level: int) -> tuple[str, str | None]:
    """Absolute name and source file of ``imported`` (relative at ``level``) seen from ``module`` at ``origin``.

    Found by path alone, so no package is imported; None where it is not a source file.
    """
    package = module if origin.endswith("__init__.py") else module.rpartition(".")[0]
    if level:
        parts = package.split(".")
        name = ".".join(parts[: len(parts) - level + 1] + ([imported] if imported else []))
    else:
        name = imported
    root = os.path.dirname(origin)
    for _ in range(len(package.split("."))):
        root = os.path.dirname(root)
    base = os.path.join(root, *name.split("."))
    for candidate in (os.path.join(base, "__init__.py"), base + ".py"):
        if os.path.isfile(candidate):
            return name, candidate
    return name, None


def _bindings(module: str, origin: str, depth: int = 3) -> dict[str, ast.AST] | None:
    """Top-level names a module binds, following star imports inside its own package; None if unknowable."""
    with open(origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    bound: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound[node.name] = node
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            name, path = _module_path(module, origin, node.module or "", node.level)
            inner = _bindings(name, path, depth - 1) if path and depth and name.split(".")[0] == module.split(".")[0] else None
            if inner is None:
                return None  # a star import from elsewhere may bind anything
            bound.update(inner)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update({(alias.asname or alias.name).split(".")[0]: node for alias in node.names})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update({t.id: node for t in targets if isinstance(t, ast.Name)})
    return bound


def _check_source(key: str, name: str, bound: dict[str, ast.AST] | None) -> None:
    """Static checks of ``module:attribute`` against the names its module binds (None: unknown, no check)."""
    if bound is None:
        return
    attribute = name.split(":")[1]
    if attribute not in bound:
        raise InvalidConfigError(key, f"module {name.split(':')[0]!r} defines no {attribute!r}")
    found = bound[attribute]
    if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = found.args
        if len(args.posonlyargs) + len(args.args) < 2 and args.vararg is None:
            raise InvalidConfigError(key, f"{name} must take (params, wires, **options)")
        if "shape" not in bound:
            raise InvalidConfigError(key, f"{name}: its module must define shape(n_qubits, layers, **options)")
