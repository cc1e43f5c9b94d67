"""Which package code each workflow stage runs, and a fingerprint of it.

Snakemake does not track imported Python code, so every rule gets a ``params``
entry holding a content hash of the modules its stage actually imports: the
transitive import graph inside ``qgenflow``, found by reading the modules'
syntax trees (imports inside functions included), plus the package data files
those modules' folders ship (the figure style). Editing any module a stage
imports changes that stage's fingerprint, so Snakemake's params trigger reruns
exactly its jobs; and since the fingerprint names no absolute path, a study
moved to another folder, machine or environment plans nothing.

Light imports only: this runs when Snakemake parses the workflow.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path

__all__ = ["STAGE_ENTRIES", "PACKAGE", "stage_modules", "stage_files", "stage_fingerprint", "module_imports"]

PACKAGE = "qgenflow"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Package data (not Python) that a stage reads from the folder of a module it imports.
DATA_SUFFIXES = (".mplstyle",)

#: The modules each stage's workflow scripts import; everything else follows from the graph.
STAGE_ENTRIES: dict[str, tuple[str, ...]] = {
    "targets": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.target"),
    "train": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.train"),
    "tune": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.tune"),
    "evaluate": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.evaluate", "qgenflow.stages.table"),
    "audit": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.audit"),
    "trainability": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.trainability"),
    "deploy": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.deploy"),
    "figures": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.figure"),
    "publish": ("qgenflow.runtime", "qgenflow.io", "qgenflow.stages.publish"),
    "page": ("qgenflow.runtime", "qgenflow.stages.page"),
}


def _module_file(module: str) -> Path | None:
    """The source file of a ``qgenflow`` module or package, or None if there is none."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


#: An import statement on its own line(s), at any indentation (inside functions too).
_IMPORT_STATEMENT = re.compile(
    rb"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", re.MULTILINE
)


#: A lazy registry entry ``"qgenflow.module:function"`` (e.g. :data:`qgenflow.train.TRAINERS`):
#: the module is imported when the entry is used, so it is a dependency like an import.
_LAZY_ENTRY = re.compile(rb"""["'](qgenflow(?:\.\w+)+):\w+["']""")


def _import_statements(source: bytes) -> list[ast.stmt]:
    """Every import statement of a module's source, parsed one by one.

    Only the import lines are parsed, not the whole module (ten times faster: this runs
    at every workflow parse, on every cluster job). A line that looks like an import but
    is not one (in a docstring) adds at most a dependency, never hides one.
    """
    nodes: list[ast.stmt] = []
    for match in _IMPORT_STATEMENT.finditer(source):
        try:
            nodes.extend(ast.parse(match.group(0).strip()).body)
        except SyntaxError:
            continue
    return nodes


@functools.cache
def module_imports(module: str) -> frozenset[str]:
    """``qgenflow`` modules that ``module`` imports anywhere in its body, resolved to absolute names,
    and those its lazy registry entries (``"qgenflow.module:function"`` strings) name."""
    path = _module_file(module)
    if path is None:
        return frozenset()
    package = module if _is_package(path) else module.rpartition(".")[0]
    source = path.read_bytes()
    found: set[str] = {match.group(1).decode() for match in _LAZY_ENTRY.finditer(source)}
    for node in _import_statements(source):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # ``from pkg import name`` imports the submodule pkg.name when there is one.
            found.update(f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}"))
    return frozenset(m for m in found if _module_file(m) is not None)


def _with_parents(module: str) -> list[str]:
    """A module and the packages Python imports before it (``a``, ``a.b``, ``a.b.c``)."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@functools.cache
def stage_modules(stage: str) -> tuple[str, ...]:
    """Every ``qgenflow`` module a stage imports, directly or not, sorted."""
    try:
        entries = STAGE_ENTRIES[stage]
    except KeyError:
        raise KeyError(f"unknown stage {stage!r}; stages: {', '.join(STAGE_ENTRIES)}") from None
    seen: set[str] = set()
    todo = [m for entry in entries for m in _with_parents(entry)]
    while todo:
        module = todo.pop()
        if module in seen or _module_file(module) is None:
            continue
        seen.add(module)
        for imported in module_imports(module):
            todo.extend(_with_parents(imported))
    return tuple(sorted(seen))


def stage_files(stage: str) -> list[Path]:
    """The source and data files a stage's results depend on, sorted."""
    files = {_module_file(m) for m in stage_modules(stage)}
    for folder in {f.parent for f in files if f is not None}:
        files.update(p for p in folder.iterdir() if p.suffix in DATA_SUFFIXES and p.is_file())
    return sorted(f for f in files if f is not None)


@functools.cache
def stage_fingerprint(stage: str) -> str:
    """SHA-256 of a stage's files: their paths inside the package and their bytes."""
    digest = hashlib.sha256()
    for path in stage_files(stage):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
