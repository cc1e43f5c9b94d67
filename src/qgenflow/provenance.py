"""Provenance recorded on every artefact: versions, code commit, inputs, time."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Iterable

from . import __version__

__all__ = ["STUDY_LINE", "sha256_file", "inputs_sha256", "package_versions", "git_commit", "provenance_attrs"]

#: First line of every verdict file: the study that wrote it (one results/ folder holds one study).
STUDY_LINE = "study: "

TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "h5py",
    "pennylane",
    "pennylane_lightning",
    "jax",
    "optax",
    "flax",
    "netket",
    "optuna",
    "snakemake",
)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def inputs_sha256(paths: Iterable[str | Path]) -> dict[str, str]:
    """Map each input path (as given) to the SHA-256 of its content."""
    return {str(p): sha256_file(p) for p in paths}


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results (without importing them)."""
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit() -> str:
    """Commit of the qgenflow source tree, with ``-dirty`` if it has local edits; ``unknown`` outside git."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=here, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def provenance_attrs(
    kind: str, config: dict, seed: int | None, inputs: Iterable[str | Path] = ()
) -> dict[str, object]:
    """Root attributes that make an artefact self-describing."""
    return {
        "qgenflow_version": __version__,
        "kind": kind,
        "config_json": json.dumps(config, sort_keys=True),
        "seed": -1 if seed is None else int(seed),
        "inputs_sha256": json.dumps(inputs_sha256(inputs), sort_keys=True),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "package_versions": json.dumps(package_versions(), sort_keys=True),
    }
