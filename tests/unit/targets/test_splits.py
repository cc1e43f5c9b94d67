"""Train / validation / test splits of target artefacts: disjoint, sized, and recorded."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.bits import sample_from_probs
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.plan import data_files, file_widths
from qgenflow.rng import make_rng
from qgenflow.stages.target import run_target

N_BITS = 8  # a row's bits spell its row index, so every row of the test files is distinct
N_ROWS = 200


@pytest.fixture
def seed() -> int:
    """Run seed of the targets."""
    return 7


def _indexed_rows(start: int, count: int) -> np.ndarray:
    """Rows whose N_BITS big-endian bits spell start, start + 1, ..."""
    values = np.arange(start, start + count)
    return ((values[:, None] >> np.arange(N_BITS - 1, -1, -1)) & 1).astype(np.uint8)


def _values(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64) @ (1 << np.arange(N_BITS - 1, -1, -1))


def test_exact_target_splits_are_independent_named_draws(tmp_path, seed):
    """Exact targets: train is the unchanged 'target' draw; validation and test are draws of their own streams."""
    spec = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 500}
    art = read_artefact(run_target(spec, seed, tmp_path / "t.h5"), kind="target")
    probs = np.asarray(art["probs"])
    for name, stream in (("samples", "target"), ("samples_validation", "validation"), ("samples_test", "test")):
        np.testing.assert_array_equal(art[name], sample_from_probs(probs, 500, make_rng(seed, stream)))
    assert not np.array_equal(art["samples"], art["samples_test"])
    assert not np.array_equal(art["samples_validation"], art["samples_test"])
    assert art.attrs["split_method"] == "independent_draws"
    assert (art.attrs["n_train"], art.attrs["n_validation"], art.attrs["n_test"]) == (500, 500, 500)


def test_file_target_rows_are_a_disjoint_partition(tmp_path, seed):
    """A data file is split by a seeded shuffle; the stored row indices partition the file and match the rows."""
    np.save(tmp_path / "d.npy", _indexed_rows(0, N_ROWS))
    spec = {"kind": "file", "path": str(tmp_path / "d.npy"), "validation_fraction": 0.1, "test_fraction": 0.25}
    art = read_artefact(run_target(spec, seed, tmp_path / "t.h5"), kind="target")
    rows = {split: np.asarray(art[f"split/{split}_rows"]) for split in ("train", "validation", "test")}
    assert sorted(np.concatenate(list(rows.values()))) == list(range(N_ROWS))  # disjoint and complete
    for split, name in (("train", "samples"), ("validation", "samples_validation"), ("test", "samples_test")):
        np.testing.assert_array_equal(_values(art[name]), rows[split])
        assert art.attrs[f"n_{split}"] == len(rows[split])
    assert (len(rows["validation"]), len(rows["test"])) == (20, 50)
    assert art.attrs["split_method"] == "row_shuffle"
    other = read_artefact(run_target(spec, seed + 1, tmp_path / "u.h5"), kind="target")
    assert not np.array_equal(other["split/test_rows"], rows["test"])  # the shuffle follows the seed


def test_file_target_with_separate_test_and_validation_files(tmp_path, seed):
    """test_path and validation_path are taken whole; the training file holds out nothing."""
    np.save(tmp_path / "train.npy", _indexed_rows(0, 100))
    np.savetxt(tmp_path / "valid.csv", _indexed_rows(100, 30), fmt="%d", delimiter=",")
    np.save(tmp_path / "test.npy", _indexed_rows(130, 40))
    spec = {
        "kind": "file",
        "path": str(tmp_path / "train.npy"),
        "validation_path": str(tmp_path / "valid.csv"),
        "test_path": str(tmp_path / "test.npy"),
    }
    art = read_artefact(run_target(spec, seed, tmp_path / "t.h5"), kind="target")
    np.testing.assert_array_equal(_values(art["samples"]), np.arange(100))
    np.testing.assert_array_equal(_values(art["samples_validation"]), np.arange(100, 130))
    np.testing.assert_array_equal(_values(art["samples_test"]), np.arange(130, 170))
    assert art.attrs["split_source_test"] == spec["test_path"]
    assert art.attrs["split_source_train"] == spec["path"]
    assert "source_test_sha256" in art.attrs


def test_file_target_with_test_file_cuts_validation_from_training_file(tmp_path, seed):
    """With only test_path, validation rows still come from the training file, disjoint from training rows."""
    np.save(tmp_path / "train.npy", _indexed_rows(0, 100))
    np.save(tmp_path / "test.npy", _indexed_rows(100, 40))
    spec = {"kind": "file", "path": str(tmp_path / "train.npy"), "test_path": str(tmp_path / "test.npy")}
    art = read_artefact(run_target(spec, seed, tmp_path / "t.h5"), kind="target")
    train, valid = np.asarray(art["split/train_rows"]), np.asarray(art["split/validation_rows"])
    assert len(valid) == 10 and not set(train) & set(valid) and len(train) + len(valid) == 100
    assert art.attrs["n_test"] == 40 and art.attrs["test_fraction"] == 0.0


def test_too_few_rows_to_split_is_refused(tmp_path, seed):
    """A file too small to keep training rows after the held-out shares names the keys to change."""
    np.save(tmp_path / "d.npy", _indexed_rows(0, 3))
    spec = {"kind": "file", "path": str(tmp_path / "d.npy"), "test_fraction": 0.5}
    with pytest.raises(InvalidConfigError, match="test_fraction"):
        run_target(spec, seed, tmp_path / "t.h5")


def test_plan_reads_every_data_file_and_refuses_a_test_file_of_another_width(tmp_path):
    """The plan lists test and validation files as job inputs and checks their width against the training file."""
    np.save(tmp_path / "train.npy", _indexed_rows(0, 10))
    np.save(tmp_path / "test.npy", np.zeros((5, N_BITS + 1), dtype=np.uint8))
    spec = {"kind": "file", "path": "train.npy", "test_path": "test.npy"}
    assert data_files(spec) == ["train.npy", "test.npy"]
    with pytest.raises(InvalidConfigError, match=r"targets\.user\.test_path"):
        file_widths({"targets": {"user": spec}}, root=tmp_path)
    np.save(tmp_path / "test.npy", _indexed_rows(10, 5))
    assert file_widths({"targets": {"user": spec}}, root=tmp_path) == {"user": N_BITS}
