"""Molecular ground states: the occupation-number distribution of a full-CI (CASCI) ground state.

The qubit Hamiltonian comes from PennyLane's quantum-chemistry module with its built-in
differentiable restricted Hartree-Fock (``qml.qchem.molecular_hamiltonian(method="dhf")``;
no PySCF, no OpenFermion), Jordan-Wigner mapped. It includes the nuclear repulsion and the
frozen-core energy as its identity term, so its eigenvalues are total energies in Hartree.
Geometries are in angstrom (converted to bohr by ``qml.qchem.Molecule(unit="angstrom")``).

Qubit ``i`` is spin orbital ``i`` of the active space in PennyLane's order: spatial orbital
``i // 2`` by increasing Hartree-Fock energy, spin alpha for even ``i``, beta for odd ``i``.
Under Jordan-Wigner, bit ``i`` = 1 means spin orbital ``i`` is occupied (qubit in |1>), so
the Hartree-Fock determinant is ``1...10...0`` and the particle number of a bitstring is its
Hamming weight. Big-endian as everywhere (:mod:`qgenflow.bits`): wire 0 is the most
significant bit of a probability-vector index.

The ground state is found by exact diagonalisation in the sector of the reference state,
``N_alpha = (N + mult - 1) / 2`` and ``N_beta = (N - mult + 1) / 2`` active electrons: the
Hamiltonian's Pauli sum is applied to the sector's basis states only (:func:`sector_matrix`),
never to all ``2^n``. The target is ``|psi(x)|^2`` over all ``2^n`` bitstrings (zero outside
the sector), ``psi`` real, normalised, largest component positive (stored as ``state``).
A ground state degenerate within the sector has no unique Z-basis distribution and is refused.

PennyLane's Hamiltonian construction dominates the cost (measured on one shared core, STO-3G):
H2 0.2 s, H4 2 s, LiH (12 qubits) 5-8 s, BeH2 (14 qubits) 20-30 s, an H10 chain (20 qubits,
63504 sector states) 100 s plus 80 s for the sector matrix and ARPACK.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from ..bits import index_to_bits, sample_from_probs
from ..errors import InvalidConfigError
from ..limits import MAX_DENSE_QUBITS
from ..schema import with_defaults
from .base import Target

__all__ = [
    "BASIS_SETS",
    "DEGENERACY_TOL",
    "MOLECULES",
    "hamming_weights",
    "make_molecule",
    "molecular_hamiltonian",
    "molecule_geometry",
    "molecule_qubits",
    "particle_number_mass",
    "sector_ground_state",
    "sector_indices",
    "sector_matrix",
]

log = logging.getLogger(__name__)

#: Built-in molecules: default bond length (angstrom) and what it is.
MOLECULES: dict[str, tuple[float, str]] = {
    "H2": (0.7414, "H-H bond length (experimental r_e)"),
    "LiH": (1.5949, "Li-H bond length (experimental r_e)"),
    "BeH2": (1.3264, "Be-H bond length of the linear H-Be-H molecule"),
    "H4": (1.0, "spacing of the linear, equally spaced H-H-H-H chain"),
}
#: Basis sets PennyLane's qchem module ships (no download).
BASIS_SETS = ("sto-3g", "6-31g", "6-311g", "cc-pvdz")
#: Atomic numbers of H-Ne (the elements of PennyLane's built-in STO-3G data), so that the plan sizes a
#: molecule without importing PennyLane.
_LIGHT_ELEMENTS = ("H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne")
#: STO-3G spatial orbitals per atom: one s for H and He, 1s 2s 2p for Li-Ne.
_STO3G_ORBITALS = {s: 1 if z <= 2 else 5 for z, s in enumerate(_LIGHT_ELEMENTS, start=1)}
#: Ground-state energies closer than this (Hartree) within the sector count as degenerate.
DEGENERACY_TOL = 1e-8
#: Sector dimension up to which the ground state comes from dense ``eigh`` (else ARPACK ``eigsh``).
_DENSE_SECTOR = 500


def molecule_geometry(spec: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """(atomic symbols, [n_atoms, 3] coordinates in angstrom) of a ``molecule`` entry."""
    name, symbols = spec.get("molecule"), spec.get("symbols")
    if (name is None) == (symbols is None):
        raise InvalidConfigError("molecule", "give either molecule (a built-in name) or symbols + coordinates")
    if name is not None:
        if name not in MOLECULES:
            raise InvalidConfigError("molecule", f"unknown molecule {name!r}; allowed: {', '.join(MOLECULES)}")
        if spec.get("coordinates") is not None:
            raise InvalidConfigError("coordinates", "coordinates go with symbols, not with a built-in molecule")
        r = MOLECULES[name][0] if spec.get("bond_length") is None else float(spec["bond_length"])
        if r <= 0:
            raise InvalidConfigError("bond_length", f"must be > 0 angstrom, got {r}")
        table = {"H2": (["H", "H"], [0.0, r]), "LiH": (["Li", "H"], [0.0, r]),
                 "BeH2": (["H", "Be", "H"], [-r, 0.0, r]), "H4": (["H"] * 4, [0.0, r, 2 * r, 3 * r])}
        atoms, z = table[name]
        return list(atoms), np.array([[0.0, 0.0, zi] for zi in z])
    if spec.get("bond_length") is not None:
        raise InvalidConfigError("bond_length", "bond_length goes with a built-in molecule; give coordinates instead")
    coords = spec.get("coordinates")
    coords = np.asarray([] if coords is None else coords, dtype=np.float64)
    if coords.shape != (len(symbols), 3):
        raise InvalidConfigError(
            "coordinates", f"need one [x, y, z] (angstrom) per symbol: {len(symbols)} x 3, got shape {coords.shape}"
        )
    return [str(s) for s in symbols], coords


def _n_electrons(symbols: Sequence[str], charge: int) -> int:
    numbers = {s: z for z, s in enumerate(_LIGHT_ELEMENTS, start=1)}
    if not set(symbols) <= set(numbers):
        import pennylane as qml  # heavy: PennyLane takes seconds to load; targets is imported when Snakemake parses the workflow

        numbers = qml.qchem.basis_data.atomic_numbers
    unknown = sorted(set(symbols) - set(numbers))
    if unknown:
        raise InvalidConfigError("symbols", f"unknown elements {unknown}")
    return sum(numbers[s] for s in symbols) - int(charge)


def _spatial_orbitals(symbols: Sequence[str], coords: np.ndarray, basis: str) -> int:
    """Spatial orbitals of the whole basis: a table for STO-3G, PennyLane's basis data otherwise."""
    if basis == "sto-3g" and all(s in _STO3G_ORBITALS for s in symbols):
        return sum(_STO3G_ORBITALS[s] for s in symbols)
    import pennylane as qml  # heavy: PennyLane takes seconds to load; targets is imported when Snakemake parses the workflow

    return int(qml.qchem.Molecule(list(symbols), coords, basis_name=basis, unit="angstrom").n_orbitals)


def _active_space(spec: Mapping[str, Any], n_electrons: int, n_orbitals: int) -> tuple[int, int]:
    """(active electrons, active spatial orbitals), checked against the molecule."""
    mult = int(spec["mult"])
    if mult != 1 or n_electrons % 2:
        raise InvalidConfigError(
            "mult", f"PennyLane's built-in Hartree-Fock is closed-shell only: needs mult 1 and an even number of "
            f"electrons, got mult {mult} with {n_electrons} electrons (adjust charge)",
        )
    electrons = n_electrons if spec.get("active_electrons") is None else int(spec["active_electrons"])
    orbitals = n_orbitals if spec.get("active_orbitals") is None else int(spec["active_orbitals"])
    if not 0 < electrons <= n_electrons or (n_electrons - electrons) % 2:
        raise InvalidConfigError(
            "active_electrons", f"must be in 1..{n_electrons} and leave an even number of core electrons, got {electrons}"
        )
    core = (n_electrons - electrons) // 2
    if not 0 < orbitals <= n_orbitals - core or 2 * orbitals < electrons:
        raise InvalidConfigError(
            "active_orbitals", f"must hold the {electrons} active electrons ({math.ceil(electrons / 2)}..."
            f"{n_orbitals - core} orbitals beside {core} core orbitals), got {orbitals}",
        )
    return electrons, orbitals


def molecule_qubits(spec: Mapping[str, Any]) -> int:
    """Qubits of a ``molecule`` entry: two per active spatial orbital (refused above MAX_DENSE_QUBITS)."""
    spec = with_defaults("targets", {**spec, "kind": "molecule"})
    if spec.get("active_orbitals") is not None and spec.get("active_electrons") is not None:
        n = 2 * int(spec["active_orbitals"])
    else:
        symbols, coords = molecule_geometry(spec)
        n_orbitals = _spatial_orbitals(symbols, coords, spec["basis"])
        n = 2 * _active_space(spec, _n_electrons(symbols, spec["charge"]), n_orbitals)[1]
    if n > MAX_DENSE_QUBITS:
        raise InvalidConfigError(
            "active_orbitals", f"the molecule needs {n} qubits; exact diagonalisation allows at most "
            f"{MAX_DENSE_QUBITS} ({MAX_DENSE_QUBITS // 2} active orbitals)",
        )
    return n


def molecular_hamiltonian(spec: Mapping[str, Any]):
    """(Jordan-Wigner qubit Hamiltonian as a PennyLane operator, info) of a ``molecule`` entry.

    ``info``: ``n_qubits``, ``n_electrons`` (all), ``active_electrons``, ``active_orbitals``,
    ``hf_energy`` and ``nuclear_repulsion`` (Hartree), ``symbols`` and ``coordinates`` (angstrom).
    """
    spec = with_defaults("targets", {**spec, "kind": "molecule"})
    import pennylane as qml  # heavy: PennyLane takes seconds to load; targets is imported when Snakemake parses the workflow

    if spec["mapping"] != "jordan_wigner":
        raise InvalidConfigError("mapping", f"only jordan_wigner is supported, got {spec['mapping']!r}")
    if spec["basis"] not in BASIS_SETS:
        raise InvalidConfigError("basis", f"unknown basis {spec['basis']!r}; allowed: {', '.join(BASIS_SETS)}")
    symbols, coords = molecule_geometry(spec)
    n_electrons = _n_electrons(symbols, spec["charge"])
    mol = qml.qchem.Molecule(symbols, coords, charge=int(spec["charge"]), mult=int(spec["mult"]),
                             basis_name=spec["basis"], unit="angstrom")
    electrons, orbitals = _active_space(spec, n_electrons, mol.n_orbitals)
    n = 2 * orbitals
    if n > MAX_DENSE_QUBITS:
        raise InvalidConfigError("active_orbitals", f"{n} qubits; at most {MAX_DENSE_QUBITS} allowed")
    ham, n_wires = qml.qchem.molecular_hamiltonian(
        mol, method="dhf", active_electrons=electrons, active_orbitals=orbitals, mapping="jordan_wigner"
    )
    if n_wires != n:
        raise RuntimeError(f"PennyLane built a {n_wires}-qubit Hamiltonian, expected {n}")
    info = {
        "n_qubits": n, "n_electrons": n_electrons, "active_electrons": electrons, "active_orbitals": orbitals,
        "hf_energy": float(np.squeeze(qml.qchem.hf_energy(mol)())),
        "nuclear_repulsion": float(np.squeeze(qml.qchem.nuclear_energy(mol.nuclear_charges, mol.coordinates)())),
        "symbols": symbols, "coordinates": coords,
    }
    return ham, info


def hamming_weights(n: int) -> np.ndarray:
    """Number of bits 1 of every index ``0 .. 2^n - 1``."""
    return np.bitwise_count(np.arange(2**n, dtype=np.uint64)).astype(np.int64)


def sector_indices(n: int, n_alpha: int, n_beta: int) -> np.ndarray:
    """Sorted big-endian indices of the bitstrings with ``n_alpha`` ones on even wires and ``n_beta`` on odd."""
    index = np.arange(2**n, dtype=np.uint64)
    even = sum(1 << (n - 1 - w) for w in range(0, n, 2))  # wire w is bit n - 1 - w of the index
    odd = (2**n - 1) ^ even
    keep = (np.bitwise_count(index & np.uint64(even)) == n_alpha) & (np.bitwise_count(index & np.uint64(odd)) == n_beta)
    return np.flatnonzero(keep).astype(np.int64)


def sector_matrix(sentence, n: int, indices: np.ndarray) -> sp.csr_matrix:
    """The real matrix of a particle-conserving Pauli sum restricted to the basis states ``indices``.

    A Pauli word maps ``|b>`` to ``i^{#Y} (-1)^{|b & z|} |b ^ x>``, with ``x`` the wires
    carrying X or Y and ``z`` those carrying Z or Y (as bit masks, big-endian). Words are
    grouped by ``x``; images outside ``indices`` are dropped, which is exact for an operator
    that conserves the sector (their contributions cancel in the sum).
    """
    indices = np.asarray(indices, dtype=np.int64)
    groups: dict[int, list[tuple[int, complex]]] = {}
    for word, coeff in sentence.items():
        x = z = n_y = 0
        for wire, pauli in word.items():
            bit = 1 << (n - 1 - int(wire))
            x |= bit if pauli in ("X", "Y") else 0
            z |= bit if pauli in ("Z", "Y") else 0
            n_y += pauli == "Y"
        groups.setdefault(x, []).append((z, complex(coeff) * 1j**n_y))
    rows, cols, vals = [], [], []
    states = indices.astype(np.uint64)
    for x, terms in groups.items():
        image = indices ^ x
        pos = np.searchsorted(indices, image)
        inside = (pos < len(indices)) & (indices[np.minimum(pos, len(indices) - 1)] == image)
        amp = np.zeros(len(indices), dtype=np.complex128)
        for z, c in terms:
            amp += c * (1.0 - 2.0 * (np.bitwise_count(states & np.uint64(z)) & 1).astype(np.float64))
        keep = inside & (np.abs(amp) > 1e-14)
        rows.append(pos[keep])
        cols.append(np.flatnonzero(keep))
        vals.append(amp[keep])
    vals_all = np.concatenate(vals) if vals else np.zeros(0, dtype=np.complex128)
    if vals_all.size and np.max(np.abs(vals_all.imag)) > 1e-10:
        raise ValueError("the operator has complex matrix elements in the occupation basis")
    dim = len(indices)
    return sp.csr_matrix((vals_all.real, (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim))


def sector_ground_state(matrix: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """(two lowest eigenvalues, or one for a 1-state sector; ground-state vector) of a real symmetric matrix."""
    dim = matrix.shape[0]
    if dim <= _DENSE_SECTOR:
        energies, vectors = np.linalg.eigh(matrix.toarray())
        return energies[:2], vectors[:, 0]
    # A fixed start vector makes ARPACK reproducible (its default start is random).
    v0 = np.random.default_rng(20250101).normal(size=dim)
    energies, vectors = sla.eigsh(matrix, k=2, which="SA", v0=v0, tol=1e-14, ncv=min(dim, 40))
    order = np.argsort(energies)
    return energies[order], vectors[:, order[0]]


def particle_number_mass(probs_or_samples: np.ndarray, particles: int, from_samples: bool) -> float:
    """Probability (or share of samples) with exactly ``particles`` bits 1: mass in the particle-number sector."""
    if from_samples:
        return float(np.mean(np.asarray(probs_or_samples, dtype=np.int64).sum(axis=1) == particles))
    probs = np.asarray(probs_or_samples, dtype=np.float64)
    n = probs.size.bit_length() - 1
    return float(probs[hamming_weights(n) == particles].sum())


def _expectation(sentence, n: int, indices: np.ndarray, psi: np.ndarray) -> float:
    return float(psi @ (sector_matrix(sentence, n, indices) @ psi))


def _ground_state(ham, info: Mapping[str, Any]) -> dict[str, Any]:
    """Sector-restricted ground state: energy, gap, state over all 2^n bitstrings, <S^2>."""
    import pennylane as qml  # heavy: PennyLane takes seconds to load; targets is imported when Snakemake parses the workflow

    n, electrons = info["n_qubits"], info["active_electrons"]
    n_alpha = n_beta = electrons // 2  # closed shell (mult 1): S_z = 0
    indices = sector_indices(n, n_alpha, n_beta)
    sentence = qml.pauli.pauli_sentence(ham)
    matrix = sector_matrix(sentence, n, indices)
    asym = abs(matrix - matrix.T).max() if matrix.nnz else 0.0
    if asym > 1e-10:
        raise RuntimeError(f"the sector Hamiltonian is not symmetric (max |H - H^T| = {asym:.2e})")
    energies, psi = sector_ground_state(matrix)
    gap = float(energies[1] - energies[0]) if len(energies) > 1 else math.inf
    if gap < DEGENERACY_TOL:
        raise InvalidConfigError(
            "molecule", f"the ground state is degenerate in its sector (gap {gap:.1e} Ha): its Z-basis "
            "distribution is not unique; change the geometry, charge or active space",
        )
    psi = psi / np.linalg.norm(psi)
    psi = -psi if psi[np.argmax(np.abs(psi))] < 0 else psi
    state = np.zeros(2**n)
    state[indices] = psi
    spin2 = qml.pauli.pauli_sentence(qml.qchem.spin2(electrons, n))
    return {"energy": float(energies[0]), "gap": gap, "state": state, "sector_dimension": len(indices),
            "n_pauli_terms": len(sentence),
            "spin_z": 0.5 * (n_alpha - n_beta), "spin_squared": _expectation(spin2, n, indices, psi)}


def make_molecule(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Occupation-number distribution of a molecule's ground state in its active space (see the module docstring)."""
    spec = with_defaults("targets", {**spec, "kind": "molecule"})
    start = time.perf_counter()
    ham, info = molecular_hamiltonian(spec)
    built = time.perf_counter() - start
    ground = _ground_state(ham, info)
    n, electrons = info["n_qubits"], info["active_electrons"]
    probs = ground["state"] ** 2
    probs /= probs.sum()
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    occupation = index_to_bits(np.flatnonzero(probs), n).astype(np.float64).T @ probs[np.flatnonzero(probs)]
    formula = " ".join(f"{s}({x:.4f}, {y:.4f}, {z:.4f})" for s, (x, y, z) in zip(info["symbols"], info["coordinates"]))
    attrs: dict[str, Any] = {
        "hamiltonian": f"electronic Hamiltonian of {formula} angstrom, {spec['basis']} basis, "
        f"CAS({electrons}e, {info['active_orbitals']}o), Jordan-Wigner; total energy incl. nuclear repulsion",
        "energy_units": "hartree", "method": "exact",
        "energy": ground["energy"], "energy_exact": ground["energy"], "hf_energy": info["hf_energy"],
        "correlation_energy": ground["energy"] - info["hf_energy"], "nuclear_repulsion": info["nuclear_repulsion"],
        "spectral_gap": ground["gap"], "particle_number": electrons, "n_electrons": info["n_electrons"],
        "active_orbitals": info["active_orbitals"], "spin_z": ground["spin_z"], "spin_squared": ground["spin_squared"],
        "particle_number_mass": particle_number_mass(probs, electrons, from_samples=False),
        "sector_dimension": ground["sector_dimension"], "symbols": info["symbols"], "basis": spec["basis"],
        "mapping": spec["mapping"], "n_pauli_terms": ground["n_pauli_terms"],
        "hamiltonian_seconds": built, "ground_state_seconds": time.perf_counter() - start,
        "state_sign_convention": "real, normalised, largest component positive",
    }
    extra = {"state": ground["state"], "occupations": occupation,
             "coordinates_angstrom": np.asarray(info["coordinates"], dtype=np.float64)}
    log.info("molecule %s: %d qubits, E = %.10f Ha (HF %.10f), gap %.3g Ha, <S^2> = %.2e, H in %.1f s",
             "".join(info["symbols"]), n, ground["energy"], info["hf_energy"], ground["gap"],
             ground["spin_squared"], built)
    return Target(n_qubits=n, samples=samples, probs=probs, extra=extra, attrs=attrs)
