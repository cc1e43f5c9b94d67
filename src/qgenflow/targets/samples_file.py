"""A target given by the user's own samples, read from a file.

Formats (``format: auto`` picks one from the suffix):

* ``npy`` (``.npy``): one 2-D array [n_samples, n_bits] saved with ``np.save``;
  bool, integer or float entries, each exactly 0 or 1.
* ``csv`` (``.csv``, ``.txt``): one sample per line, either bits separated by
  commas and/or spaces (``0,1,1`` or ``0 1 1``; numbers such as ``1.0`` as
  written by ``np.savetxt`` are accepted) or a bare bitstring (``011``). Blank
  lines and lines starting with ``#`` are skipped.
* ``hdf5`` (``.h5``, ``.hdf5``): a 2-D dataset (``dataset``, default ``samples``)
  with the same rules as ``npy``.

Bit ``i`` of a row is qubit/wire ``i`` (see :mod:`qgenflow.io`). Rows are kept
in the file's order; with ``n_samples`` only the first rows are used. The
distribution is known only through its samples, so no exact probabilities are
stored; the file's SHA-256 is recorded so a result can be traced to its data.
Every problem raises :class:`~qgenflow.errors.InputDataError` naming the file,
the problem and where it is (1-based line and column for text files, 0-based
row and column index for arrays).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..schema import with_defaults
from ..errors import InputDataError, InvalidConfigError
from ..io import read_user_samples_h5
from ..provenance import sha256_file
from .base import Target

__all__ = [
    "FORMATS",
    "SUFFIX_FORMATS",
    "data_files",
    "make_samples_file",
    "peek_width",
    "read_samples_file",
    "resolve_format",
]

log = logging.getLogger(__name__)

FORMATS = ("auto", "npy", "csv", "hdf5")
SUFFIX_FORMATS = {".npy": "npy", ".csv": "csv", ".txt": "csv", ".h5": "hdf5", ".hdf5": "hdf5"}
DEFAULT_DATASET = "samples"

_SEPARATORS = re.compile(r"\s*,\s*|\s+")
_HAS_SEPARATOR = re.compile(r"[,\s]")


def resolve_format(path: Path, fmt: str = "auto") -> str:
    """The concrete format of ``path``: ``fmt`` itself, or the one its suffix implies."""
    if fmt not in FORMATS:
        raise InvalidConfigError("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    try:
        return SUFFIX_FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise InvalidConfigError(
            "format",
            f"cannot tell the format of {path} from its suffix {path.suffix!r} (known: {known}); "
            "set format to npy, csv or hdf5",
        ) from None


def _parse_line(line: str, lineno: int, path: Path) -> str:
    """One text line as a string of '0'/'1' characters, or an error naming the bad value."""
    if _HAS_SEPARATOR.search(line):
        tokens = line.replace(",", " ").split()
        commas = line.count(",")
        if (commas == 0 or len(tokens) == commas + 1) and set(tokens) <= {"0", "1"}:
            return "".join(tokens)  # fast path: the common well-formed line
        tokens = _SEPARATORS.split(line)
        out = []
        for col, token in enumerate(tokens, start=1):
            if token in ("0", "1"):
                out.append(token)
                continue
            if token == "":
                raise InputDataError(f"{path}: line {lineno}, column {col}: empty field (samples must be 0 or 1)")
            try:
                value = float(token)
            except ValueError:
                value = None
            if value not in (0.0, 1.0):
                raise InputDataError(
                    f"{path}: line {lineno}, column {col}: value {token} (samples must be 0 or 1; "
                    "comment out header lines with '#')"
                )
            out.append("1" if value else "0")
        return "".join(out)
    if line.strip("01"):
        bad = next(i for i, ch in enumerate(line) if ch not in "01")
        raise InputDataError(
            f"{path}: line {lineno}, column {bad + 1}: value {line[bad]} in bitstring {line!r} "
            "(samples must be 0 or 1; comment out header lines with '#')"
        )
    return line


def _read_text(path: Path, n_bits: int | None) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not a UTF-8 text file (is it binary? set format): {exc}") from None
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read: {exc}") from None
    rows: list[str] = []
    first: tuple[int, int] | None = None  # (line number, bits) of the first sample
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        bits = _parse_line(line, lineno, path)
        if first is None:
            first = (lineno, len(bits))
            if n_bits is not None and len(bits) != n_bits:
                raise InputDataError(
                    f"{path}: expected {n_bits} bits, found {len(bits)} on line {lineno} (n_bits: {n_bits})"
                )
        elif len(bits) != first[1]:
            raise InputDataError(
                f"{path}: line {lineno} has {len(bits)} bits but line {first[0]} has {first[1]} "
                "(ragged rows: every sample must have the same number of bits)"
            )
        rows.append(bits)
    if first is None:
        raise InputDataError(f"{path}: contains no samples (empty, or only blank and '#' lines)")
    flat = np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8) - ord("0")
    return flat.reshape(len(rows), first[1])


def _read_npy(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputDataError(
            f"{path}: cannot be read as a .npy array (save a plain numeric array with np.save): {exc}"
        ) from None
    if not isinstance(data, np.ndarray):
        data.close()
        raise InputDataError(f"{path}: is an .npz archive; save a single array with np.save")
    return data


def _check_array(data: np.ndarray, path: Path, n_bits: int | None) -> np.ndarray:
    if data.ndim != 2:
        raise InputDataError(
            f"{path}: expected a 2-D array [n_samples, n_bits], found {data.ndim}-D array of shape {data.shape}"
        )
    if data.dtype.kind not in "biuf":
        raise InputDataError(f"{path}: array of dtype {data.dtype}; expected bool, integer or float entries 0/1")
    if data.shape[0] == 0:
        raise InputDataError(f"{path}: contains no samples (array of shape {data.shape})")
    if data.shape[1] == 0:
        raise InputDataError(f"{path}: rows have 0 bits (array of shape {data.shape})")
    if n_bits is not None and data.shape[1] != n_bits:
        raise InputDataError(
            f"{path}: expected {n_bits} bits, found {data.shape[1]} (array of shape {data.shape}; n_bits: {n_bits})"
        )
    ok = (data == 0) | (data == 1)
    if not ok.all():
        row, col = np.argwhere(~ok)[0]
        value = data[row, col].item()
        raise InputDataError(f"{path}: row index {row}, column index {col}: value {value} (samples must be 0 or 1)")
    return data.astype(np.uint8)


def read_samples_file(
    path: str | Path, fmt: str = "auto", *, dataset: str = DEFAULT_DATASET, n_bits: int | None = None
) -> np.ndarray:
    """Every sample of a user file as a [N, n] uint8 array, validated.

    Args:
        path: the file.
        fmt: ``auto``, ``npy``, ``csv`` or ``hdf5``.
        dataset: HDF5 dataset name (``hdf5`` only).
        n_bits: expected bits per sample, or None to accept any.

    Raises:
        InputDataError: the file is missing, unreadable, empty or malformed.
        InvalidConfigError: ``fmt`` is unknown or cannot be inferred.
    """
    path = Path(path)
    fmt = resolve_format(path, fmt)
    if not path.exists():
        raise InputDataError(f"{path}: sample file not found (paths are relative to {Path.cwd()})")
    if not path.is_file():
        raise InputDataError(f"{path}: is not a regular file")
    if fmt == "csv":
        return _read_text(path, n_bits)
    if fmt == "npy":
        data = _read_npy(path)
    else:
        data = read_user_samples_h5(path, dataset)
    return _check_array(data, path, n_bits)


def peek_width(path: str | Path, fmt: str = "auto", dataset: str = DEFAULT_DATASET) -> int:
    """Bits per sample of a user file, from its first sample only (a cheap pre-flight check).

    Raises:
        InputDataError: the file is unreadable, holds no sample or is not a 2-D array.
    """
    path = Path(path)
    fmt = resolve_format(path, fmt)
    if fmt == "csv":
        try:
            with open(path, encoding="utf-8-sig") as fh:
                for lineno, raw in enumerate(fh, start=1):
                    line = raw.strip()
                    if line and not line.startswith("#"):
                        return len(_parse_line(line, lineno, path))
        except UnicodeDecodeError as exc:
            raise InputDataError(f"{path}: not a UTF-8 text file (is it binary? set format): {exc}") from None
        raise InputDataError(f"{path}: contains no samples (empty, or only blank and '#' lines)")
    if fmt == "npy":
        try:
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        except (ValueError, OSError, EOFError) as exc:
            raise InputDataError(f"{path}: cannot be read as a .npy array: {exc}") from None
    else:
        shape = np.shape(read_user_samples_h5(path, dataset))
    if len(shape) != 2:
        raise InputDataError(f"{path}: expected a 2-D [n_samples, n_bits] array, got shape {tuple(shape)}")
    return int(shape[1])


def data_files(spec: Mapping[str, Any]) -> list[str]:
    """The user's files a target entry reads (``path``, then ``validation_path`` and ``test_path`` when set)."""
    if spec.get("kind") != "file":
        return []
    return [str(spec[key]) for key in ("path", "validation_path", "test_path") if spec.get(key)]


def make_samples_file(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Target of a user's sample file; ``rng`` is unused (rows keep the file's order).

    ``spec`` has ``path``, and optionally ``format`` (default ``auto``),
    ``dataset`` (default ``samples``), ``n_bits``, ``n_samples`` (the first
    rows; null for all) and ``validation_path`` / ``test_path`` (separate files of
    held-out samples, read whole, in the same format; see :attr:`Target.held_out`).
    """
    spec = with_defaults("targets", {**spec, "kind": "file"})
    del rng
    if not spec.get("path"):
        raise InvalidConfigError("path", "a sample file path is required")
    path = Path(spec["path"])
    n_bits = spec.get("n_bits")
    if n_bits is not None and int(n_bits) < 1:
        raise InvalidConfigError("n_bits", f"must be >= 1 or null, got {n_bits}")
    n_samples = spec.get("n_samples")
    if n_samples is not None and int(n_samples) < 1:
        raise InvalidConfigError("n_samples", f"must be >= 1 or null, got {n_samples}")
    fmt = resolve_format(path, spec["format"])
    data = read_samples_file(
        path, fmt, dataset=spec["dataset"], n_bits=None if n_bits is None else int(n_bits)
    )
    n_rows = data.shape[0]
    if n_samples is not None and int(n_samples) < n_rows:
        data = data[: int(n_samples)]
    elif n_samples is not None and int(n_samples) > n_rows:
        log.warning("%s holds %d samples, fewer than n_samples=%d: using all", path, n_rows, int(n_samples))
    log.info("read %d of %d samples with %d bits from %s (%s)", len(data), n_rows, data.shape[1], path, fmt)
    attrs = {
        "source_path": str(spec["path"]),
        "source_format": fmt,
        "source_sha256": sha256_file(path),
        "n_rows_in_file": n_rows,
    }
    held_out = {}
    for split in ("validation", "test"):
        other = spec.get(f"{split}_path")
        if other:
            other_fmt = resolve_format(Path(other), spec["format"])
            held_out[split] = read_samples_file(other, other_fmt, dataset=spec["dataset"], n_bits=int(data.shape[1]))
            attrs[f"source_{split}_path"] = str(other)
            attrs[f"source_{split}_sha256"] = sha256_file(other)
            log.info("read %d %s samples from %s", len(held_out[split]), split, other)
    return Target(
        n_qubits=int(data.shape[1]),
        samples=np.ascontiguousarray(data, dtype=np.uint8),
        probs=None,
        attrs=attrs,
        held_out=held_out,
    )
