"""Ground states of lattice spin models (Heisenberg, transverse-field Ising) with NetKet.

Energies are in Pauli units, NetKet's convention (``energy_units = "pauli"``):
the Heisenberg bond is ``J (X X + Y Y + Z Z)``, four times the spin-1/2 ``S.S``.
The stored ground state is that of the physical Hamiltonian (no Marshall sign
rotation), real, normalised, with its largest component positive. Site ``i`` of
the lattice (NetKet's node order, positions in ``/site_positions``) is bit ``i``;
bit 0 = spin up = sigma^z eigenvalue +1.

``method: exact`` diagonalises with Lanczos (in the Sz = 0 sector for Heisenberg
models) and stores exact probabilities over all ``2^n`` bitstrings;
``method: vmc`` runs variational Monte Carlo (:mod:`qgenflow.targets.vmc`) and
stores samples from the converged state; ``method: dmrg`` (chains only) runs DMRG
(:mod:`qgenflow.targets.dmrg`), stores the state as an MPS under ``/mps`` and exact
samples drawn from it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

import numpy as np

from ..bits import bits_to_index, index_to_bits, sample_from_probs
from ..errors import InvalidConfigError
from ..schema import with_defaults
from .base import Target
from .dmrg import chain_bonds, chain_length, run_dmrg, sample_mps
from .vmc import run_vmc

__all__ = [
    "HEISENBERG_REFERENCE_ENERGY_PER_SITE",
    "build_graph",
    "build_hamiltonian",
    "marshall_energy",
    "exact_ground_state",
    "spin_observables",
    "staggered_structure_factor",
    "make_heisenberg",
    "make_tfim",
    "reference_energy",
    "tfim_chain_energy",
]

log = logging.getLogger(__name__)

# Sandvik, PRB 56, 11678 (1997): E/N in S.S units for the periodic L x L square lattice.
HEISENBERG_REFERENCE_ENERGY_PER_SITE = {4: -0.701780, 6: -0.678872, 8: -0.673487, 10: -0.671549}


def _lattice(spec: Mapping[str, Any]) -> list[int]:
    lattice = [int(x) for x in spec["lattice"]]
    if not 1 <= len(lattice) <= 2 or min(lattice) < 1:
        raise InvalidConfigError("lattice", f"must be [L] or [Lx, Ly] with positive sizes, got {spec['lattice']}")
    return lattice


def build_graph(spec: Mapping[str, Any], max_neighbor_order: int = 1):
    """NetKet graph of the target's lattice: a chain for ``[L]`` or ``[L, 1]``, else a grid."""
    spec = with_defaults("targets", spec)
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    lattice = [x for x in _lattice(spec) if x > 1] or [1]
    return nk.graph.Grid(extent=lattice, pbc=bool(spec["pbc"]), max_neighbor_order=max_neighbor_order)


def build_hamiltonian(spec: Mapping[str, Any], *, sign_rule: bool = False):
    """(Hilbert space, Hamiltonian, graph) for a ``heisenberg`` or ``tfim`` config entry.

    Heisenberg: ``H = J1 sum_<ij> sigma_i.sigma_j + J2 sum_<<ij>> sigma_i.sigma_j`` on the
    Sz = 0 sector. TFIM: ``H = -s J sum_<ij> Z_i Z_j - h sum_i X_i`` with ``s = +1`` for
    ``coupling: ferromagnetic`` and ``-1`` for antiferromagnetic, on the full space.
    ``sign_rule`` applies the Marshall sign to nearest-neighbour Heisenberg bonds (same
    spectrum and |psi|^2; makes the ground state positive on bipartite lattices).
    """
    spec = with_defaults("targets", spec)
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    kind = spec["kind"]
    if kind == "heisenberg":
        j1, j2 = float(spec["J1"]), float(spec["J2"])
        graph = build_graph(spec, max_neighbor_order=2 if j2 != 0.0 else 1)
        n = graph.n_nodes
        if n % 2:
            raise InvalidConfigError("lattice", f"the Sz = 0 sector needs an even number of sites, got {n}")
        hilbert = nk.hilbert.Spin(0.5, n, total_sz=0)
        if j2 != 0.0:
            ham = nk.operator.Heisenberg(hilbert, graph, J=[j1, j2], sign_rule=[sign_rule, False])
        else:
            ham = nk.operator.Heisenberg(hilbert, graph, J=j1, sign_rule=sign_rule)
        return hilbert, ham, graph
    if kind == "tfim":
        graph = build_graph(spec)
        hilbert = nk.hilbert.Spin(0.5, graph.n_nodes)
        coupling = spec["coupling"]
        if coupling not in ("ferromagnetic", "antiferromagnetic"):
            raise InvalidConfigError("coupling", f"must be ferromagnetic or antiferromagnetic, got {coupling!r}")
        j = float(spec["J"])
        # NetKet: H = -h sum X + J_nk sum ZZ, so a ferromagnet has J_nk = -J.
        j_nk = -j if coupling == "ferromagnetic" else j
        ham = nk.operator.Ising(hilbert, graph, h=float(spec["h"]), J=j_nk)
        return hilbert, ham, graph
    raise InvalidConfigError("kind", f"not a spin model: {kind!r}")


def _states_to_bits(states: np.ndarray) -> np.ndarray:
    """NetKet spin configurations (+1 = up) to qgenflow bits (0 = up)."""
    return (np.asarray(states) < 0).astype(np.uint8)


def exact_ground_state(hilbert, hamiltonian) -> tuple[float, np.ndarray]:
    """Lanczos ground energy and the ground state as a real vector over all 2^n bitstrings."""
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    # A fixed random start vector makes ARPACK bit-reproducible (its default start is random).
    v0 = np.random.default_rng(20250101).normal(size=hilbert.n_states)
    energies, vectors = nk.exact.lanczos_ed(
        hamiltonian, k=1, compute_eigenvectors=True, scipy_args={"tol": 1e-14, "ncv": 40, "v0": v0}
    )
    psi = np.asarray(vectors[:, 0])
    if np.iscomplexobj(psi):
        phase = psi[np.argmax(np.abs(psi))]
        psi = (psi * np.conj(phase) / abs(phase)).real
    psi = psi / np.linalg.norm(psi)
    if psi[np.argmax(np.abs(psi))] < 0:
        psi = -psi
    index = bits_to_index(_states_to_bits(hilbert.all_states()))
    full = np.zeros(2**hilbert.size)
    full[index] = psi
    return float(energies[0]), full


def spin_observables(probs_or_samples: np.ndarray, positions: np.ndarray, from_samples: bool) -> dict[str, Any]:
    """ZZ correlation matrix and the staggered structure factor (Pauli units).

    ``S(pi, pi) = (1/N) sum_ij (-1)^(r_i + r_j) <Z_i Z_j>`` with ``r`` the sum of
    integer lattice coordinates.
    """
    if from_samples:
        z = 1.0 - 2.0 * np.asarray(probs_or_samples, dtype=np.float64)
        zz = z.T @ z / len(z)
    else:
        probs = np.asarray(probs_or_samples)
        n = int(round(np.log2(probs.size)))
        support = np.flatnonzero(probs)
        z = 1.0 - 2.0 * index_to_bits(support, n).astype(np.float64)
        zz = (z * probs[support, None]).T @ z
    return {"zz_correlations": zz, "staggered_structure_factor": staggered_structure_factor(zz, positions)}


def staggered_structure_factor(zz: np.ndarray, positions: np.ndarray) -> float:
    """``S(pi, pi) = (1/N) sum_ij (-1)^(r_i + r_j) <Z_i Z_j>`` from a ZZ matrix and integer site coordinates."""
    parity = (-1.0) ** np.rint(np.asarray(positions).sum(axis=1))
    return float(parity @ np.asarray(zz) @ parity / len(parity))


def reference_energy(spec: Mapping[str, Any]) -> float | None:
    """Published ground energy (Pauli units) when one is known for this lattice."""
    spec = with_defaults("targets", spec)
    lattice = _lattice(spec)
    if spec["kind"] == "heisenberg" and float(spec["J2"]) == 0.0 and spec["pbc"]:
        if len(lattice) == 2 and lattice[0] == lattice[1] and lattice[0] in HEISENBERG_REFERENCE_ENERGY_PER_SITE:
            n = lattice[0] * lattice[1]
            return 4.0 * HEISENBERG_REFERENCE_ENERGY_PER_SITE[lattice[0]] * n * float(spec["J1"])
    if spec["kind"] == "tfim" and spec["pbc"] and len([x for x in lattice if x > 1]) == 1:
        if float(spec["h"]) == float(spec["J"]) == 1.0:
            return tfim_chain_energy(max(lattice))
    return None


def tfim_chain_energy(length: int) -> float:
    """Closed-form critical (h = J = 1) periodic TFIM chain ground energy, -2 / sin(pi / (2L))."""
    return -2.0 / np.sin(np.pi / (2 * length))


def _hamiltonian_text(spec: Mapping[str, Any]) -> str:
    lattice = "x".join(str(x) for x in _lattice(spec))
    bc = "periodic" if spec["pbc"] else "open"
    if spec["kind"] == "heisenberg":
        text = f"H = {float(spec['J1'])} sum_<ij> (XX + YY + ZZ)"
        if float(spec["J2"]):
            text += f" + {float(spec['J2'])} sum_<<ij>> (XX + YY + ZZ)"
    else:
        sign = "-" if spec["coupling"] == "ferromagnetic" else "+"
        text = f"H = {sign}{float(spec['J'])} sum_<ij> ZZ - {float(spec['h'])} sum_i X"
    return f"{text}; {lattice} lattice, {bc} boundaries; Pauli operators"


def _exact_branch(spec: Mapping[str, Any], rng: np.random.Generator, ref: float | None) -> dict[str, Any]:
    hilbert, ham, graph = build_hamiltonian(spec, sign_rule=False)
    energy, state = exact_ground_state(hilbert, ham)
    probs = state**2
    probs /= probs.sum()
    obs = spin_observables(probs, graph.positions, from_samples=False)
    attrs = {"energy": energy, "energy_exact": energy, "state_sign_convention": (
        "ground state of the physical Hamiltonian (no Marshall rotation), real, "
        "normalised, largest component positive"
    )}
    return {
        "graph": graph, "energy": energy, "probs": probs, "obs": obs, "attrs": attrs,
        "samples": sample_from_probs(probs, int(spec["n_samples"]), rng),
        "extra": {"state": state, "zz_correlations": obs["zz_correlations"]},
    }


def _vmc_branch(spec: Mapping[str, Any], rng: np.random.Generator, ref: float | None) -> dict[str, Any]:
    hilbert, ham, graph = build_hamiltonian(spec, sign_rule=spec["kind"] == "heisenberg")
    result = run_vmc(ham, spec["vmc"], int(rng.integers(2**31)), int(spec["n_samples"]), graph=graph,
                     reference_energy=ref)
    obs = spin_observables(result.samples, graph.positions, from_samples=True)
    attrs = {
        "energy": result.energy, "energy_error": result.energy_error, "energy_variance": result.energy_variance,
        "vmc_model": result.model_description, "vmc_n_params": result.n_params,
        # sample quality of the final chains: autocorrelation times, acceptance, split R-hat, roll-backs
        **{f"vmc_{key}": float(value) for key, value in result.diagnostics.items()},
    }
    extra = {"zz_correlations": obs["zz_correlations"], **{f"history/{k}": v for k, v in result.history.items()}}
    return {"graph": graph, "energy": result.energy, "probs": None, "samples": result.samples, "obs": obs,
            "attrs": attrs, "extra": extra}


def _dmrg_branch(spec: Mapping[str, Any], rng: np.random.Generator, ref: float | None) -> dict[str, Any]:
    n = chain_length(spec)
    result = run_dmrg(spec)
    positions = np.arange(n, dtype=np.float64)[:, None]
    obs = {"zz_correlations": result.zz,
           "staggered_structure_factor": staggered_structure_factor(result.zz, positions)}
    extra: dict[str, Any] = {
        "zz_correlations": result.zz,
        "zz_connected": result.zz - np.outer(result.magnetization, result.magnetization),
        "magnetization": result.magnetization,
        **{f"dmrg/sweep_{k}": v for k, v in result.sweeps.items()},
    }
    width = len(str(n))
    dataset_attrs: dict[str, dict[str, Any]] = {}
    for i, b in enumerate(result.tensors):
        extra[f"mps/B_{i:0{width}d}"] = b
        dataset_attrs[f"mps/B_{i:0{width}d}"] = {"axes": "vL,p,vR", "site": i, "form": "right-canonical",
                                                "p": "0 = spin up = bit 0, 1 = spin down = bit 1"}
    for i, s in enumerate(result.singular_values):
        extra[f"mps/S_{i:0{width}d}"] = s
        dataset_attrs[f"mps/S_{i:0{width}d}"] = {"axes": "v", "bond": i, "between_sites": [i - 1, i]}
    attrs = {
        "energy": result.energy, "energy_variance": result.energy_variance,
        "truncation_error": result.truncation_error,
        "bond_dimension": max(result.bond_dimensions, default=1), "bond_dimensions": result.bond_dimensions,
        "dmrg_sweeps": len(result.sweeps["energy"]), "dmrg_converged": result.converged,
        "dmrg_library": "TeNPy two-site DMRG", "mps_sites": n,
        "boundary_handling": "finite MPS; periodic bond (0, L-1) as a long-range MPO term" if spec["pbc"]
        else "finite MPS, open chain",
    }
    return {"positions": positions, "bonds": chain_bonds(n, bool(spec["pbc"])), "energy": result.energy,
            "probs": None, "samples": sample_mps(result.tensors, int(spec["n_samples"]), rng), "obs": obs,
            "attrs": attrs, "extra": extra, "dataset_attrs": dataset_attrs}


#: How each ``method`` of a spin target finds its ground state.
_METHODS = {"exact": _exact_branch, "vmc": _vmc_branch, "dmrg": _dmrg_branch}


def _make_spin_target(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    method = spec["method"]
    if method not in _METHODS:
        raise InvalidConfigError("method", f"must be one of {', '.join(_METHODS)}, got {method!r}")
    start = time.perf_counter()
    ref = reference_energy(spec)
    found = _METHODS[method](spec, rng, ref)
    graph = found.get("graph")
    positions = np.asarray(graph.positions if graph is not None else found["positions"], dtype=np.float64)
    # Nearest-neighbour bonds (NetKet's edge colour 0): the evaluation's Marshall energy needs no NetKet.
    bonds = graph.edges(filter_color=0) if graph is not None else found["bonds"]
    energy, n = float(found["energy"]), len(positions)
    attrs: dict[str, Any] = {"hamiltonian": _hamiltonian_text(spec), "energy_units": "pauli", "method": method}
    attrs.update(found["attrs"])
    attrs.update(
        n_sites=n,
        energy_per_site=energy / n,
        staggered_structure_factor=found["obs"]["staggered_structure_factor"],
        ground_state_seconds=time.perf_counter() - start,
    )
    if ref is not None:
        attrs.update(energy_reference=ref, relative_error=abs((energy - ref) / ref))
    extra = {**found["extra"], "site_positions": positions,
             "bonds": np.asarray(bonds, dtype=np.int64).reshape(-1, 2)}
    log.info("%s ground state (%s): E = %.8f (%.8f per site)%s", spec["kind"], method, energy, energy / n,
             "" if ref is None else f", relative error {abs((energy - ref) / ref):.2e}")
    return Target(n_qubits=n, samples=found["samples"], probs=found["probs"], extra=extra, attrs=attrs,
                  dataset_attrs=found.get("dataset_attrs", {}))


def make_heisenberg(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Z-basis ground-state distribution of the spin-1/2 Heisenberg model (J1, optional J2)."""
    return _make_spin_target(with_defaults("targets", {**spec, "kind": "heisenberg"}), rng)


def make_tfim(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Z-basis ground-state distribution of the transverse-field Ising model."""
    return _make_spin_target(with_defaults("targets", {**spec, "kind": "tfim"}), rng)


def marshall_energy(probs: np.ndarray, bonds: np.ndarray, coupling: float) -> float:
    """Energy of psi(s) = sign_Marshall(s) sqrt(p(s)) under ``coupling * sum_bonds (XX + YY + ZZ)``.

    With the Marshall sign on every bond (NetKet's ``sign_rule=True``) the exchange term
    XX + YY, which swaps an antiparallel pair with amplitude 2, enters with sign -1, so
    ``E = J sum_b [ <Z_i Z_j>_p - 2 sum_{s: s_i != s_j} a(s) a(s with i, j flipped) ]`` with
    ``a = sqrt(p)``: one pass over the 2^n amplitudes per bond, no Hamiltonian matrix.
    Big-endian: bit ``i`` of a basis index is wire ``i``, wire 0 the most significant.
    """
    probs = np.clip(np.asarray(probs, dtype=np.float64).ravel(), 0.0, None)
    n = probs.size.bit_length() - 1
    amp = np.sqrt(probs)
    index = np.arange(probs.size)
    energy = 0.0
    for i, j in np.asarray(bonds, dtype=np.int64).reshape(-1, 2):
        mask_i, mask_j = 1 << (n - 1 - int(i)), 1 << (n - 1 - int(j))
        anti = ((index & mask_i) > 0) != ((index & mask_j) > 0)
        energy += probs[~anti].sum() - probs[anti].sum()
        energy -= 2.0 * float(np.dot(amp[anti], amp[index[anti] ^ (mask_i | mask_j)]))
    return float(coupling) * energy / float(probs.sum())

