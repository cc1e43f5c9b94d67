"""Small targets shared by the QGAN tests, written and read back as target artefacts."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target
from tests.unit.killed import Killed, KilledAfterSave
from qgenflow.train import train

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


@pytest.fixture
def killed_then_resumed(tmp_path):
    """run(flavor, spec, target, seed, every, at): train, die after the step-``at`` checkpoint, rerun; the rerun."""

    def run(flavor, spec, target, seed, every, at):
        path, identity = tmp_path / "ckpt.h5", {"flavor": flavor, "seed": seed}
        with pytest.raises(Killed):
            train({**spec, "kind": "qgan", "flavor": flavor}, target, seed, KilledAfterSave(path, every, identity, at))
        assert read_artefact(path)["step"] == at
        return train({**spec, "kind": "qgan", "flavor": flavor}, target, seed, Checkpointer(path, every, identity))

    return run


def _assert_same_result(a, b) -> None:
    for field in ("params", "history"):
        x, y = getattr(a, field), getattr(b, field)
        assert set(x) == set(y), field
        for key in x:
            assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key], equal_nan=True), f"{field}/{key}"
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.probs, b.probs)


@pytest.fixture
def assert_same_result():
    """check(a, b): two QGAN results hold bit-identical parameters, history, samples and probabilities."""
    return _assert_same_result
