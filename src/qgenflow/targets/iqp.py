"""Random IQP circuits: ``H^n D(theta) H^n |0...0>`` with a diagonal ``D`` of Z-string phases.

Phase convention (the one ``qml.IQP`` and ``qml.qnn.iqp_expval`` use, so an IQP
Born machine can train these very generators and angles)::

    D(theta) = prod_j exp(-i theta_j Z_{g_j}),    Z_g = prod_{q in g} Z_q,

i.e. every generator ``g_j`` is one ``qml.MultiRZ(2 * theta_j, wires=g_j)``
(``qml.RZ`` / ``qml.IsingZZ`` for weights 1 / 2, the same matrices), and the whole
circuit equals ``qml.IQP(weights=theta, pattern=[[g_j] for g_j in generators],
num_wires=n)``. On a basis state ``|z>``, ``D|z> = exp(i phi(z)) |z>`` with
``phi(z) = -sum_j theta_j (-1)^(sum_{q in g_j} z_q)``. Shifting one angle by pi only
multiplies the state by -1, so the output distribution is pi-periodic in every angle.

The circuit is rebuilt from ``circuit_seed`` and the spec by :func:`build_iqp`, and is
stored in the target artefact as ``circuit/generators`` (int64 [G, w], qubit indices,
ascending, padded with -1) and ``circuit/angles`` (float64 [G]).

Two probability paths: :func:`iqp_probs` builds ``phi`` on all ``2^n`` bitstrings from a
low-rank split of the qubits into two halves and applies the final ``H^n`` as a fast
Walsh-Hadamard transform (the main path: on par with ``lightning.qubit`` at 20 qubits,
2-3x faster at 24, and no PennyLane import); :func:`iqp_probs_lightning` runs
:func:`iqp_ops` through ``qml.probs`` on ``lightning.qubit`` (the independent reference).
With ``method: shots`` (required above :data:`~qgenflow.limits.MAX_EXACT_QUBITS`
qubits) the samples are ``lightning.qubit`` shots and no probability vector is stored.

Root attributes of the target: ``n_generators``, ``circuit_seed`` (the seed actually
used), ``method``, ``phase_convention`` and, for ``method: exact``,
``anticoncentration`` = ``2^n sum_x p(x)^2`` (about 2 for Porter-Thomas) and ``xeb`` (the
linear cross-entropy benchmark of the stored samples).
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..bits import bits_to_index, sample_from_probs
from ..devices import make_device
from ..rng import make_rng
from ..schema import load_schema, with_defaults
from ..errors import InvalidConfigError
from ..limits import MAX_EXACT_QUBITS, MAX_IQP_SHOT_QUBITS
from .base import Target

__all__ = [
    "ANGLE_DISTRIBUTIONS",
    "GATE_ANGLE_SCALE",
    "GENERATOR_PATTERNS",
    "MAX_SHOT_QUBITS",
    "METHODS",
    "PHASE_CONVENTION",
    "anticoncentration",
    "build_iqp",
    "candidate_generators",
    "check_iqp_spec",
    "generator_lists",
    "iqp_gate_ops",
    "iqp_ops",
    "iqp_phase",
    "iqp_probs",
    "iqp_probs_lightning",
    "iqp_samples_lightning",
    "linear_xeb",
    "make_iqp",
    "pad_generators",
    "walsh_hadamard",
]

log = logging.getLogger(__name__)

GENERATOR_PATTERNS = ("all", "chain", "square")
ANGLE_DISTRIBUTIONS = ("uniform", "normal")
METHODS = ("exact", "shots")
#: Largest IQP circuit sampled with shots (see :data:`qgenflow.limits.MAX_IQP_SHOT_QUBITS`).
MAX_SHOT_QUBITS = MAX_IQP_SHOT_QUBITS
PHASE_CONVENTION = "D = prod_j exp(-i theta_j Z_{g_j}) = prod_j MultiRZ(2 theta_j, wires=g_j), as qml.IQP"
#: Gate angle per unit of theta: generator ``g_j`` is the gate ``MultiRZ(GATE_ANGLE_SCALE * theta_j)``.
GATE_ANGLE_SCALE = 2.0

_SCHEMA = load_schema()["$defs"]["target_iqp"]["properties"]
#: Defaults of the ``generators`` and ``angles`` entries, as the schema gives them.
DEFAULT_GENERATORS: dict[str, Any] = {
    key: sub["default"] for key, sub in _SCHEMA["generators"]["properties"].items() if "default" in sub
}
DEFAULT_ANGLES: dict[str, Any] = {
    key: sub["default"] for key, sub in _SCHEMA["angles"]["properties"].items() if "default" in sub
}
# Work sizes that keep a block in a core's cache (2 MiB L2 here): phases per block, transpose tile.
_BLOCK_ENTRIES = 1 << 16
_TILE = 256


def candidate_generators(
    n_qubits: int,
    *,
    pattern: str = "all",
    max_weight: int = 2,
    lattice: Sequence[int] | None = None,
    pbc: bool = False,
    weights: Sequence[int] | None = None,
) -> list[tuple[int, ...]]:
    """Every Z-string the pattern allows, sorted by weight then lexicographically.

    Args:
        n_qubits: number of qubits.
        pattern: ``all`` = every subset of the chosen weights; ``chain`` = a line of
            qubits 0..n-1; ``square`` = a ``lattice = [L0, L1]`` grid, qubit
            ``i * L1 + j`` at site (i, j). On a lattice a weight-w generator is a
            connected set of w sites: all qubits, the nearest-neighbour bonds, the
            connected triples (a site with two of its neighbours), and so on.
        max_weight: largest generator weight (weights 1..max_weight; at most ``n_qubits`` exist).
        lattice: grid shape, only for ``square``.
        pbc: periodic boundaries, only for ``chain`` and ``square``.
        weights: the generator weights to include instead of 1..max_weight (e.g. [1, 2, 4]).

    Returns:
        Generators as tuples of ascending qubit indices.
    """
    if pattern not in GENERATOR_PATTERNS:
        raise InvalidConfigError(
            "generators.pattern", f"unknown pattern {pattern!r}; allowed: {', '.join(GENERATOR_PATTERNS)}"
        )
    if weights is None:
        if max_weight < 1:
            raise InvalidConfigError("generators.max_weight", f"must be >= 1, got {max_weight}")
        weights = range(1, min(max_weight, n_qubits) + 1)  # no generator is heavier than n
    weights = sorted({int(w) for w in weights})
    if not weights or weights[0] < 1 or weights[-1] > n_qubits:
        raise InvalidConfigError("generators.weights", f"must be weights from 1 to n_qubits = {n_qubits}, got {weights}")
    if pattern != "square" and lattice is not None:
        raise InvalidConfigError("generators.lattice", f"only used with pattern: square, not {pattern!r}")
    if pattern == "all":
        if pbc:
            raise InvalidConfigError("generators.pbc", "only used with pattern: chain or square")
        return [g for w in weights for g in itertools.combinations(range(n_qubits), w)]
    neighbours = _lattice_neighbours(n_qubits, pattern, lattice, pbc)
    found: set[tuple[int, ...]] = set()
    connected: set[tuple[int, ...]] = {(q,) for q in range(n_qubits)}
    for w in range(1, weights[-1] + 1):
        if w > 1:  # grow every connected set by one neighbouring site
            connected = {
                tuple(sorted(g + (r,))) for g in connected for q in g for r in neighbours[q] if r not in g
            }
        if w in weights:
            found |= connected
    return sorted(found, key=lambda g: (len(g), g))


def _lattice_neighbours(n_qubits: int, pattern: str, lattice: Sequence[int] | None, pbc: bool) -> list[set[int]]:
    """Nearest neighbours of every site of a ``chain`` or ``square`` pattern."""
    if pattern == "chain":
        shape: tuple[int, ...] = (n_qubits,)
    else:
        if lattice is None or len(lattice) != 2 or int(lattice[0]) * int(lattice[1]) != n_qubits:
            raise InvalidConfigError(
                "generators.lattice", f"pattern: square needs lattice [L0, L1] with L0 * L1 = n_qubits = {n_qubits}"
            )
        shape = (int(lattice[0]), int(lattice[1]))
    neighbours: list[set[int]] = [set() for _ in range(n_qubits)]
    for site in itertools.product(*(range(length) for length in shape)):
        q = int(np.ravel_multi_index(site, shape))
        for axis, length in enumerate(shape):
            step = list(site)
            step[axis] += 1
            if step[axis] == length:
                if not pbc or length < 3:  # a ring of 1 or 2 sites adds no new bond
                    continue
                step[axis] = 0
            r = int(np.ravel_multi_index(tuple(step), shape))
            neighbours[q].add(r)
            neighbours[r].add(q)
    return neighbours


def _settings(spec: Mapping[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any], str]:
    """Validated ``(n_qubits, generators, angles, method)`` of a spec, schema defaults filled in."""
    n = int(spec["n_qubits"])
    if not 1 <= n <= MAX_SHOT_QUBITS:
        raise InvalidConfigError("n_qubits", f"must be 1 to {MAX_SHOT_QUBITS}, got {n}")
    sub: dict[str, dict[str, Any]] = {}
    for key, defaults, optional in (
        ("generators", DEFAULT_GENERATORS, {"lattice"}),
        ("angles", DEFAULT_ANGLES, set()),
    ):
        given = dict(spec.get(key) or {})
        unknown = sorted(set(given) - set(defaults) - optional)
        if unknown:
            allowed = ", ".join(sorted(set(defaults) | optional))
            raise InvalidConfigError(f"{key}.{unknown[0]}", f"unknown key; allowed: {allowed}")
        sub[key] = {**defaults, **given}
    gen, ang = sub["generators"], sub["angles"]
    density = float(gen["density"])
    if not 0.0 < density <= 1.0:
        raise InvalidConfigError("generators.density", f"must be in (0, 1], got {density}")
    if ang["distribution"] not in ANGLE_DISTRIBUTIONS:
        raise InvalidConfigError(
            "angles.distribution",
            f"unknown distribution {ang['distribution']!r}; allowed: {', '.join(ANGLE_DISTRIBUTIONS)}",
        )
    if not float(ang["scale"]) > 0.0:
        raise InvalidConfigError("angles.scale", f"must be > 0, got {ang['scale']}")
    seed = spec.get("circuit_seed")
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise InvalidConfigError("circuit_seed", f"must be a non-negative integer or null, got {seed!r}")
    method = spec["method"]
    if method not in METHODS:
        raise InvalidConfigError("method", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if method == "exact" and n > MAX_EXACT_QUBITS:
        raise InvalidConfigError(
            "method", f"exact probabilities are limited to {MAX_EXACT_QUBITS} qubits, got {n}; use method: shots"
        )
    return n, gen, ang, method


def _candidates(n: int, gen: Mapping[str, Any]) -> list[tuple[int, ...]]:
    return candidate_generators(
        n,
        pattern=gen["pattern"],
        max_weight=int(gen["max_weight"]),
        lattice=gen.get("lattice"),
        pbc=bool(gen["pbc"]),
    )


def check_iqp_spec(spec: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidConfigError` for what the schema cannot check (lattice size, qubit limits).

    Cheap (no circuit is simulated), so it can run before any job starts.
    """
    spec = with_defaults("targets", {**spec, "kind": "iqp"})
    n, gen, _, _ = _settings(spec)
    _candidates(n, gen)


def build_iqp(spec: Mapping[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The generators and angles of the IQP circuit an ``iqp`` target spec describes.

    The circuit depends only on ``n_qubits``, ``generators``, ``angles`` and ``seed``:
    a generator seeded with ``[seed, 11]`` first picks ``round(density * G)`` of the G
    candidate generators (at least one; without replacement, kept in candidate
    order), then draws one angle per generator (uniform in ``[0, scale)``, or normal
    with mean 0 and standard deviation ``scale``).

    Args:
        spec: the target's config entry (``n_qubits``, optional ``generators``, ``angles``).
        seed: circuit seed: ``circuit_seed``, or the one :func:`make_iqp` recorded.

    Returns:
        ``generators`` int64 [G, w] (ascending qubit indices padded with -1, w = the
        largest weight present) and ``angles`` float64 [G].
    """
    spec = with_defaults("targets", {**spec, "kind": "iqp"})
    n, gen, ang, _ = _settings(spec)
    candidates = _candidates(n, gen)
    rng = make_rng(seed, "iqp_circuit")
    density = float(gen["density"])
    if density < 1.0:
        keep = max(1, math.floor(density * len(candidates) + 0.5))
        chosen = np.sort(rng.choice(len(candidates), size=keep, replace=False))
        candidates = [candidates[i] for i in chosen]
    scale = float(ang["scale"])
    if ang["distribution"] == "uniform":
        angles = rng.uniform(0.0, scale, size=len(candidates))
    else:
        angles = rng.normal(0.0, scale, size=len(candidates))

    return pad_generators(candidates), angles.astype(np.float64)


def pad_generators(generators: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Generators as int64 [G, w] of ascending qubit indices padded with -1 (the artefact layout)."""
    if isinstance(generators, np.ndarray) and generators.ndim == 2:
        return np.asarray(generators, dtype=np.int64)
    rows = [sorted(int(q) for q in g) for g in generators]
    if not rows:
        raise ValueError("an IQP circuit needs at least one generator")
    out = np.full((len(rows), max(len(r) for r in rows)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def generator_lists(generators: np.ndarray) -> list[list[int]]:
    """Rows of a padded generator array as lists of qubit indices."""
    return [[int(q) for q in row if q >= 0] for row in np.asarray(generators)]


def _check_circuit(generators: np.ndarray, angles: np.ndarray, n_qubits: int) -> list[list[int]]:
    gens = generator_lists(generators)
    if len(gens) != len(np.asarray(angles)):
        raise ValueError(f"{len(gens)} generators but {len(np.asarray(angles))} angles")
    for g in gens:
        if not g or len(set(g)) != len(g) or min(g) < 0 or max(g) >= n_qubits:
            raise ValueError(f"generator {g} is not a set of distinct qubits in 0..{n_qubits - 1}")
    return gens


def iqp_gate_ops(
    generators: Sequence[Sequence[int]], angles: Sequence, n_qubits: int, *, spin_flip_symmetric: bool = False
) -> list:
    """PennyLane operations of an IQP circuit, unchecked: the one place its gate list is built.

    Optionally the spin-flip-symmetric input ``(|0..0> + |1..1>) / sqrt 2`` (a Hadamard on
    wire 0, CNOTs 0 -> i), then Hadamards, one ``exp(-i theta_j Z_{g_j})`` per generator
    (``RZ``, ``IsingZZ`` or ``MultiRZ`` of ``GATE_ANGLE_SCALE * theta_j`` by weight), Hadamards.

    Args:
        generators: qubit lists (:func:`generator_lists`).
        angles: ``theta_j``, one per generator, used as given (no conversion).
        n_qubits: number of wires.
        spin_flip_symmetric: prepend the spin-flip-symmetric input state.
    """
    # heavy: pennylane takes seconds to import; this module is imported at Snakefile parse (the plan)
    import pennylane as qml

    ops = []
    if spin_flip_symmetric:
        ops.append(qml.Hadamard(0))
        ops.extend(qml.CNOT(wires=[0, q]) for q in range(1, n_qubits))
    ops.extend(qml.Hadamard(q) for q in range(n_qubits))
    for g, theta in zip(generators, angles):
        phi = GATE_ANGLE_SCALE * theta
        if len(g) == 1:
            ops.append(qml.RZ(phi, wires=g[0]))
        elif len(g) == 2:
            ops.append(qml.IsingZZ(phi, wires=g))
        else:
            ops.append(qml.MultiRZ(phi, wires=g))
    ops.extend(qml.Hadamard(q) for q in range(n_qubits))
    return ops


def iqp_ops(generators: np.ndarray, angles: np.ndarray, n_qubits: int) -> list:
    """PennyLane operations of the circuit: Hadamards, the diagonal gates, Hadamards.

    Generator ``g_j`` with angle ``theta_j`` becomes ``exp(-i theta_j Z_{g_j})``:
    ``RZ(2 theta_j)``, ``IsingZZ(2 theta_j)`` or ``MultiRZ(2 theta_j)`` by weight.
    The generators are checked and the angles taken as Python floats.
    """
    gens = _check_circuit(generators, angles, n_qubits)
    return iqp_gate_ops(gens, [float(t) for t in np.asarray(angles, dtype=np.float64)], n_qubits)


def _monomials(n_bits: int, masks: Sequence[tuple[int, ...]]) -> np.ndarray:
    """[2^n_bits, M] values of prod_{q in mask} (-1)^{z_q} over big-endian bitstrings z."""
    if not masks:
        return np.zeros((2**n_bits, 0))
    index = np.arange(2**n_bits, dtype=np.int64)
    signs = 1.0 - 2.0 * ((index[:, None] >> np.arange(n_bits - 1, -1, -1, dtype=np.int64)) & 1)
    out = np.ones((2**n_bits, len(masks)))
    for col, mask in enumerate(masks):
        for q in mask:
            out[:, col] *= signs[:, q]
    return out


def _phase_parts(
    generators: np.ndarray, angles: np.ndarray, n_qubits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``f_H``, ``f_L``, ``left``, ``right`` with ``phi = f_H[:, None] + f_L[None, :] + left @ right.T``.

    The qubits split into a high half H (the leading, most significant bits) and a
    low half L. Each Z-string is an H-monomial times an L-monomial: strings inside
    one half fold into ``f_H`` or ``f_L``; the others give the low-rank cross term.
    """
    gens = _check_circuit(generators, angles, n_qubits)
    n_high = n_qubits // 2
    n_low = n_qubits - n_high
    f_high: dict[tuple[int, ...], float] = {}
    f_low: dict[tuple[int, ...], float] = {}
    cross: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
    for g, theta in zip(gens, np.asarray(angles, dtype=np.float64)):
        high = tuple(q for q in g if q < n_high)
        low = tuple(q - n_high for q in g if q >= n_high)
        if not low:
            f_high[high] = f_high.get(high, 0.0) - theta
        elif not high:
            f_low[low] = f_low.get(low, 0.0) - theta
        else:
            cross[(high, low)] = cross.get((high, low), 0.0) - theta

    def folded(n_bits: int, terms: dict[tuple[int, ...], float]) -> np.ndarray:
        masks = list(terms)
        return _monomials(n_bits, masks) @ np.array([terms[m] for m in masks]) if masks else np.zeros(2**n_bits)

    rows = sorted({high for high, _ in cross})
    cols = sorted({low for _, low in cross})
    weights = np.zeros((len(rows), len(cols)))
    row_of = {m: i for i, m in enumerate(rows)}
    col_of = {m: i for i, m in enumerate(cols)}
    for (high, low), value in cross.items():
        weights[row_of[high], col_of[low]] = value
    left = _monomials(n_high, rows) @ weights
    return folded(n_high, f_high), folded(n_low, f_low), left, _monomials(n_low, cols)


def iqp_phase(generators: np.ndarray, angles: np.ndarray, n_qubits: int) -> np.ndarray:
    """``phi(z) = -sum_j theta_j (-1)^(z . g_j)`` on all ``2^n`` bitstrings, big-endian.

    Built as ``f_H[:, None] + f_L[None, :] + left @ right.T`` over a split of the
    qubits into two halves (one small matrix product, not one pass per generator).
    """
    f_high, f_low, left, right = _phase_parts(generators, angles, n_qubits)
    phi = left @ right.T
    phi += f_high[:, None]
    phi += f_low[None, :]
    return phi.reshape(-1)


def _wht_axis0(flat: np.ndarray, scratch: np.ndarray) -> None:
    """Unnormalised Walsh-Hadamard transform along axis 0 of a contiguous [2^k, W] array, in place."""
    length, width = flat.shape
    half = 1
    while half < length:
        pair = flat.reshape(length // (2 * half), 2, half * width)
        upper, lower = pair[:, 0, :], pair[:, 1, :]
        diff = scratch[: upper.size].reshape(upper.shape)
        np.subtract(upper, lower, out=diff)
        upper += lower
        lower[...] = diff
        half *= 2


def _transpose_into(src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[...] = src.T`` tile by tile, so both sides stay in cache."""
    rows, cols = src.shape
    for i in range(0, rows, _TILE):
        for j in range(0, cols, _TILE):
            dst[j : j + _TILE, i : i + _TILE] = src[i : i + _TILE, j : j + _TILE].T


def walsh_hadamard(x: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh-Hadamard transform ``H^{(x)n} x`` (entries +-1) of a complex vector, in place.

    Viewed as a [2^(n//2), 2^(n - n//2)] matrix, the transform runs along the rows,
    then (after a tiled transpose) along the columns, so every butterfly pass works
    on long contiguous runs; that is what makes it fast at 20+ qubits.
    """
    if x.ndim != 1 or x.dtype != np.complex128 or not x.flags.c_contiguous:
        raise ValueError("walsh_hadamard needs a contiguous 1-D complex128 array")
    size = x.size
    if size & (size - 1):
        raise ValueError(f"length {size} is not a power of two")
    n_bits = size.bit_length() - 1
    rows = 2 ** (n_bits // 2)
    matrix = x.reshape(rows, size // rows)
    scratch = np.empty(size, dtype=np.float64)
    _wht_axis0(matrix.view(np.float64), scratch)
    transposed = np.empty((size // rows, rows), dtype=np.complex128)
    _transpose_into(matrix, transposed)
    _wht_axis0(transposed.view(np.float64), scratch)
    _transpose_into(transposed, matrix)
    return x


def iqp_probs(generators: np.ndarray, angles: np.ndarray, n_qubits: int) -> np.ndarray:
    """Exact big-endian output probabilities of the IQP circuit (numpy; the main path).

    ``p(x) = |2^-n sum_z (-1)^(x . z) exp(i phi(z))|^2``: the phase on every bitstring
    (:func:`iqp_phase`), then one fast Walsh-Hadamard transform.
    """
    f_high, f_low, left, right = _phase_parts(generators, angles, n_qubits)
    amp = np.empty((f_high.size, f_low.size), dtype=np.complex128)
    rows_per_block = max(1, _BLOCK_ENTRIES // f_low.size)
    for start in range(0, f_high.size, rows_per_block):
        stop = start + rows_per_block
        phi = left[start:stop] @ right.T
        phi += f_high[start:stop, None]
        phi += f_low[None, :]
        np.cos(phi, out=amp.real[start:stop])
        np.sin(phi, out=amp.imag[start:stop])
    amp = walsh_hadamard(amp.reshape(-1))
    pairs = amp.view(np.float64).reshape(-1, 2)
    np.square(pairs, out=pairs)
    probs = pairs[:, 0] + pairs[:, 1]
    probs /= float(4**n_qubits)
    return probs


def iqp_probs_lightning(generators: np.ndarray, angles: np.ndarray, n_qubits: int) -> np.ndarray:
    """Exact output probabilities from ``qml.probs`` on ``lightning.qubit`` (the reference path)."""
    # heavy: qgenflow.circuits loads pennylane and numba; this module is imported at Snakefile parse
    from ..circuits import CircuitRunner

    runner = CircuitRunner(make_device({"name": "lightning.qubit"}, n_qubits), n_qubits)
    return runner.probs(iqp_ops(generators, angles, n_qubits))


def iqp_samples_lightning(
    generators: np.ndarray, angles: np.ndarray, n_qubits: int, n_samples: int, seed: int
) -> np.ndarray:
    """[n_samples, n] uint8 samples from ``lightning.qubit`` with shots, seeded by ``seed``."""
    # heavy: pennylane takes seconds to import; this module is imported at Snakefile parse (the plan)
    import pennylane as qml

    device = make_device({"name": "lightning.qubit"}, n_qubits, seed=seed)
    tape = qml.tape.QuantumScript(
        iqp_ops(generators, angles, n_qubits), [qml.sample(wires=range(n_qubits))], shots=int(n_samples)
    )
    samples = np.asarray(device.execute(tape))
    return samples.reshape(int(n_samples), n_qubits).astype(np.uint8)


def anticoncentration(probs: np.ndarray) -> float:
    """``2^n sum_x p(x)^2``: 1 for the uniform distribution, about 2 for Porter-Thomas."""
    probs = np.asarray(probs, dtype=np.float64)
    return float(probs.size * np.dot(probs, probs))


def linear_xeb(probs: np.ndarray, samples: np.ndarray) -> float:
    """Linear cross-entropy benchmark ``2^n <p(x_i)> - 1`` of ``samples`` against ``probs``.

    An exact sampler scores ``anticoncentration(probs) - 1`` on average.
    """
    probs = np.asarray(probs, dtype=np.float64)
    return float(probs.size * probs[bits_to_index(samples)].mean() - 1.0)


def make_iqp(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Random IQP target from its config entry, seeded by ``rng`` (the run's target stream).

    ``spec`` keys (see the schema's ``target_iqp``): ``n_qubits``, ``n_samples``,
    ``generators``, ``angles``, ``circuit_seed``, ``method``. With ``circuit_seed:
    null`` the circuit seed is drawn from ``rng``, so each run seed has its own
    circuit; the seed used is stored as the ``circuit_seed`` attribute and
    ``build_iqp(spec, circuit_seed)`` rebuilds the circuit. Samples are exact draws
    from the probabilities (``method: exact``) or ``lightning.qubit`` shots
    (``method: shots``, no ``probs``).
    """
    spec = with_defaults("targets", {**spec, "kind": "iqp"})
    n, _, _, method = _settings(spec)
    n_samples = int(spec["n_samples"])
    circuit_seed = spec.get("circuit_seed")
    circuit_seed = int(rng.integers(0, 2**62)) if circuit_seed is None else int(circuit_seed)
    generators, angles = build_iqp(spec, circuit_seed)
    attrs: dict[str, Any] = {
        "n_generators": len(angles),
        "circuit_seed": circuit_seed,
        "method": method,
        "phase_convention": PHASE_CONVENTION,
    }
    extra = {"circuit/generators": generators, "circuit/angles": angles}
    if method == "exact":
        probs = iqp_probs(generators, angles, n)
        samples = sample_from_probs(probs, n_samples, rng)
        attrs["anticoncentration"] = anticoncentration(probs)
        attrs["xeb"] = linear_xeb(probs, samples)
        log.info("iqp: %d qubits, %d generators, 2^n sum p^2 = %.3f", n, len(angles), attrs["anticoncentration"])
        return Target(n_qubits=n, samples=samples, probs=probs, extra=extra, attrs=attrs)
    samples = iqp_samples_lightning(generators, angles, n, n_samples, int(rng.integers(0, 2**31 - 1)))
    log.info("iqp: %d qubits, %d generators, %d samples from lightning.qubit", n, len(angles), n_samples)
    return Target(n_qubits=n, samples=samples, probs=None, extra=extra, attrs=attrs)
