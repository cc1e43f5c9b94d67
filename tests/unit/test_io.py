"""The HDF5 artefact layer: provenance, atomic writes, clear failures."""

import json

import h5py
import numpy as np
import pytest

from qgenflow.errors import ArtefactError
from qgenflow.io import SCHEMA_VERSION, read_artefact, summarize, write_artefact


@pytest.fixture
def artefact(tmp_path):
    """A small target artefact with nested datasets."""
    path = tmp_path / "a" / "target.h5"
    write_artefact(
        path,
        "target",
        {"samples": np.zeros((4, 3), np.uint8), "probs": np.full(8, 0.125), "history/loss": np.arange(3.0)},
        config={"kind": "uniform", "n_bits": 3},
        seed=7,
        attrs={"n_qubits": 3},
    )
    return path


def test_round_trip_with_provenance(artefact):
    """Datasets and provenance attributes survive a write/read cycle."""
    art = read_artefact(artefact, kind="target")
    assert art.kind == "target" and art.seed == 7
    assert art.config == {"kind": "uniform", "n_bits": 3}
    assert art.attrs["schema_version"] == SCHEMA_VERSION
    for key in ("qgenflow_version", "created_utc", "git_commit", "inputs_sha256", "package_versions"):
        assert key in art.attrs
    assert art["samples"].dtype == np.uint8 and art["samples"].shape == (4, 3)
    assert np.array_equal(art["history/loss"], np.arange(3.0))


def test_inputs_are_hashed(artefact, tmp_path):
    """inputs_sha256 records the content hash of every input artefact."""
    out = write_artefact(tmp_path / "m.h5", "model", {"x": np.ones(2)}, config={}, seed=0, inputs=[artefact])
    hashes = json.loads(read_artefact(out).attrs["inputs_sha256"])
    assert list(hashes) == [str(artefact)] and len(hashes[str(artefact)]) == 64


def test_no_temporary_left_and_failed_write_keeps_old_file(artefact):
    """A failed write neither leaves a temp file nor damages the existing artefact."""
    before = artefact.read_bytes()
    with pytest.raises(TypeError):
        write_artefact(artefact, "target", {"bad": object()}, config={}, seed=0)
    assert artefact.read_bytes() == before
    assert [p.name for p in artefact.parent.iterdir()] == ["target.h5"]


def test_missing_file(tmp_path):
    """A missing artefact names the path."""
    with pytest.raises(ArtefactError, match="not found"):
        read_artefact(tmp_path / "nope.h5")


def test_truncated_file(artefact):
    """A truncated file is reported as unreadable, not as garbage data."""
    data = artefact.read_bytes()
    artefact.write_bytes(data[: len(data) // 3])
    with pytest.raises(ArtefactError, match="truncated"):
        read_artefact(artefact)


def test_foreign_hdf5_file(tmp_path):
    """An HDF5 file not written by qgenflow is refused."""
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as fh:
        fh["x"] = np.ones(3)
    with pytest.raises(ArtefactError, match="not a qgenflow artefact"):
        read_artefact(path)


def test_wrong_schema_version_and_kind(artefact):
    """Other schema versions and unexpected kinds fail with a clear message."""
    with pytest.raises(ArtefactError, match="expected a model artefact"):
        read_artefact(artefact, kind="model")
    with h5py.File(artefact, "a") as fh:
        fh.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ArtefactError, match="schema_version"):
        read_artefact(artefact)


def test_summary_lists_datasets(artefact):
    """The inspect summary shows kind, attributes and dataset shapes."""
    text = summarize(artefact)
    assert "target artefact" in text and "/samples: uint8 [4, 3]" in text and "n_qubits: 3" in text
