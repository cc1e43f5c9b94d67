"""User sample files: every format round-trips; every malformed file is named and located."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from qgenflow.errors import InputDataError, InvalidConfigError
from qgenflow.provenance import sha256_file
from qgenflow.targets.base import Target
from qgenflow.targets.samples_file import make_samples_file, read_samples_file

N_ROWS, N_BITS = 37, 5


@pytest.fixture
def seed() -> int:
    """Seed of the random sample table."""
    return 99


@pytest.fixture
def table(seed) -> np.ndarray:
    """A random [N_ROWS, N_BITS] table of bits."""
    return np.random.default_rng(seed).integers(0, 2, size=(N_ROWS, N_BITS), dtype=np.uint8)


def load(path: Path, **spec) -> Target:
    """make_samples_file on ``path`` with extra spec keys and a throwaway generator."""
    return make_samples_file({"kind": "file", "path": str(path), **spec}, np.random.default_rng(0))


def write_h5(path: Path, data: np.ndarray, name: str = "samples") -> Path:
    """A plain (non-qgenflow) HDF5 file holding ``data`` at ``name``."""
    with h5py.File(path, "w") as fh:
        fh[name] = data
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, bool])
def test_npy_round_trip(tmp_path, table, dtype):
    """A .npy array of any 0/1 dtype reads back as the same uint8 rows, with provenance attrs."""
    path = tmp_path / "s.npy"
    np.save(path, table.astype(dtype))
    t = load(path)
    assert t.samples.dtype == np.uint8 and np.array_equal(t.samples, table)
    assert t.n_qubits == N_BITS and t.probs is None
    assert t.attrs["source_sha256"] == sha256_file(path)
    assert t.attrs["n_rows_in_file"] == N_ROWS and t.attrs["source_path"] == str(path)


@pytest.mark.parametrize(
    "name,render",
    [
        ("comma.csv", lambda row: ",".join(map(str, row))),
        ("comma_space.csv", lambda row: ", ".join(map(str, row))),
        ("space.txt", lambda row: " ".join(map(str, row))),
        ("tab.txt", lambda row: "\t".join(map(str, row))),
        ("bitstrings.txt", lambda row: "".join(map(str, row))),
    ],
)
def test_text_round_trip(tmp_path, table, name, render):
    """Separated bits and bare bitstrings, with comments and blank lines, read back unchanged."""
    body = [render(r) for r in table]
    lines = ["# my samples", ""] + body[:10] + ["", "  # midway note"] + body[10:]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    t = load(path)
    assert np.array_equal(t.samples, table)


def test_savetxt_floats_accepted(tmp_path, table):
    """A file written by np.savetxt's default float format reads back."""
    path = tmp_path / "floats.txt"
    np.savetxt(path, table)
    assert np.array_equal(load(path).samples, table)


def test_crlf_and_bom_accepted(tmp_path, table):
    """Windows line endings and a UTF-8 byte-order mark do not matter."""
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(",".join(map(str, r)) for r in table).encode())
    assert np.array_equal(load(path).samples, table)


@pytest.mark.parametrize("dataset", ["samples", "group/bits"])
def test_hdf5_round_trip(tmp_path, table, dataset):
    """An HDF5 dataset (default or named, possibly in a group) reads back unchanged."""
    path = write_h5(tmp_path / "s.h5", table, dataset)
    spec = {} if dataset == "samples" else {"dataset": dataset}
    assert np.array_equal(load(path, **spec).samples, table)


def test_explicit_format_overrides_suffix(tmp_path, table):
    """format: csv reads a file whose suffix says nothing."""
    path = tmp_path / "samples.dat"
    path.write_text("\n".join("".join(map(str, r)) for r in table))
    assert np.array_equal(load(path, format="csv").samples, table)


def test_first_rows_in_order_and_rng_unused(tmp_path, table):
    """n_samples keeps the first rows in file order; the generator does not matter."""
    path = tmp_path / "s.npy"
    np.save(path, table)
    a = make_samples_file({"path": str(path), "n_samples": 10}, np.random.default_rng(1))
    b = make_samples_file({"path": str(path), "n_samples": 10}, np.random.default_rng(2))
    assert np.array_equal(a.samples, table[:10]) and np.array_equal(a.samples, b.samples)
    assert a.attrs["n_rows_in_file"] == N_ROWS


def test_n_samples_above_rows_uses_all(tmp_path, table):
    """Asking for more rows than the file holds uses them all."""
    path = tmp_path / "s.npy"
    np.save(path, table)
    assert np.array_equal(load(path, n_samples=10 * N_ROWS).samples, table)


def test_matching_n_bits_accepted(tmp_path, table):
    """n_bits equal to the file's width is accepted."""
    path = tmp_path / "s.npy"
    np.save(path, table)
    assert load(path, n_bits=N_BITS).n_qubits == N_BITS


def test_wide_rows_have_no_probs(tmp_path, seed):
    """Rows wider than the exact-probability limit are fine and store no probs."""
    wide = np.random.default_rng(seed).integers(0, 2, size=(4, 40), dtype=np.uint8)
    path = tmp_path / "wide.txt"
    path.write_text("\n".join("".join(map(str, r)) for r in wide))
    t = load(path)
    assert t.n_qubits == 40 and t.probs is None and np.array_equal(t.samples, wide)


TEXT_CASES = [
    ("ragged.csv", "0,1,0,1\n1,1,0,0\n0,1,1\n", ["line 3", "ragged", "3 bits", "line 1 has 4"]),
    ("ragged.txt", "# header\n0101\n\n01011\n", ["line 4", "ragged", "5 bits", "line 2 has 4"]),
    ("value.csv", "0,1,0,1\n0,2,0,1\n", ["line 2", "column 2", "value 2"]),
    ("value.txt", "0101\n01x1\n", ["line 2", "column 3", "value x"]),
    ("header.csv", "b0,b1,b2\n0,1,0\n", ["line 1", "value b0", "'#'"]),
    ("empty_field.csv", "0,1,,1\n", ["line 1", "column 3", "empty field"]),
    ("half.txt", "0 0.5 1\n", ["line 1", "value 0.5"]),
    ("empty.csv", "", ["no samples"]),
    ("comments.csv", "# only\n\n   \n# comments\n", ["no samples"]),
]


@pytest.mark.parametrize("name,content,fragments", TEXT_CASES)
def test_malformed_text(tmp_path, name, content, fragments):
    """Each malformed text file raises InputDataError naming the file, the problem and the line."""
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputDataError) as info:
        load(path)
    message = str(info.value)
    assert name in message
    for fragment in fragments:
        assert fragment in message


def test_binary_file_as_text(tmp_path):
    """A binary file given as csv is reported as not UTF-8 text."""
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(InputDataError, match="blob.csv.*not a UTF-8 text file"):
        load(path)


def test_wrong_n_bits_text(tmp_path):
    """A text file whose width differs from n_bits says expected vs found."""
    path = tmp_path / "five.txt"
    path.write_text("01010\n11111\n")
    with pytest.raises(InputDataError, match=r"five\.txt: expected 4 bits, found 5 on line 1"):
        load(path, n_bits=4)


ARRAY_CASES = [
    (np.array([[0, 1], [1, 2], [3, 0]]), ["row index 1", "column index 1", "value 2"]),
    (np.array([[0.0, 1.0], [0.5, 1.0]]), ["row index 1", "column index 0", "value 0.5"]),
    (np.array([[0.0, np.nan]]), ["row index 0", "column index 1", "value nan"]),
    (np.array([0, 1, 1]), ["2-D", "1-D", "(3,)"]),
    (np.zeros((2, 2, 2)), ["2-D", "3-D"]),
    (np.zeros((0, 4)), ["no samples"]),
    (np.zeros((3, 0)), ["0 bits"]),
    (np.array([["0", "1"]]), ["dtype"]),
    (np.ones((3, 5), np.uint8), ["expected 4 bits, found 5"]),
]


@pytest.mark.parametrize("suffix", [".npy", ".h5"])
@pytest.mark.parametrize("data,fragments", ARRAY_CASES)
def test_malformed_array(tmp_path, suffix, data, fragments):
    """Each malformed array (npy or HDF5) raises InputDataError naming the file, the problem and the row."""
    path = tmp_path / f"bad{suffix}"
    if suffix == ".npy":
        np.save(path, data)
    else:
        write_h5(path, data.astype("S") if data.dtype.kind == "U" else data)
    with pytest.raises(InputDataError) as info:
        load(path, n_bits=4 if fragments[0].startswith("expected") else None)
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("name", ["gone.npy", "gone.csv", "gone.h5"])
def test_missing_file(tmp_path, name):
    """A missing file is reported as not found, with its path."""
    with pytest.raises(InputDataError, match=f"{name}: sample file not found"):
        load(tmp_path / name)


@pytest.mark.parametrize("name", ["junk.npy", "junk.h5"])
def test_unreadable_binary(tmp_path, name):
    """Garbage bytes under a binary suffix are reported as unreadable."""
    path = tmp_path / name
    path.write_bytes(b"this is not an array\n" * 4)
    with pytest.raises(InputDataError, match=f"{name}: cannot be read"):
        load(path)


def test_pickled_npy_refused(tmp_path):
    """An object array (needs pickle) is refused, not unpickled."""
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[0, 1], [1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(InputDataError, match="obj.npy: cannot be read as a .npy array"):
        load(path)


def test_npz_refused(tmp_path, table):
    """An .npz archive saved under a .npy name is refused with a hint."""
    path = tmp_path / "arch.npy"
    with open(path, "wb") as fh:
        np.savez(fh, samples=table)
    with pytest.raises(InputDataError, match="arch.npy: is an .npz archive"):
        load(path)


def test_hdf5_missing_dataset_lists_others(tmp_path, table):
    """A missing HDF5 dataset names the one asked for and those present."""
    path = write_h5(tmp_path / "s.h5", table, "bits")
    with pytest.raises(InputDataError, match=r"s\.h5: dataset 'samples' not found; datasets in the file: bits"):
        load(path)


def test_hdf5_group_is_not_a_dataset(tmp_path, table):
    """Naming an HDF5 group instead of a dataset is reported as such."""
    path = write_h5(tmp_path / "s.h5", table, "g/samples")
    with pytest.raises(InputDataError, match="dataset 'g' is a group"):
        load(path, dataset="g")


def test_directory_refused(tmp_path):
    """A directory path is refused."""
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputDataError, match="dir.csv: is not a regular file"):
        load(folder)


def test_unknown_suffix_asks_for_format(tmp_path):
    """format: auto on an unknown suffix names the file and asks for an explicit format."""
    path = tmp_path / "s.dat"
    path.write_text("01\n")
    with pytest.raises(InvalidConfigError, match=r"format: cannot tell the format of .*s\.dat"):
        load(path)


def test_read_samples_file_direct(tmp_path, table):
    """read_samples_file returns every row of a file, validated."""
    path = tmp_path / "s.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in table))
    assert np.array_equal(read_samples_file(path, n_bits=N_BITS), table)
