"""The HDF5 artefact layer: the only module that touches h5py.

Every stage writes exactly one artefact with :func:`write_artefact` and reads
its inputs with :func:`read_artefact`.

Bit conventions (never deviate):

* a sample is a row of ``uint8`` bits; bit ``i`` = qubit/wire ``i`` = lattice site ``i``;
* bit 0 = |0> = Z eigenvalue +1 = spin up;
* a probability vector over ``n`` bits has length ``2**n`` and is indexed
  big-endian (wire 0 is the most significant bit), as ``qml.probs`` returns it.

Root attributes of every artefact: ``qgenflow_version``, ``schema_version``,
``kind``, ``config_json`` (the exact config slice), ``seed``, ``inputs_sha256``,
``created_utc``, ``git_commit`` and ``package_versions``. Every dataset carries the
attributes that explain it (``description``, ``units``, ``axes``, ``bit_order``, ``loss``:
the registry of :mod:`qgenflow.describe`). Files are written to a temporary sibling and
renamed into place, so a killed job never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from .describe import Context, describe
from .errors import ArtefactError, InputDataError
from .files import atomic_path
from .provenance import provenance_attrs, sha256_file

__all__ = [
    "SCHEMA_VERSION",
    "ARTEFACT_KINDS",
    "VOLATILE_ATTRS",
    "DIGEST_ATTR",
    "Artefact",
    "check_inputs",
    "write_artefact",
    "read_artefact",
    "summarize",
]

SCHEMA_VERSION = 2
ARTEFACT_KINDS = ("target", "model", "metrics", "audit", "checkpoint", "trial", "tuning", "trainability", "deploy")
#: Root attribute holding the SHA-256 of everything else in the file (datasets and attributes).
DIGEST_ATTR = "content_sha256"
# Attributes that legitimately differ between two runs of the same study.
VOLATILE_ATTRS = ("created_utc", "git_commit", "package_versions", DIGEST_ATTR)
_REQUIRED_ATTRS = ("qgenflow_version", "schema_version", "kind", "config_json", "seed")


@dataclass
class Artefact:
    """An artefact read into memory: root attributes and datasets by path."""

    path: Path
    kind: str
    attrs: dict[str, Any]
    datasets: dict[str, np.ndarray] = field(default_factory=dict)
    dataset_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The config slice the artefact was made from."""
        return json.loads(self.attrs["config_json"])

    @property
    def seed(self) -> int | None:
        seed = int(self.attrs["seed"])
        return None if seed < 0 else seed

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self.datasets[key]
        except KeyError:
            raise ArtefactError(
                f"{self.path}: no dataset '/{key}' in this {self.kind} artefact "
                f"(has: {', '.join(sorted(self.datasets)) or 'none'})"
            ) from None

    def __contains__(self, key: str) -> bool:
        return key in self.datasets

    def get(self, key: str, default: Any = None) -> Any:
        return self.datasets.get(key, default)


def _to_attr(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)) and not (
        isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value)
    ):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return "null"
    return value


def _to_dataset_attr(value: Any) -> Any:
    """A dataset attribute: a list of strings (``axes``) as an HDF5 string array, h5dump-readable."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.array(value, dtype=h5py.string_dtype())
    return _to_attr(value)


def _from_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _update_attrs(digest: Any, attrs: h5py.AttributeManager, skip: str = "") -> None:
    for key in sorted(attrs):
        if key == skip:
            continue
        value = _from_attr(attrs[key])
        digest.update(f"@{key}={json.dumps(value, sort_keys=True, default=repr)}\n".encode())


def _content_digest(fh: h5py.File, loaded: Mapping[str, Any] | None = None) -> str:
    """SHA-256 over every dataset (name, dtype, shape, bytes) and every attribute but the digest.

    ``loaded`` holds datasets already read from ``fh`` (by path), so a reader reads each once.
    """
    digest = hashlib.sha256()
    _update_attrs(digest, fh.attrs, skip=DIGEST_ATTR)
    names: list[str] = []
    fh.visit(names.append)
    for name in sorted(names):
        obj = fh[name]
        if isinstance(obj, h5py.Dataset):
            if loaded is not None and name in loaded:
                data = np.asarray(loaded[name])
            else:
                data = np.asarray(obj.asstr()[()] if h5py.check_string_dtype(obj.dtype) else obj[()])
            digest.update(f"/{name}:{data.dtype.str}:{data.shape}\n".encode())
            if data.dtype.kind in "OU":
                digest.update(repr(data.tolist()).encode())
            else:
                digest.update(np.ascontiguousarray(data))  # the buffer itself: no copy of large vectors
        else:
            digest.update(f"/{name}/\n".encode())
        _update_attrs(digest, obj.attrs)
    return digest.hexdigest()


def write_artefact(
    path: str | Path,
    kind: str,
    datasets: Mapping[str, Any],
    *,
    config: Mapping[str, Any],
    seed: int | None,
    inputs: Iterable[str | Path] = (),
    attrs: Mapping[str, Any] | None = None,
    dataset_attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write one artefact atomically.

    Args:
        path: destination ``.h5`` file; parent folders are created.
        kind: one of :data:`ARTEFACT_KINDS`.
        datasets: arrays by path inside the file (``"history/loss"`` makes a group).
        config: the config slice that produced the artefact (stored as JSON).
        seed: the seed of the run, or None.
        inputs: input artefacts; their SHA-256 are recorded.
        attrs: extra root attributes (scalars, strings or JSON-able values).
        dataset_attrs: attributes to attach to individual datasets, over those
            :func:`qgenflow.describe.describe` gives each dataset of ``kind``.

    Returns:
        The final path.
    """
    if kind not in ARTEFACT_KINDS:
        raise ValueError(f"artefact kind must be one of {ARTEFACT_KINDS}, got {kind!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root_attrs = provenance_attrs(kind, dict(config), seed, inputs)
    root_attrs["schema_version"] = SCHEMA_VERSION
    for key, value in (attrs or {}).items():
        root_attrs[key] = value
    with atomic_path(path, fsync=True) as tmp:
        with h5py.File(tmp, "w", track_order=True) as fh:
            for key in sorted(root_attrs):
                fh.attrs[key] = _to_attr(root_attrs[key])
            for name in sorted(datasets):
                data = np.asarray(datasets[name])
                if data.dtype.kind == "U":
                    data = data.astype(h5py.string_dtype())
                dset = fh.create_dataset(name, data=data)
                context = Context(name, data.shape, kind, root_attrs, config)
                explained = {**describe(context), **((dataset_attrs or {}).get(name) or {})}
                for akey in sorted(explained):
                    dset.attrs[akey] = _to_dataset_attr(explained[akey])
        # The digest is taken from the file as written, exactly as a reader will see it.
        with h5py.File(tmp, "r+") as fh:
            fh.attrs[DIGEST_ATTR] = _content_digest(fh)
    return path


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line (h5py's messages span several)."""
    return " ".join(str(exc).split())


def _check_is_file(path: Path) -> None:
    if not path.exists():
        raise ArtefactError(f"{path}: artefact not found")
    if not path.is_file():
        raise ArtefactError(f"{path}: is a folder, not an artefact file")


def read_artefact(path: str | Path, kind: str | None = None) -> Artefact:
    """Read an artefact, checking it is a complete qgenflow file of the expected kind.

    Raises:
        ArtefactError: the file is missing, truncated or not HDF5, not written by
            qgenflow, of another kind, or of an unsupported schema version.
    """
    path = Path(path)
    _check_is_file(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ArtefactError(
            f"{path}: cannot be read as HDF5 (truncated, still being written, or not an HDF5 file): {_one_line(exc)}"
        ) from None
    with fh:
        attrs = {k: _from_attr(v) for k, v in fh.attrs.items()}
        missing = [k for k in _REQUIRED_ATTRS if k not in attrs]
        if missing:
            raise ArtefactError(
                f"{path}: not a qgenflow artefact (missing root attributes: {', '.join(missing)})"
            )
        if attrs["schema_version"] != SCHEMA_VERSION:
            raise ArtefactError(
                f"{path}: schema_version {attrs['schema_version']} is not supported by this qgenflow "
                f"(expects {SCHEMA_VERSION}); regenerate it with the current version"
            )
        if kind is not None and attrs["kind"] != kind:
            raise ArtefactError(f"{path}: expected a {kind} artefact, found kind '{attrs['kind']}'")
        if DIGEST_ATTR not in attrs:
            raise ArtefactError(f"{path}: has no {DIGEST_ATTR} (written incompletely, or not by qgenflow)")
        datasets: dict[str, np.ndarray] = {}
        dattrs: dict[str, dict[str, Any]] = {}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                if obj.dtype.kind == "O" or h5py.check_string_dtype(obj.dtype):
                    data = obj.asstr()[()]
                datasets[name] = np.asarray(data) if not isinstance(data, str) else data
                if obj.attrs:
                    dattrs[name] = {k: _from_attr(v) for k, v in obj.attrs.items()}

        try:
            fh.visititems(visit)
            digest = _content_digest(fh, datasets)
        except (OSError, KeyError, RuntimeError) as exc:
            raise ArtefactError(f"{path}: corrupted dataset ({_one_line(exc)})") from None
        if digest != attrs[DIGEST_ATTR]:
            raise ArtefactError(
                f"{path}: content does not match its recorded {DIGEST_ATTR}: the file was altered after "
                "qgenflow wrote it (edited, or corrupted in a cache or copy); delete it and rerun the job that makes it"
            )
    return Artefact(path=path, kind=attrs["kind"], attrs=attrs, datasets=datasets, dataset_attrs=dattrs)


def _read_attrs(path: Path) -> dict[str, Any]:
    _check_is_file(path)
    try:
        with h5py.File(path, "r") as fh:
            return {k: _from_attr(v) for k, v in fh.attrs.items()}
    except OSError as exc:
        raise ArtefactError(f"{path}: cannot be read as HDF5 (truncated or not an HDF5 file): {_one_line(exc)}") from None


def _differences(found: Any, expected: Any, where: str = "") -> list[str]:
    """Readable ``key: found -> expected`` lines where two config slices differ."""
    if isinstance(found, dict) and isinstance(expected, dict):
        out: list[str] = []
        for key in sorted(set(found) | set(expected)):
            sub = f"{where}.{key}" if where else str(key)
            if key not in found:
                out.append(f"{sub}: missing in the file, expected {json.dumps(expected[key])}")
            elif key not in expected:
                out.append(f"{sub}: {json.dumps(found[key])} in the file, not expected")
            else:
                out.extend(_differences(found[key], expected[key], sub))
        return out
    if found != expected:
        return [f"{where or 'config'}: {json.dumps(found)} in the file, expected {json.dumps(expected)}"]
    return []


def check_inputs(expected: Mapping[str, Mapping[str, Any]]) -> None:
    """Check that each input artefact is the one this job expects, before any work.

    ``expected`` maps each artefact path to what the job expects of it: ``kind``,
    ``config`` (the config slice it must have been made from), ``seed``, ``attrs``
    (root attributes that must match, e.g. ``target_name``) and ``made_from``
    (files it must have been made from, as they are now: an upstream artefact or a
    user's data file; those no longer on disk are skipped).

    Raises:
        ArtefactError: naming the file, what it holds and what the job expected,
            when a file was swapped, copied from another study or left stale.
    """
    hashes: dict[str, str] = {}

    def current(source: str) -> str:
        if source not in hashes:
            hashes[source] = sha256_file(source)
        return hashes[source]

    for path, want in expected.items():
        attrs = _read_attrs(Path(path))
        problems: list[str] = []
        if "kind" in want and attrs.get("kind") != want["kind"]:
            problems.append(f"kind: {attrs.get('kind')!r} in the file, expected {want['kind']!r}")
        if "seed" in want and attrs.get("seed") != want["seed"]:
            problems.append(f"seed: {attrs.get('seed')} in the file, expected {want['seed']}")
        if "config" in want:
            try:
                found = json.loads(attrs.get("config_json", "null"))
            except ValueError:
                found = None
            problems.extend(_differences(found, json.loads(json.dumps(want["config"]))))
        for key, value in (want.get("attrs") or {}).items():
            if attrs.get(key) != value:
                problems.append(f"{key}: {attrs.get(key)!r} in the file, expected {value!r}")
        recorded = json.loads(attrs.get("inputs_sha256") or "{}")
        for source in want.get("made_from") or ():
            if not Path(source).is_file():
                continue
            if recorded.get(source) != current(source):
                problems.append(
                    f"made from: {source} has changed since this file was made from it "
                    f"(recorded sha256 {str(recorded.get(source))[:12]}..., now {current(source)[:12]}...)"
                )
        if problems:
            raise ArtefactError(
                f"{path} is not the artefact this job expects (swapped, copied from another study, or stale): "
                + "; ".join(problems)
                + ". Delete it and rerun, so the workflow remakes it"
            )


def _attr_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(value) + "]"
    return str(value)


def _dataset_lines(name: str, data: Any, attrs: Mapping[str, Any]) -> list[str]:
    """Shape, dtype, range and every attribute of one dataset, indented under its path."""
    if isinstance(data, str):
        head = f"  /{name}: str ({len(data)} chars)"
    else:
        head = f"  /{name}: {data.dtype} {list(data.shape)}"
        if data.size == 1 and data.dtype.kind in "fiub":
            head += f" = {data.item():.6g}"
        elif data.size and data.dtype.kind in "fiu":
            head += f"  min {data.min():.4g}  max {data.max():.4g}"
    return [head] + [f"      {key}: {_attr_text(attrs[key])}" for key in sorted(attrs)]


def summarize(path: str | Path, dataset: str | None = None) -> str:
    """A readable multi-line summary of an artefact (used by ``qgenflow inspect``).

    The kind, every root attribute, and every dataset with its shape, dtype and the
    attributes that explain it; with ``dataset``, that dataset alone and its full value
    (the OpenQASM text of ``circuit/qasm``).

    Raises:
        ArtefactError: the file is not a readable artefact, or has no such dataset.
    """
    art = read_artefact(path)
    lines = [f"{art.path}  ({art.kind} artefact, schema {art.attrs['schema_version']})"]
    if dataset is not None:
        name = dataset.lstrip("/")
        data = art[name]
        lines += _dataset_lines(name, data, art.dataset_attrs.get(name, {}))
        lines.append(data if isinstance(data, str) else np.array2string(np.asarray(data), threshold=10_000))
        return "\n".join(lines)
    lines.append("attributes:")
    for key in sorted(art.attrs):
        value = art.attrs[key]
        text = str(value)
        if key in ("config_json", "inputs_sha256", "package_versions"):
            try:
                text = json.dumps(json.loads(value), sort_keys=True)
            except (TypeError, ValueError):
                pass
        if len(text) > 200:
            text = text[:197] + "..."
        lines.append(f"  {key}: {text}")
    lines.append("datasets:")
    for name in sorted(art.datasets):
        lines += _dataset_lines(name, art.datasets[name], art.dataset_attrs.get(name, {}))
    return "\n".join(lines)


# --- User-supplied sample files (not artefacts) -------------------------------
# Kept here because this is the only module that imports h5py.

__all__.append("read_user_samples_h5")


def read_user_samples_h5(path: str | Path, dataset: str = "samples") -> np.ndarray:
    """Read one dataset of a user's HDF5 file as an array, without checking its content.

    Args:
        path: the HDF5 file.
        dataset: path of the dataset inside the file (``"samples"``, ``"group/x"``).

    Raises:
        InputDataError: the file is missing or not HDF5, or has no such dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: sample file not found")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read as HDF5 (truncated or not an HDF5 file): {exc}") from None
    with fh:
        obj = fh.get(dataset)
        if not isinstance(obj, h5py.Dataset):
            found: list[str] = []
            fh.visititems(lambda name, o: found.append(name) if isinstance(o, h5py.Dataset) else None)
            what = "is a group, not a dataset" if obj is not None else "not found"
            raise InputDataError(
                f"{path}: dataset '{dataset}' {what}; datasets in the file: {', '.join(found) or 'none'} "
                f"(set the target's `dataset` key)"
            )
        try:
            return np.asarray(obj[()])
        except (OSError, KeyError, RuntimeError, TypeError) as exc:
            raise InputDataError(f"{path}: dataset '{dataset}' cannot be read ({exc})") from None
