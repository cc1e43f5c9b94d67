"""Stage code fingerprints: the import graph they are built from, and what changes them."""

from __future__ import annotations

import ast
import shutil

import pytest

from qgenflow import sources
from qgenflow.sources import PACKAGE_DIR, STAGE_ENTRIES, module_imports, stage_fingerprint, stage_modules


def _all_modules() -> list[str]:
    names = []
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["qgenflow", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


def _full_ast_imports(module: str) -> set[str]:
    """The reference: every Import/ImportFrom node of the whole syntax tree."""
    path = sources._module_file(module)
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.add(ast.unparse(node))
    return found


@pytest.mark.parametrize("module", _all_modules())
def test_import_lines_scanner_finds_every_import_of_the_syntax_tree(module):
    """Parsing only the import lines finds exactly the statements a full parse finds."""
    path = sources._module_file(module)
    fast = {ast.unparse(node) for node in sources._import_statements(path.read_bytes())}
    assert _full_ast_imports(module) <= fast


def test_imports_inside_functions_and_relative_imports_are_resolved():
    """targets.iqp imports circuits inside a function and limits at the top, both relatively."""
    imports = module_imports("qgenflow.targets.iqp")
    assert {"qgenflow.circuits", "qgenflow.limits", "qgenflow.devices"} <= imports


def test_stages_import_what_they_run_and_not_what_they_do_not():
    """Targets do not depend on training code; evaluation reads spin targets; figures hold the style."""
    assert "qgenflow.fit.loop" not in stage_modules("targets")
    assert "qgenflow.train" not in stage_modules("targets")
    assert "qgenflow.targets.spin" in stage_modules("evaluate")
    assert "qgenflow.fit.loop" in stage_modules("train")
    assert any(p.suffix == ".mplstyle" for p in sources.stage_files("figures"))


def test_fingerprint_changes_with_each_module_a_stage_imports_and_no_other(tmp_path, monkeypatch):
    """Editing any module in a stage's graph changes its fingerprint; a module outside it does not;
    the package's location does not."""
    copy = tmp_path / "elsewhere" / "qgenflow"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def fingerprints(root):
        monkeypatch.setattr(sources, "PACKAGE_DIR", root)
        for cached in (sources.module_imports, sources.stage_modules, sources.stage_fingerprint):
            cached.cache_clear()
        return {stage: stage_fingerprint(stage) for stage in STAGE_ENTRIES}

    original = fingerprints(PACKAGE_DIR)
    assert fingerprints(copy) == original  # moved package, same code: same fingerprints
    for module in ("qgenflow.targets.spin", "qgenflow.fit.loop", "qgenflow.plots.style", "qgenflow.stages.publish"):
        path = sources._module_file(module)  # inside the copy while it is the package
        assert copy in path.parents
        before = path.read_bytes()
        path.write_bytes(before + b"\n# edited\n")
        changed = fingerprints(copy)
        path.write_bytes(before)
        for stage in STAGE_ENTRIES:
            assert (changed[stage] != original[stage]) == (module in stage_modules(stage)), (module, stage)
    fingerprints(PACKAGE_DIR)
