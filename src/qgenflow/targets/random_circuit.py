"""Random circuit sampling: Sycamore-style random circuits (Boixo et al. 2018; Arute et al. 2019).

The circuit acts on ``|0...0>`` with ``depth`` cycles followed by a final layer of
single-qubit gates, as in Arute et al. (Nature 574, 505, 2019). A cycle is

* one single-qubit gate per qubit, drawn from ``{sqrt(X), sqrt(Y), sqrt(W)}``, ``W = (X + Y) / sqrt 2``,
  uniformly in the first layer and afterwards uniformly from the two gates that differ from
  the qubit's gate in the previous layer (no gate twice in a row on a qubit);
* one two-qubit entangler on every bond of the cycle's coupling set.

The single-qubit gates are ``R_P(pi/2) = exp(-i pi/4 P)`` for ``P = X, Y, W``::

    sqrt(X) = [[1, -i], [-i, 1]] / sqrt 2,   sqrt(Y) = [[1, -1], [1, 1]] / sqrt 2,
    sqrt(W) = [[1, -sqrt(i)], [sqrt(-i), 1]] / sqrt 2,

(``sqrt(W) = RZ(pi/4) RX(pi/2) RZ(-pi/4)``). Entanglers, on bond ``(a, b)`` with ``a`` the
more significant wire:

* ``cz``: ``diag(1, 1, 1, -1)``;
* ``iswap``: ``|01> -> i|10>``, ``|10> -> i|01>`` (``qml.ISWAP``);
* ``fsim``: ``fSim(theta, phi)`` of Arute et al., ``[[1, 0, 0, 0], [0, cos theta, -i sin theta, 0],
  [0, -i sin theta, cos theta, 0], [0, 0, 0, exp(-i phi)]]``, by default ``theta = pi/2``,
  ``phi = pi/6`` (Sycamore's gate).

Coupling sets: ``chain`` (qubits 0..n-1 in a line) alternates the bonds ``(0, 1), (2, 3), ...``
(even cycles) and ``(1, 2), (3, 4), ...`` (odd cycles); ``grid`` (``rows x cols``, qubit
``r * cols + c`` at site (r, c)) has four matchings, A and B the horizontal bonds starting
in an even / odd column, C and D the vertical bonds starting in an even / odd row, used in
Arute et al.'s order ``ABCDCDAB`` (cycle ``k`` uses ``ABCDCDAB[k mod 8]``).

Exact probabilities: the state is an ``n``-index tensor (axis ``q`` = wire ``q``, so the
flattened state is big-endian like ``qml.probs``) and each gate is a contraction on its
axes; no ``2^n x 2^n`` matrix is built. Targets are exact only, up to
:data:`~qgenflow.limits.MAX_EXACT_QUBITS` qubits; samples are exact draws from the
probabilities.

The circuit is rebuilt from ``circuit_seed`` and the spec by :func:`build_random_circuit`
and is stored as ``circuit/gates`` (int8 [depth + 1, n]: 0 = sqrt(X), 1 = sqrt(Y),
2 = sqrt(W), one row per single-qubit layer) and ``circuit/couplers`` (int64 [B, 3]:
cycle, qubit a, qubit b of every two-qubit gate). Root attributes: ``circuit_seed``,
``depth``, ``layout``, ``entangler`` (with ``fsim_theta``, ``fsim_phi`` for fSim),
``anticoncentration`` = ``2^n sum_x p(x)^2`` (about 2 for Porter-Thomas) and ``xeb`` (the
linear cross-entropy benchmark of the stored samples), as for IQP targets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..bits import sample_from_probs
from ..errors import InvalidConfigError
from ..limits import MAX_EXACT_QUBITS
from ..rng import make_rng
from ..schema import with_defaults
from .base import Target
from .iqp import anticoncentration, linear_xeb

__all__ = [
    "ENTANGLERS",
    "GATE_NAMES",
    "GRID_SEQUENCE",
    "LAYOUTS",
    "RandomCircuit",
    "apply_gate",
    "build_random_circuit",
    "check_random_circuit_spec",
    "coupling_layers",
    "entangler_matrix",
    "make_random_circuit",
    "random_circuit_probs",
    "random_circuit_qubits",
    "single_qubit_matrices",
]

log = logging.getLogger(__name__)

ENTANGLERS = ("cz", "fsim", "iswap")
LAYOUTS = ("chain", "grid")
#: Names of the single-qubit gates, by their code in ``circuit/gates``.
GATE_NAMES = ("sqrt_x", "sqrt_y", "sqrt_w")
#: Arute et al.'s order of the four grid matchings, one per cycle, repeating.
GRID_SEQUENCE = "ABCDCDAB"


@dataclass(frozen=True)
class RandomCircuit:
    """A random circuit: its single-qubit layers, its two-qubit layers and the entangler.

    Attributes:
        n_qubits: number of qubits.
        gates: int8 [depth + 1, n] codes into :data:`GATE_NAMES`, one row per single-qubit layer.
        layers: the bonds ``(a, b)`` of each cycle's two-qubit gates, ``depth`` lists.
        entangler: complex [4, 4] matrix of the two-qubit gate on ``(a, b)``, ``a`` more significant.
    """

    n_qubits: int
    gates: np.ndarray
    layers: tuple[tuple[tuple[int, int], ...], ...]
    entangler: np.ndarray

    def couplers(self) -> np.ndarray:
        """int64 [B, 3]: cycle, qubit a, qubit b of every two-qubit gate (the artefact layout)."""
        rows = [(k, a, b) for k, layer in enumerate(self.layers) for a, b in layer]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def single_qubit_matrices() -> np.ndarray:
    """complex [3, 2, 2]: sqrt(X), sqrt(Y), sqrt(W) as ``exp(-i pi/4 P)``, in :data:`GATE_NAMES` order."""
    x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
    w = (x + y) / np.sqrt(2.0)
    return np.stack([(np.eye(2) - 1j * p) / np.sqrt(2.0) for p in (x, y, w)])


def entangler_matrix(name: str, theta: float = np.pi / 2, phi: float = np.pi / 6) -> np.ndarray:
    """complex [4, 4] matrix of an entangler in the basis ``|ab>``, ``a`` the more significant qubit.

    Args:
        name: one of :data:`ENTANGLERS`.
        theta, phi: the fSim angles (``fsim`` only).
    """
    if name == "cz":
        return np.diag([1.0, 1.0, 1.0, -1.0]).astype(np.complex128)
    if name == "iswap":
        return np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
    if name == "fsim":
        c, s = np.cos(theta), -1j * np.sin(theta)
        return np.array(
            [[1, 0, 0, 0], [0, c, s, 0], [0, s, c, 0], [0, 0, 0, np.exp(-1j * phi)]], dtype=np.complex128
        )
    raise InvalidConfigError("entangler", f"unknown entangler {name!r}; allowed: {', '.join(ENTANGLERS)}")


def _grid_matchings(rows: int, cols: int) -> dict[str, list[tuple[int, int]]]:
    """The four matchings A, B (horizontal, even / odd column), C, D (vertical, even / odd row)."""
    sets: dict[str, list[tuple[int, int]]] = {name: [] for name in "ABCD"}
    for r in range(rows):
        for c in range(cols):
            q = r * cols + c
            if c + 1 < cols:
                sets["A" if c % 2 == 0 else "B"].append((q, q + 1))
            if r + 1 < rows:
                sets["C" if r % 2 == 0 else "D"].append((q, q + cols))
    return sets


def coupling_layers(
    n_qubits: int, depth: int, layout: str = "chain", rows: int | None = None, cols: int | None = None
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The bonds of each of ``depth`` cycles (see the module docstring for the patterns)."""
    if layout == "chain":
        sets = [tuple((q, q + 1) for q in range(start, n_qubits - 1, 2)) for start in (0, 1)]
        return tuple(sets[k % 2] for k in range(depth))
    if layout == "grid":
        if rows is None or cols is None or int(rows) * int(cols) != n_qubits:
            raise InvalidConfigError(
                "rows", f"layout: grid needs rows and cols with rows * cols = n_qubits = {n_qubits}, "
                f"got rows={rows}, cols={cols}"
            )
        matchings = _grid_matchings(int(rows), int(cols))
        return tuple(tuple(matchings[GRID_SEQUENCE[k % len(GRID_SEQUENCE)]]) for k in range(depth))
    raise InvalidConfigError("layout", f"unknown layout {layout!r}; allowed: {', '.join(LAYOUTS)}")


def _settings(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The validated settings of a ``random_circuit`` spec, schema defaults filled in."""
    spec = with_defaults("targets", {**spec, "kind": "random_circuit"})
    n, depth = int(spec["n_qubits"]), int(spec["depth"])
    if not 2 <= n <= MAX_EXACT_QUBITS:
        raise InvalidConfigError(
            "n_qubits", f"must be 2 to {MAX_EXACT_QUBITS} (the exact statevector limit), got {n}"
        )
    if depth < 1:
        raise InvalidConfigError("depth", f"must be >= 1, got {depth}")
    if spec["entangler"] not in ENTANGLERS:
        raise InvalidConfigError(
            "entangler", f"unknown entangler {spec['entangler']!r}; allowed: {', '.join(ENTANGLERS)}"
        )
    if spec["layout"] not in LAYOUTS:
        raise InvalidConfigError("layout", f"unknown layout {spec['layout']!r}; allowed: {', '.join(LAYOUTS)}")
    if spec["layout"] == "chain" and (spec.get("rows") is not None or spec.get("cols") is not None):
        raise InvalidConfigError("rows", "rows and cols are used only with layout: grid")
    fsim = dict(spec["fsim"])
    unknown = sorted(set(fsim) - {"theta", "phi"})
    if unknown:
        raise InvalidConfigError(f"fsim.{unknown[0]}", "unknown key; allowed: phi, theta")
    seed = spec.get("circuit_seed")
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise InvalidConfigError("circuit_seed", f"must be a non-negative integer or null, got {seed!r}")
    layers = coupling_layers(n, depth, spec["layout"], spec.get("rows"), spec.get("cols"))
    return {**spec, "n": n, "depth": depth, "layers": layers,
            "theta": float(fsim["theta"]), "phi": float(fsim["phi"])}


def check_random_circuit_spec(spec: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidConfigError` for what the schema cannot check (grid size, limits); cheap."""
    _settings(spec)


def random_circuit_qubits(spec: Mapping[str, Any]) -> int:
    """The width of a ``random_circuit`` entry, after the checks of :func:`check_random_circuit_spec`.

    The plan asks every target for its width before any job, so this is where a bad
    entangler, layout or grid size is refused early.
    """
    return int(_settings(spec)["n"])


def build_random_circuit(spec: Mapping[str, Any], seed: int) -> RandomCircuit:
    """The random circuit a ``random_circuit`` spec describes, under circuit seed ``seed``.

    The single-qubit layers come from a generator seeded with the ``random_circuit``
    stream of ``seed``: the first layer uniform over the three gates, every later one
    uniform over the two gates that differ from the qubit's previous one.
    """
    settings = _settings(spec)
    n, depth = settings["n"], settings["depth"]
    rng = make_rng(seed, "random_circuit")
    gates = np.empty((depth + 1, n), dtype=np.int8)
    gates[0] = rng.integers(0, 3, size=n)
    for k in range(1, depth + 1):
        gates[k] = (gates[k - 1] + rng.integers(1, 3, size=n)) % 3
    entangler = entangler_matrix(settings["entangler"], settings["theta"], settings["phi"])
    return RandomCircuit(n_qubits=n, gates=gates, layers=settings["layers"], entangler=entangler)


def apply_gate(state: np.ndarray, matrix: np.ndarray, wires: tuple[int, ...]) -> None:
    """Apply ``matrix`` on ``wires`` (the first the most significant) to a flat big-endian state, in place.

    The state is viewed as an n-index tensor, split at the gate's wires; the ``2^k``
    slices ``state[..., i_1, ..., i_k, ...]`` are stacked, contracted with the gate over
    the stacked axis (one matrix product) and written back. Each gate is a few passes
    over the state; no ``2^n x 2^n`` matrix is built.

    Args:
        state: complex128 contiguous vector of length ``2^n``, wire 0 the most significant bit.
        matrix: complex [2^k, 2^k] gate on the ``k`` wires, in the basis ``|w_1 ... w_k>``.
        wires: distinct wires.
    """
    n = state.size.bit_length() - 1
    k = len(wires)
    order = np.argsort(wires)
    gate = np.asarray(matrix, dtype=np.complex128).reshape((2,) * (2 * k))
    gate = gate.transpose(*order, *(k + order)).reshape(2**k, 2**k)  # basis in ascending wire order
    ascending = [int(wires[i]) for i in order]
    shape, previous = [], -1
    for w in ascending:
        shape += [2 ** (w - previous - 1), 2]
        previous = w
    view = state.reshape(*shape, 2 ** (n - previous - 1))
    slices = [(slice(None),) + sum(((int(b), slice(None)) for b in bits), ()) for bits in np.ndindex(*(2,) * k)]
    stacked = np.stack([view[index] for index in slices])
    mixed = (gate @ stacked.reshape(2**k, -1)).reshape(stacked.shape)  # a tensordot on the stacked axis
    for index, part in zip(slices, mixed):
        view[index] = part


def _cycle_ops(circuit: RandomCircuit, singles: np.ndarray, k: int) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """The gates of cycle ``k`` (or of the final layer), single-qubit gates merged into the entanglers."""
    row = circuit.gates[k]
    bonds = circuit.layers[k] if k < len(circuit.layers) else ()
    paired = {q for bond in bonds for q in bond}
    ops = [(singles[row[q]], (q,)) for q in range(circuit.n_qubits) if q not in paired]
    ops += [(circuit.entangler @ np.kron(singles[row[a]], singles[row[b]]), (a, b)) for a, b in bonds]
    return ops


def random_circuit_probs(circuit: RandomCircuit) -> np.ndarray:
    """Exact big-endian output probabilities of ``circuit`` on ``|0...0>`` (tensor contractions)."""
    n = circuit.n_qubits
    singles = single_qubit_matrices()
    state = np.zeros(2**n, dtype=np.complex128)
    state[0] = 1.0
    for k in range(len(circuit.gates)):
        for matrix, wires in _cycle_ops(circuit, singles, k):
            apply_gate(state, matrix, wires)
    probs = state.real**2 + state.imag**2
    return probs / probs.sum()


def make_random_circuit(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Random circuit sampling target from its config entry, seeded by ``rng`` (the run's target stream).

    ``spec`` keys (see the schema's ``target_random_circuit``): ``n_qubits``, ``n_samples``,
    ``depth``, ``layout`` (``rows``, ``cols`` for ``grid``), ``entangler``, ``fsim``,
    ``circuit_seed``. With ``circuit_seed: null`` the circuit seed is drawn from ``rng``,
    so each run seed has its own circuit; the seed used is stored as the ``circuit_seed``
    attribute and ``build_random_circuit(spec, circuit_seed)`` rebuilds the circuit.
    """
    settings = _settings(spec)
    circuit_seed = settings.get("circuit_seed")
    circuit_seed = int(rng.integers(0, 2**62)) if circuit_seed is None else int(circuit_seed)
    circuit = build_random_circuit(spec, circuit_seed)
    probs = random_circuit_probs(circuit)
    samples = sample_from_probs(probs, int(settings["n_samples"]), rng)
    attrs: dict[str, Any] = {
        "circuit_seed": circuit_seed,
        "depth": settings["depth"],
        "layout": settings["layout"],
        "entangler": settings["entangler"],
        "anticoncentration": anticoncentration(probs),
        "xeb": linear_xeb(probs, samples),
    }
    if settings["entangler"] == "fsim":
        attrs.update(fsim_theta=settings["theta"], fsim_phi=settings["phi"])
    log.info("random_circuit: %d qubits, %d cycles (%s, %s), 2^n sum p^2 = %.3f", circuit.n_qubits,
             settings["depth"], settings["layout"], settings["entangler"], attrs["anticoncentration"])
    extra = {"circuit/gates": circuit.gates, "circuit/couplers": circuit.couplers()}
    return Target(n_qubits=circuit.n_qubits, samples=samples, probs=probs, extra=extra, attrs=attrs)
