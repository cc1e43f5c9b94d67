"""Collect a study's figures and tables into one folder with a checksummed manifest.

``manifest.json`` lists every published file with its SHA-256 and size, and the
artefacts it was drawn from; each artefact appears once under ``artefacts`` with its
own SHA-256 and provenance (kind, seed, qgenflow version, code commit, package
versions, config and creation time, as recorded in the HDF5 file). The manifest and
every copy are written atomically. :func:`verify_manifest` rechecks the checksums.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..files import atomic_path, write_text_atomic
from ..io import read_artefact
from ..provenance import sha256_file

__all__ = ["MANIFEST_NAME", "publish", "verify_manifest"]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_JSON_ATTRS = ("config_json", "package_versions", "inputs_sha256")
_PROVENANCE_ATTRS = ("kind", "seed", "qgenflow_version", "git_commit", "created_utc", *_JSON_ATTRS)


def _atomic_copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def _provenance(path: str) -> dict[str, Any]:
    art = read_artefact(path)
    entry: dict[str, Any] = {"sha256": sha256_file(path)}
    for key in _PROVENANCE_ATTRS:
        if key not in art.attrs:
            continue
        value = art.attrs[key]
        if key in _JSON_ATTRS:
            value = json.loads(value)
        elif hasattr(value, "item"):
            value = value.item()
        entry[key.removesuffix("_json")] = value
    return entry


def publish(
    files: Mapping[str, str | Path],
    sources: Mapping[str, Sequence[str | Path]],
    outdir: str | Path,
    study: str | None = None,
) -> Path:
    """Copy ``files`` into ``outdir`` and write its manifest.

    Args:
        files: ``{name inside outdir: source path}``, e.g. ``{"figures/a.pdf": "results/figures/a.pdf"}``.
        sources: for each name, the HDF5 artefacts the file was drawn from (may be empty).
        outdir: the publish folder.
        study: the study's name, recorded in the manifest.

    Returns:
        The manifest path.
    """
    outdir = Path(outdir)
    unknown = sorted(set(sources) - set(files))
    if unknown:
        raise ValueError(f"sources given for files that are not published: {', '.join(unknown)}")
    for name, src in files.items():
        if Path(name).is_absolute() or ".." in Path(name).parts or name == MANIFEST_NAME:
            raise ValueError(f"publish name {name!r} must be a relative path inside the folder, not {MANIFEST_NAME}")
        if not Path(src).is_file():
            raise FileNotFoundError(f"{src}: file to publish does not exist")
    artefacts: dict[str, dict[str, Any]] = {}
    entries = []
    for name, src in sorted(files.items()):
        drawn_from = [str(p) for p in sources.get(name, ())]
        for path in drawn_from:
            if path not in artefacts:
                artefacts[path] = _provenance(path)
        _atomic_copy(Path(src), outdir / name)
        entries.append(
            {
                "file": name,
                "sha256": sha256_file(outdir / name),
                "bytes": (outdir / name).stat().st_size,
                "source": str(src),
                "drawn_from": drawn_from,
            }
        )
    manifest = {"qgenflow_version": __version__, "study": study, "files": entries, "artefacts": dict(sorted(artefacts.items()))}
    path = outdir / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    logger.info("published %d files (%d source artefacts) to %s", len(entries), len(artefacts), outdir)
    return path


def verify_manifest(manifest_path: str | Path) -> list[str]:
    """Recheck every file listed in a manifest; returns the problems found (empty when all match)."""
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str) for e in entries
    ):
        return ["not a qgenflow publish manifest (expects a 'files' list of {file, sha256} entries)"]
    problems = []
    for entry in entries:
        path = manifest_path.parent / entry["file"]
        if not path.is_file():
            problems.append(f"{entry['file']}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['file']}: sha256 differs from the manifest")
    return problems
