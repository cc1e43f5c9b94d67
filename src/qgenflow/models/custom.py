"""Ansätze named by import path: PennyLane templates and a user's own circuit.

``ansatz: module:attribute`` names either

* a **template class** (a PennyLane ``Operation`` with a static ``shape``), e.g.
  ``pennylane:StronglyEntanglingLayers`` (the ansatz of PennyLane's QCBM demo),
  ``pennylane:BasicEntanglerLayers``, ``pennylane:SimplifiedTwoDesign``, or a user's own
  subclass. Its weight arrays (the constructor arguments before ``wires``) get the shapes
  of ``shape(...)``, whose arguments are filled in by name: ``n_layers`` = ``layers``,
  ``n_wires`` = the qubit count, anything else from ``ansatz_options`` (or the
  constructor's default). The other ``ansatz_options`` are constructor keywords; a
  string naming a PennyLane operation (``imprimitive: CZ``, ``rotation: RY``) becomes
  that operation class.
* a **circuit function** ``build(params, wires, **options) -> None`` that queues PennyLane
  operations on ``wires`` (a list of the integers ``0..n-1``) for a parameter array
  ``params``, with, in the same module, ``shape(n_qubits, layers, **options) -> tuple``
  giving that array's shape. ``ansatz_options`` are passed to both as keywords.

Either way the circuit is decomposed into the gates ``lightning.qubit`` differentiates
by its adjoint method (:func:`kept_gates`; global phases dropped), which the numba adjoint
kernels run when they know every gate, and the device's own adjoint otherwise (see
:func:`qgenflow.train.qcbm.exact_runner`). Gate angles may be any JAX-traceable function of
the parameters (``params`` may be indexed, sliced, scaled, passed through ``qml.math``):
the gradient with respect to the parameters is the gradient with respect to the gate
angles pulled back through their Jacobian, taken with ``jax.jacobian`` (:meth:`param_grad`).
The model's ``ansatz`` attribute in model.h5 records the import path, and its config the
options, so the circuit can be rebuilt (:func:`qgenflow.metrics.audit.model_ansatz`).

This module imports PennyLane and JAX; :func:`qgenflow.models.ansatz.make_ansatz` loads it
only for an ansatz named by import path.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
from pennylane.operation import Operator

from ..errors import InvalidConfigError
from .ansatz import Ansatz

__all__ = ["FunctionAnsatz", "TemplateAnsatz", "custom_ansatz", "gates_of", "kept_gates", "resolve"]

log = logging.getLogger(__name__)

KEY = "ansatz"
#: Operations that change only a global phase, hence no probability: dropped from circuits.
PHASE_ONLY = frozenset({"GlobalPhase", "Identity"})
#: The simulator whose adjoint-differentiable gates are the circuits' gate set.
REFERENCE_DEVICE = "lightning.qubit"
#: Constructor arguments of a template that are not options.
_NOT_OPTIONS = frozenset({"self", "wires", "id"})


def resolve(name: str) -> Any:
    """The object ``module:attribute`` names; InvalidConfigError naming ``ansatz`` if it cannot be imported."""
    module, _, attribute = name.partition(":")
    try:
        found = importlib.import_module(module)  # heavy: the user's module, imported when the ansatz is built
    except ImportError as exc:
        raise InvalidConfigError(KEY, f"cannot import module {module!r} of {name!r}: {exc}") from None
    if not attribute or not hasattr(found, attribute):
        raise InvalidConfigError(KEY, f"module {module!r} has no attribute {attribute!r} (from {name!r})")
    return getattr(found, attribute)


@functools.cache
def kept_gates() -> frozenset[str]:
    """Gates left as they are: those :data:`REFERENCE_DEVICE` differentiates by its adjoint method.

    Any other operation is decomposed (``Rot`` into ``RZ RY RZ``, ``OrbitalRotation`` into
    excitations...), so that both exact engines differentiate every gate: the numba kernels
    where they know them all, the device's adjoint otherwise.
    """
    capabilities = qml.device(REFERENCE_DEVICE, wires=1).capabilities.operations
    return frozenset(name for name, props in capabilities.items() if props.differentiable) - PHASE_ONLY


def gates_of(ops: Sequence[Operator]) -> list[Operator]:
    """``ops`` decomposed into :func:`kept_gates`, global phases dropped."""
    out: list[Operator] = []
    for op in ops:
        if op.name in PHASE_ONLY:
            continue
        if op.name in kept_gates():
            out.append(op)
        elif op.has_decomposition:
            out.extend(gates_of(op.decomposition()))
        else:
            raise InvalidConfigError(KEY, f"operation {op.name} is not a gate and has no decomposition into gates")
    return out


def _check_signature(func: Callable, positional: int, what: str) -> inspect.Signature:
    """The signature of ``func``; InvalidConfigError unless it takes ``positional`` positional arguments."""
    try:
        sig = inspect.signature(func)
        sig.bind(*range(positional))
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(KEY, f"{what} must take {positional} positional arguments: {exc}") from None
    return sig


def _shape_tuple(value: Any, what: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in value)
    except TypeError:
        raise InvalidConfigError(KEY, f"{what} must return a tuple of ints, got {value!r}") from None
    if not shape or min(shape) < 1:
        raise InvalidConfigError(KEY, f"{what} must return positive dimensions, got {value!r}")
    return shape


class ImportedAnsatz(Ansatz):
    """An ansatz whose circuit comes from outside qgenflow: weight arrays, queued operations, a Jacobian."""

    #: Shapes of the weight arrays, set by :meth:`prepare`.
    shapes: list[tuple[int, ...]]

    @property
    def shape(self) -> tuple[int, ...]:
        if len(self.shapes) == 1:
            return self.shapes[0]
        return (sum(int(np.prod(s)) for s in self.shapes),)

    def split(self, params) -> list:
        """The weight arrays of a parameter vector (works on numpy and JAX arrays)."""
        flat, out, start = params.reshape(-1), [], 0
        for s in self.shapes:
            size = int(np.prod(s))
            out.append(flat[start : start + size].reshape(s))
            start += size
        return out

    def queue(self, arrays: list) -> None:
        """Queue the circuit's operations for the weight arrays."""
        raise NotImplementedError

    def _gates(self, params) -> list[Operator]:
        with qml.queuing.AnnotatedQueue() as q:
            self.queue(self.split(params))
        return gates_of(q.queue)

    def ops(self, params: np.ndarray) -> list:
        return self._gates(np.asarray(params, dtype=np.float64))

    def _angles(self, flat):
        data = [jnp.ravel(jnp.asarray(d)) for op in self._gates(flat) for d in op.data]
        return jnp.concatenate(data) if data else jnp.zeros(0)

    def param_grad(self, params: np.ndarray, angle_grad: np.ndarray) -> np.ndarray:
        """dL/dparams = J^T dL/d(angles), J the Jacobian of the gate angles (``jax.jacobian``)."""
        jac = np.asarray(self._jacobian(jnp.asarray(np.reshape(params, -1), dtype=jnp.float64)))
        grad = np.asarray(angle_grad, dtype=np.float64).reshape(-1)
        if jac.shape[0] != grad.size:
            raise ValueError(f"{self.name}: {grad.size} gate angles but the traced circuit has {jac.shape[0]}")
        return (grad @ jac).reshape(self.shape)

    def _trace(self, rng: np.random.Generator) -> None:
        """Compile the angle Jacobian and check it on a random point (a circuit JAX cannot trace fails here)."""
        jax.config.update("jax_enable_x64", True)
        self._jacobian = jax.jit(jax.jacobian(self._angles))
        point = rng.uniform(-np.pi, np.pi, size=self.n_params)
        n_angles = sum(len(op.data) for op in self.ops(point))
        try:
            jac = self._jacobian(jnp.asarray(point))
        except Exception as exc:  # any failure of the user's code under tracing
            raise InvalidConfigError(
                KEY, f"{self.name}: the gate angles must be JAX-traceable functions of params "
                f"(index, slice, arithmetic, qml.math); tracing failed: {type(exc).__name__}: {exc}"
            ) from None
        if jac.shape != (n_angles, self.n_params):
            raise InvalidConfigError(KEY, f"{self.name}: the circuit's structure depends on the parameter values")


class TemplateAnsatz(ImportedAnsatz):
    """A PennyLane template class (or a user's subclass of ``Operation`` with a static ``shape``)."""

    template: type

    def prepare(self, target: Any) -> None:
        """Resolve the template, its weight shapes and its constructor options."""
        params = list(inspect.signature(self.template.__init__).parameters.values())
        names = [p.name for p in params]
        if "wires" not in names:
            raise InvalidConfigError(KEY, f"{self.name} takes no wires; not a qubit template")
        self.weight_names = [n for n in names[: names.index("wires")] if n != "self"]
        defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        keywords = [n for n in names if n not in _NOT_OPTIONS and n not in self.weight_names]
        shape_args = list(inspect.signature(self.template.shape).parameters)
        unknown = sorted(set(self.options) - set(keywords) - set(shape_args))
        if unknown:
            raise InvalidConfigError(
                f"ansatz_options.{unknown[0]}", f"not an option of {self.name}; allowed: {', '.join(keywords + shape_args)}"
            )
        given = {"n_layers": self.layers, "n_wires": self.n_qubits, **defaults, **self.options}
        missing = [a for a in shape_args if a not in given]
        if missing:
            raise InvalidConfigError(f"ansatz_options.{missing[0]}", f"{self.name}.shape needs it")
        self.kwargs = {k: _gate_classes(v) for k, v in {**self.options}.items() if k in keywords}
        self.kwargs.update({a: given[a] for a in shape_args if a in keywords and a not in self.kwargs})
        raw = self.template.shape(**{a: given[a] for a in shape_args})
        nested = len(raw) > 0 and not np.isscalar(raw[0])
        self.shapes = [_shape_tuple(s, f"{self.name}.shape") for s in (raw if nested else [raw])]
        if len(self.shapes) != len(self.weight_names):
            raise InvalidConfigError(
                KEY, f"{self.name}: shape gives {len(self.shapes)} weight arrays, the constructor takes "
                f"{len(self.weight_names)} ({', '.join(self.weight_names)})"
            )
        if "n_layers" not in shape_args:
            log.info("%s: its shape does not depend on layers; layers = %d is ignored", self.name, self.layers)
        self._trace(np.random.default_rng(0))

    def queue(self, arrays: list) -> None:
        self.template(*arrays, wires=range(self.n_qubits), **self.kwargs)


def _gate_classes(value: Any) -> Any:
    """Strings (or lists of them) naming PennyLane operations, as those classes; other values unchanged."""
    if isinstance(value, str):
        found = getattr(qml, value, None)
        return found if inspect.isclass(found) and issubclass(found, Operator) else value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [_gate_classes(v) for v in value]
    return value


class FunctionAnsatz(ImportedAnsatz):
    """A user's ``build(params, wires, **options)`` with the module's ``shape(n_qubits, layers, **options)``."""

    build: Callable

    def prepare(self, target: Any) -> None:
        """Check the signatures, then fix the parameter shape from ``shape``."""
        _check_signature(self.build, 2, f"{self.name} (build(params, wires, **options))")
        module = importlib.import_module(self.build.__module__)  # heavy: the user's module, already imported
        shape_fn = getattr(module, "shape", None)
        if not callable(shape_fn):
            raise InvalidConfigError(
                KEY, f"module {self.build.__module__!r} must define shape(n_qubits, layers, **options) next to "
                f"{self.build.__name__}"
            )
        _check_signature(shape_fn, 2, f"{self.build.__module__}.shape(n_qubits, layers, **options)")
        try:
            inspect.signature(self.build).bind(None, None, **self.options)
            raw = shape_fn(self.n_qubits, self.layers, **self.options)
        except TypeError as exc:
            raise InvalidConfigError("ansatz_options", f"{self.name} rejected them: {exc}") from None
        self.shapes = [_shape_tuple(raw, f"{self.build.__module__}.shape")]
        self._trace(np.random.default_rng(0))

    def queue(self, arrays: list) -> None:
        self.build(arrays[0], list(range(self.n_qubits)), **self.options)


def custom_ansatz(name: str, n_qubits: int, layers: int, options: Mapping[str, Any] | None = None) -> Ansatz:
    """The ansatz ``module:attribute`` names: a template class or a circuit function (module docstring)."""
    found = resolve(name)
    options = dict(options or {})
    if inspect.isclass(found) and issubclass(found, Operator) and callable(getattr(found, "shape", None)):
        ansatz: ImportedAnsatz = TemplateAnsatz(n_qubits=n_qubits, layers=layers, options=options)
        ansatz.template = found
    elif callable(found) and not inspect.isclass(found):
        ansatz = FunctionAnsatz(n_qubits=n_qubits, layers=layers, options=options)
        ansatz.build = found
    else:
        raise InvalidConfigError(
            KEY, f"{name!r} is neither a PennyLane template (an Operation class with shape) nor a circuit function"
        )
    ansatz.name = name
    return ansatz
