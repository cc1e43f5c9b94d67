"""Small targets shared by the QGAN tests, written and read back as target artefacts."""

from __future__ import annotations

import pytest

from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target

HEIS_2X2 = {"kind": "heisenberg", "lattice": [2, 2], "pbc": False, "method": "exact", "n_samples": 100}
TFIM_4 = {"kind": "tfim", "lattice": [4], "pbc": True, "h": 1.0, "J": 1.0, "method": "exact", "n_samples": 100}
BAS_2X2 = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 2000}


def _artefact(factory, name, spec):
    path = factory.mktemp("targets") / f"{name}.h5"
    return read_artefact(run_target(spec, 0, path), kind="target")


@pytest.fixture(scope="session")
def heis_2x2(tmp_path_factory):
    """Exact ground state of the open 2x2 Heisenberg model (4 spins, Marshall signs)."""
    return _artefact(tmp_path_factory, "heis2x2", HEIS_2X2)


@pytest.fixture(scope="session")
def tfim_4(tmp_path_factory):
    """Exact ground state of the critical periodic 4-site TFIM chain."""
    return _artefact(tmp_path_factory, "tfim4", TFIM_4)


@pytest.fixture(scope="session")
def bas_2x2(tmp_path_factory):
    """Bars and stripes on a 2x2 grid (6 patterns over 16 bitstrings)."""
    return _artefact(tmp_path_factory, "bas2x2", BAS_2X2)


HEIS_RING_6 = {"kind": "heisenberg", "lattice": [6], "pbc": True, "method": "exact", "n_samples": 100}


@pytest.fixture(scope="session")
def heis_ring_6(tmp_path_factory):
    """Exact ground state of the periodic 6-site Heisenberg chain."""
    return _artefact(tmp_path_factory, "heis6", HEIS_RING_6)
