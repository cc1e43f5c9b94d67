"""Target distributions, one module per family, looked up by ``kind``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InvalidConfigError
from ..rng import make_rng
from ..schema import with_defaults
from .bars_and_stripes import bas_patterns, make_bars_and_stripes
from .boson import check_boson_spec, make_boson_sampling, make_gbs
from .base import Target
from .gaussian_grid import gaussian_grid_qubits, make_gaussian_grid
from .gaussian_mixture import make_gaussian_mixture
from .iqp import make_iqp
from .random_circuit import make_random_circuit, random_circuit_qubits
from .molecule import make_molecule, molecule_qubits
from .samples_file import data_files, make_samples_file
from .spin import make_heisenberg, make_tfim
from .splits import SPLITS, Splits, split_target
from .uniform import make_uniform

__all__ = [
    "QUANTUM_KINDS",
    "REGISTRY",
    "SPLITS",
    "Splits",
    "Target",
    "TargetKind",
    "bas_patterns",
    "data_files",
    "make_target",
    "split_target",
    "target_kind",
]

@dataclass(frozen=True)
class TargetKind:
    """One target family: how to make it, and what the plan must know before any job.

    Attributes:
        make: ``(spec, rng) -> Target``.
        qubits: the width of a config entry, or None when only its data file knows.
        quantum: whether it is a quantum ground state (quantum data for QGANs, spin figures).
        sampling_class: the classically hard sampling class its distributions come from
            (with the paper that argues the hardness), or "" for none.
    """

    make: Callable[[Mapping[str, Any], np.random.Generator], Target]
    qubits: Callable[[Mapping[str, Any]], int | None]
    quantum: bool = False
    sampling_class: str = ""


def _n_bits(spec: Mapping[str, Any]) -> int | None:
    return None if spec.get("n_bits") is None else int(spec["n_bits"])


def _boson_modes(spec: Mapping[str, Any]) -> int:
    """The bits of a boson sampling target (one per mode), after its limits are checked (before any job)."""
    check_boson_spec(spec)
    return int(spec["n_modes"])


def _sites(spec: Mapping[str, Any]) -> int:
    return int(math.prod(int(x) for x in spec["lattice"]))


#: Every target kind, by the ``kind`` of its config entry.
REGISTRY: dict[str, TargetKind] = {
    "uniform": TargetKind(make_uniform, _n_bits),
    "bars_and_stripes": TargetKind(make_bars_and_stripes, lambda spec: int(spec["rows"]) * int(spec["cols"])),
    "gaussian_mixture": TargetKind(make_gaussian_mixture, _n_bits),
    "gaussian_grid": TargetKind(make_gaussian_grid, gaussian_grid_qubits),
    "file": TargetKind(make_samples_file, _n_bits),
    "iqp": TargetKind(
        make_iqp, lambda spec: int(spec["n_qubits"]),
        sampling_class="IQP circuits (Bremner, Jozsa and Shepherd 2010; hard to sample exactly or to small error "
        "unless the polynomial hierarchy collapses)",
    ),
    "random_circuit": TargetKind(
        make_random_circuit, random_circuit_qubits,
        sampling_class="random circuit sampling (Boixo et al. 2018; Arute et al. 2019: output distributions of "
        "random circuits are hard to sample to small error, and their XEB hard to spoof, for classical computers)",
    ),
    "gbs": TargetKind(
        make_gbs, _boson_modes,
        sampling_class="Gaussian boson sampling (Hamilton et al. 2017; threshold detectors as in the Jiuzhang "
        "experiments, Zhong et al. 2020; hard to sample exactly unless the polynomial hierarchy collapses)",
    ),
    "boson_sampling": TargetKind(
        make_boson_sampling, _boson_modes,
        sampling_class="BosonSampling (Aaronson and Arkhipov 2011; permanents of Haar-random submatrices, "
        "here post-selected on collision-free outcomes)",
    ),
    "heisenberg": TargetKind(make_heisenberg, _sites, quantum=True),
    "tfim": TargetKind(make_tfim, _sites, quantum=True),
    # Not ``quantum``: that flag means a spin-lattice ground state (ZZ-vs-distance figures, QGANs that rebuild a
    # spin Hamiltonian); a molecule has no lattice, and its validity is the particle-number sector mass instead.
    "molecule": TargetKind(make_molecule, molecule_qubits),
}


#: Kinds whose targets are quantum ground states.
QUANTUM_KINDS = tuple(kind for kind, entry in REGISTRY.items() if entry.quantum)


def target_kind(spec: Mapping[str, Any]) -> TargetKind:
    """The registry entry of a target config entry; an unknown kind names the allowed ones."""
    kind = spec.get("kind")
    if kind not in REGISTRY:
        raise InvalidConfigError("kind", f"unknown target kind {kind!r}; allowed: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[kind]


def make_target(spec: Mapping[str, Any], seed: int) -> Target:
    """Build the target described by a config entry, seeded by ``seed``."""
    spec = with_defaults("targets", spec)
    return target_kind(spec).make(spec, make_rng(seed, "target"))
