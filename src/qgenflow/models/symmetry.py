"""Number-conserving Born-machine circuits: every sample has the same Hamming weight.

Ground states of spin models with a U(1) symmetry live in one magnetisation
sector (the 4x4 Heisenberg ground state: Sz = 0, half the bits 1). A circuit that
starts from a product state of that weight and applies only number-conserving
gates keeps all of its probability there, exactly, whatever its angles: the
model never wastes mass on the other 2^n - C(n, n/2) bitstrings.

The reference state puts bits 1 on ``weight`` wires with PauliX (by default a
Néel pattern: odd sites of a chain, one sublattice of a checkerboard). Each
layer then acts on a fixed list of wire pairs with

* ``qml.SingleExcitation(theta)``: a real Givens rotation in span{|01>, |10>}, the
  hopping of one excitation between the two wires; and
* ``qml.IsingZZ(phi)`` (option ``zz_phase``, default on): a diagonal phase
  ``exp(-i phi Z Z / 2)``, which conserves the weight too.

Probabilities only need |amplitudes|, but amplitudes interfere at later Givens
rotations, so their signs and phases matter. Givens rotations alone keep them
real and, on nearest-neighbour pairs of a chain, form a free-fermion (matchgate)
circuit whose output distributions are those of Slater determinants; the ZZ
phases are an interaction that lifts this restriction. Both gates are
differentiated by lightning's adjoint method.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Sequence

import numpy as np

from ..errors import InvalidConfigError
from .ansatz import Ansatz, register_ansatz

__all__ = ["SymmetryPreserving", "lattice_pairs", "neel_reference", "sector_mass"]

log = logging.getLogger(__name__)

PAIRS = ("auto", "chain", "lattice", "all")
REFERENCES = ("neel", "block")
OPTIONS = ("weight", "reference", "lattice", "pbc", "pairs", "zz_phase")


def _coordinates(n: int, lattice: Sequence[int] | None) -> np.ndarray:
    """[n, d] integer coordinates of the sites (row-major, NetKet's ``Grid`` order), a chain if no lattice."""
    if lattice is None:
        return np.arange(n)[:, None]
    return np.array(list(itertools.product(*(range(int(s)) for s in lattice))), dtype=np.int64)


def lattice_pairs(lattice: Sequence[int], pbc: bool = False) -> np.ndarray:
    """Nearest-neighbour bonds [B, 2] (i < j, sorted) of a chain ``[L]`` or grid ``[Lx, Ly]``.

    Site ``(x, y)`` is ``x * Ly + y``, as in NetKet's ``Grid`` (and the spin targets).
    With ``pbc`` a dimension longer than 2 wraps around; one of length 2 gains no
    second bond, again as in NetKet.
    """
    extent = [int(s) for s in lattice]
    coords = _coordinates(int(np.prod(extent)), extent)
    strides = np.array([int(np.prod(extent[k + 1 :])) for k in range(len(extent))], dtype=np.int64)
    bonds = set()
    for site in coords:
        for axis, size in enumerate(extent):
            other = site.copy()
            other[axis] += 1
            if other[axis] == size:
                if not pbc or size <= 2:
                    continue
                other[axis] = 0
            i, j = int(site @ strides), int(other @ strides)
            if i != j:
                bonds.add((min(i, j), max(i, j)))
    return np.array(sorted(bonds), dtype=np.int64).reshape(-1, 2)


def neel_reference(n: int, weight: int, lattice: Sequence[int] | None = None) -> np.ndarray:
    """Bits [n] with ``weight`` ones: sites of odd coordinate sum first (a Néel / checkerboard pattern), then even.

    For ``weight`` equal to the size of the odd sublattice this is exactly one
    sublattice of the chain or grid.
    """
    parity = _coordinates(n, lattice).sum(axis=1) % 2
    order = sorted(range(n), key=lambda i: (-parity[i], i))
    bits = np.zeros(n, dtype=np.uint8)
    bits[order[:weight]] = 1
    return bits


def sector_mass(probs: np.ndarray, weight: int) -> float:
    """Total probability of the bitstrings of Hamming weight ``weight`` in a big-endian vector."""
    probs = np.asarray(probs, dtype=np.float64)
    n = int(round(np.log2(probs.size)))
    weights = np.zeros(1, dtype=np.int64)
    for _ in range(n):  # Hamming weight of every index, built bit by bit (big-endian order).
        weights = np.concatenate([weights, weights + 1])
    return float(probs[weights == weight].sum())


@register_ansatz("symmetry_preserving")
class SymmetryPreserving(Ansatz):
    """Fixed-Hamming-weight circuit: a PauliX reference, then layers of Givens rotations (+ ZZ phases) on pairs.

    Options:
        weight: number of bits 1 in every sample (default, or None: ``n // 2``, the Sz = 0 sector).
        reference: ``neel`` (default; odd sublattice first) or ``block`` (wires ``0..weight-1``).
        lattice: ``[L]`` or ``[Lx, Ly]`` site layout (default: the target's ``lattice`` when it has one).
        pbc: periodic bonds on the lattice (default: the target's ``pbc`` when its lattice is used, else false).
        pairs: ``auto`` (default; ``lattice`` when a lattice is known, else ``chain``),
            ``chain`` (i, i+1), ``lattice`` (nearest-neighbour bonds) or ``all`` (every pair).
        zz_phase: add ``IsingZZ`` after every Givens rotation (default true).

    Structure:
        reference: uint8 [n], the bits of the reference state.
        pairs: int [P, 2], the wire pairs each layer acts on, in order.
    """

    def prepare(self, target: Any) -> None:
        """Fix the reference state and the pairs, adopting the target's lattice if none is given."""
        opts = self.options
        unknown = set(opts) - set(OPTIONS)
        if unknown:
            raise InvalidConfigError(
                "ansatz_options",
                f"unknown option(s) {', '.join(sorted(unknown))} for symmetry_preserving; allowed: {', '.join(OPTIONS)}",
            )
        n = self.n_qubits
        weight = n // 2 if opts.get("weight") is None else int(opts["weight"])
        if not 0 <= weight <= n:
            raise InvalidConfigError("ansatz_options.weight", f"must be between 0 and {n}, got {weight}")
        lattice, pbc = opts.get("lattice"), opts.get("pbc")
        target_config = _target_config(target)
        if lattice is None and target_config.get("lattice") is not None:
            lattice = target_config["lattice"]
            pbc = bool(target_config.get("pbc", True)) if pbc is None else pbc
            log.info("symmetry_preserving: using the target's lattice %s (pbc=%s)", lattice, pbc)
        pbc = bool(pbc) if pbc is not None else False
        if lattice is not None:
            lattice = [int(s) for s in lattice]
            if not 1 <= len(lattice) <= 2 or min(lattice) < 1 or int(np.prod(lattice)) != n:
                raise InvalidConfigError(
                    "ansatz_options.lattice", f"must be [L] or [Lx, Ly] with {n} sites in all, got {lattice}"
                )
        self.structure["reference"] = self._reference(weight, lattice)
        self.structure["pairs"] = self._pairs(lattice, pbc)
        if target is not None:
            probs = target.get("probs") if hasattr(target, "datasets") else getattr(target, "probs", None)
            if probs is not None and probs.size == 2**n:
                outside = 1.0 - sector_mass(probs, weight)
                if outside > 1e-9:
                    log.warning(
                        "symmetry_preserving: %.3g of the target's probability lies outside Hamming weight %d, "
                        "which this ansatz cannot represent",
                        outside,
                        weight,
                    )

    def _reference(self, weight: int, lattice: list[int] | None) -> np.ndarray:
        kind = self.options.get("reference", "neel")
        if kind == "neel":
            return neel_reference(self.n_qubits, weight, lattice)
        if kind == "block":
            return (np.arange(self.n_qubits) < weight).astype(np.uint8)
        raise InvalidConfigError(
            "ansatz_options.reference", f"unknown reference {kind!r}; allowed: {', '.join(REFERENCES)}"
        )

    def _pairs(self, lattice: list[int] | None, pbc: bool) -> np.ndarray:
        n = self.n_qubits
        kind = self.options.get("pairs", "auto")
        if kind not in PAIRS:
            raise InvalidConfigError("ansatz_options.pairs", f"unknown pairs {kind!r}; allowed: {', '.join(PAIRS)}")
        if kind == "auto":
            kind = "lattice" if lattice is not None else "chain"
        if kind == "all":
            return np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64).reshape(-1, 2)
        if kind == "lattice":
            if lattice is None:
                raise InvalidConfigError(
                    "ansatz_options.pairs", "pairs: lattice needs ansatz_options.lattice (or a target with a lattice)"
                )
            return lattice_pairs(lattice, pbc)
        return lattice_pairs([n], pbc)

    @property
    def reference(self) -> np.ndarray:
        if "reference" not in self.structure:
            self.prepare(None)
        return self.structure["reference"]

    @property
    def pairs(self) -> np.ndarray:
        if "pairs" not in self.structure:
            self.prepare(None)
        return self.structure["pairs"]

    @property
    def weight(self) -> int:
        """Hamming weight of every bitstring the circuit can produce."""
        return int(self.reference.sum())

    @property
    def shape(self) -> tuple[int, ...]:
        per_pair = 2 if self.options.get("zz_phase", True) else 1
        return (self.layers, len(self.pairs), per_pair)

    def ops(self, params: np.ndarray) -> list:
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit
        angles = np.asarray(params).reshape(self.shape)
        pairs = [[int(i), int(j)] for i, j in self.pairs]
        ops = [qml.PauliX(wires=int(w)) for w in np.flatnonzero(self.reference)]
        for layer in angles:
            for wires, gate in zip(pairs, layer):
                ops.append(qml.SingleExcitation(gate[0], wires=wires))
                if gate.size > 1:
                    ops.append(qml.IsingZZ(gate[1], wires=wires))
        return ops


def _target_config(target: Any) -> dict[str, Any]:
    """The config slice a target artefact was made from ({} for anything else)."""
    try:
        config = getattr(target, "config", None)
    except (KeyError, TypeError, ValueError):  # an artefact without a readable config_json
        return {}
    return dict(config) if isinstance(config, dict) else {}
