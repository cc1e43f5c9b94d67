"""Ground states of spin chains by DMRG (TeNPy), kept as a matrix product state and sampled exactly.

:func:`run_dmrg` finds the ground state of a ``heisenberg`` or ``tfim`` chain entry with
TeNPy's two-site DMRG and returns it in right-canonical form. The Hamiltonians are the
ones :func:`qgenflow.targets.spin.build_hamiltonian` gives NetKet, in Pauli units:
Heisenberg ``J1 sum_<ij> (XX + YY + ZZ) + J2 sum_<<ij>> (XX + YY + ZZ)`` written as
``2 (S+ S- + S- S+) + Z Z`` per bond, conserving total Sz from a Neel start (the Sz = 0
sector, as ``method: exact``); TFIM ``-s J sum Z Z - h sum X`` without a conserved
charge, started from the symmetric product state ``|+>^L``.

Bit conventions (:mod:`qgenflow.bits`): MPS site ``i`` is chain site ``i`` and bit ``i``;
the physical axis of every stored tensor is ordered (spin up, spin down), so index 0 =
bit 0 = sigma^z eigenvalue +1, whatever basis order TeNPy's site uses internally.

Periodic chains (``pbc: true``) stay a finite MPS (``bc_MPS = "finite"``) with the wrap-around
bond ``(L-1, 0)`` as a long-range MPO term (TeNPy's ``bc_x = "periodic"``); their
entanglement is about twice an open chain's, so they need roughly the square of its bond
dimension. Open chains are recommended.

:func:`sample_mps` draws exact, independent samples from the right-canonical tensors by
sequential conditional sampling (perfect sampling), all samples at once, seeded by the
caller's generator.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidConfigError

__all__ = ["DMRGResult", "chain_bonds", "chain_length", "mps_amplitudes", "mps_tensors", "run_dmrg", "sample_mps"]

log = logging.getLogger(__name__)

#: Samples drawn per batch by :func:`sample_mps` (caps memory at batch x chi x 2 amplitudes).
SAMPLE_BATCH = 8192
#: Smallest periodic chain whose bonds at distance 1 (and 2 with J2) are all distinct.
MIN_PERIODIC_SITES = {1: 3, 2: 5}


@dataclass
class DMRGResult:
    """Outcome of :func:`run_dmrg`.

    Attributes:
        energy: ground energy (Pauli units) of the final MPS, ``<psi|H|psi>``.
        energy_variance: ``<H^2> - <H>^2`` of the final MPS (zero for an eigenstate).
        tensors: right-canonical ``B[i]`` of shape (chi_left, 2, chi_right), axes (vL, p, vR),
            physical index 0 = spin up = bit 0.
        singular_values: Schmidt values of the ``L + 1`` bonds (bond ``i`` lies left of site ``i``).
        magnetization: ``<Z_i>``.
        zz: ``<Z_i Z_j>`` (diagonal 1).
        truncation_error: largest discarded weight of the last sweep.
        sweeps: per-sweep ``energy``, ``max_trunc_err``, ``max_chi``, ``seconds`` (cumulative).
        converged: whether the last sweep changed the energy by less than ``max_E_err``.
    """

    energy: float
    energy_variance: float
    tensors: list[np.ndarray]
    singular_values: list[np.ndarray]
    magnetization: np.ndarray
    zz: np.ndarray
    truncation_error: float
    converged: bool
    sweeps: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def bond_dimensions(self) -> list[int]:
        """Bond dimension of each of the ``L - 1`` inner bonds."""
        return [int(b.shape[2]) for b in self.tensors[:-1]]


def chain_length(spec: Mapping[str, Any], key: str = "lattice") -> int:
    """Sites of a completed chain entry (``lattice: [L]``, ``[L, 1]`` or ``[1, L]``).

    Raises:
        InvalidConfigError: (naming ``key``) a 2D lattice, or a chain too short for its couplings.
    """
    lattice = [int(x) for x in spec["lattice"]]
    long = [x for x in lattice if x > 1]
    if len(long) > 1 or min(lattice) < 1:
        raise InvalidConfigError(
            key, f"method dmrg needs a 1D chain ([L], [L, 1] or [1, L]); got {spec['lattice']}; "
            "use method exact or vmc for 2D lattices",
        )
    n = long[0] if long else 1
    reach = 2 if spec["kind"] == "heisenberg" and float(spec["J2"]) != 0.0 else 1
    minimum = MIN_PERIODIC_SITES[reach] if spec["pbc"] else 2
    if n < minimum:
        raise InvalidConfigError(
            key, f"method dmrg needs at least {minimum} sites here (pbc {bool(spec['pbc'])}, "
            f"couplings up to distance {reach}), got {n}",
        )
    return n


def chain_bonds(n: int, pbc: bool) -> np.ndarray:
    """Nearest-neighbour bonds ``(i, i+1)`` of a chain, with ``(0, n-1)`` when periodic."""
    bonds = [(i, i + 1) for i in range(n - 1)]
    if pbc:
        bonds.append((0, n - 1))
    return np.asarray(bonds, dtype=np.int64).reshape(-1, 2)


def _chain_model(spec: Mapping[str, Any], n: int):
    """TeNPy MPO model of the chain and its initial product state."""
    # heavy: TeNPy takes over a second to load; targets is imported when Snakemake parses the workflow
    from tenpy.models.lattice import Chain
    from tenpy.models.model import CouplingModel, MPOModel  # heavy: TeNPy, as above
    from tenpy.networks.mps import MPS  # heavy: TeNPy, as above
    from tenpy.networks.site import SpinHalfSite  # heavy: TeNPy, as above

    heisenberg = spec["kind"] == "heisenberg"
    site = SpinHalfSite(conserve="Sz" if heisenberg else None)
    lattice = Chain(n, site, bc="periodic" if spec["pbc"] else "open", bc_MPS="finite")
    couplings = CouplingModel(lattice)
    if heisenberg:
        for dx, j in ((1, float(spec["J1"])), (2, float(spec["J2"]))):
            if j != 0.0:
                couplings.add_coupling(2.0 * j, 0, "Sp", 0, "Sm", dx, plus_hc=True)
                couplings.add_coupling(j, 0, "Sigmaz", 0, "Sigmaz", dx)
        start = ["up", "down"] * (n // 2) + ["up"] * (n % 2)
    else:
        sign = 1.0 if spec["coupling"] == "ferromagnetic" else -1.0
        couplings.add_coupling(-sign * float(spec["J"]), 0, "Sigmaz", 0, "Sigmaz", 1)
        couplings.add_onsite(-float(spec["h"]), 0, "Sigmax")
        start = [np.array([1.0, 1.0]) / np.sqrt(2.0)] * n  # |+>: in the site's own basis order either way
    model = MPOModel(lattice, couplings.calc_H_MPO())
    psi = MPS.from_product_state(lattice.mps_sites(), start, bc="finite", unit_cell_width=lattice.mps_unit_cell_width)
    return model, psi, site


def _dmrg_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "trunc_params": {"chi_max": int(settings["chi_max"]), "svd_min": float(settings["svd_min"])},
        "max_E_err": float(settings["max_E_err"]),
        "max_sweeps": int(settings["max_sweeps"]),
        "mixer": bool(settings["mixer"]),
    }


def mps_tensors(psi, site) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Right-canonical B tensors (vL, p, vR) with the physical axis in (up, down) order, and the Schmidt values."""
    order = [site.state_labels["up"], site.state_labels["down"]]
    tensors = []
    for i in range(psi.L):
        b = psi.get_B(i, form="B").transpose(["vL", "p", "vR"]).to_ndarray()
        b = b[:, order, :]
        tensors.append(b.real.copy() if not np.iscomplexobj(b) or not np.any(b.imag) else b)
    values = [np.asarray(psi.get_SL(i), dtype=np.float64) for i in range(psi.L)]
    values.append(np.asarray(psi.get_SR(psi.L - 1), dtype=np.float64))
    return tensors, values


def run_dmrg(spec: Mapping[str, Any]) -> DMRGResult:
    """Ground state of a completed ``heisenberg`` / ``tfim`` chain entry by two-site DMRG.

    Args:
        spec: the target entry with schema defaults (``lattice``, ``pbc``, couplings, ``dmrg``).

    Returns:
        The state as right-canonical tensors with its energy, correlations and truncation record.
    """
    # heavy: TeNPy takes over a second to load; targets is imported when Snakemake parses the workflow
    from tenpy.algorithms import dmrg

    n = chain_length(spec)
    model, psi, site = _chain_model(spec, n)
    start = time.perf_counter()
    info = dmrg.run(psi, model, _dmrg_options(spec["dmrg"]))
    stats = info["sweep_statistics"]
    psi.canonical_form()
    energy = float(np.real(model.H_MPO.expectation_value(psi)))
    tensors, values = mps_tensors(psi, site)
    result = DMRGResult(
        energy=energy,
        energy_variance=float(np.real(model.H_MPO.variance(psi))),
        tensors=tensors,
        singular_values=values,
        magnetization=np.real(psi.expectation_value("Sigmaz")).astype(np.float64),
        zz=np.real(psi.correlation_function("Sigmaz", "Sigmaz")).astype(np.float64),
        truncation_error=float(stats["max_trunc_err"][-1]),
        converged=bool(abs(stats["Delta_E"][-1]) < float(spec["dmrg"]["max_E_err"])),
        sweeps={
            "energy": np.asarray(stats["E"], dtype=np.float64),
            "max_trunc_err": np.asarray(stats["max_trunc_err"], dtype=np.float64),
            "max_chi": np.asarray(stats["max_chi"], dtype=np.int64),
            "seconds": np.asarray(stats["time"], dtype=np.float64),
        },
    )
    log.info("DMRG %s chain of %d sites: E = %.12f, %d sweeps, chi %d, truncation error %.2e in %.1f s",
             spec["kind"], n, energy, len(stats["E"]), max(result.bond_dimensions, default=1),
             result.truncation_error, time.perf_counter() - start)
    return result


def sample_mps(tensors: list[np.ndarray], n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Exact independent samples of ``|psi(s)|^2`` from right-canonical tensors, as [N, L] uint8 bits.

    Site by site, ``p(s_k | s_<k) = |v B_k^{s_k}|^2 / |v|^2`` with ``v`` the product of the
    chosen left tensors: the right-canonical tensors to the right sum to the identity. One
    uniform number per sample and site, drawn up front, so the result does not depend on
    :data:`SAMPLE_BATCH`.
    """
    uniform = rng.random((int(n_samples), len(tensors)))
    out = np.empty(uniform.shape, dtype=np.uint8)
    for lo in range(0, len(uniform), SAMPLE_BATCH):
        u = uniform[lo : lo + SAMPLE_BATCH]
        rows = np.arange(len(u))
        v = np.ones((len(u), 1), dtype=np.result_type(*tensors))
        for k, b in enumerate(tensors):
            w = (v @ b.reshape(b.shape[0], -1)).reshape(len(u), 2, b.shape[2])
            weight = np.sum(np.abs(w) ** 2, axis=2)
            down = u[:, k] * weight.sum(axis=1) >= weight[:, 0]
            v = w[rows, down.astype(np.intp)]
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            out[lo : lo + len(u), k] = down
    return out


def mps_amplitudes(tensors: list[np.ndarray], bits: np.ndarray) -> np.ndarray:
    """Amplitudes ``psi(s)`` of the rows of ``bits`` ([N, L], 0 = up) in the MPS."""
    bits = np.asarray(bits, dtype=np.intp)
    v = np.ones((len(bits), 1), dtype=np.result_type(*tensors))
    for k, b in enumerate(tensors):
        v = np.einsum("na,nab->nb", v, b[:, bits[:, k], :].transpose(1, 0, 2))
    return v[:, 0]
