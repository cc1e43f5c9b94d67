"""Packaging and documentation stay consistent with the code."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from qgenflow.plan import SCHEMA_PATH
from qgenflow.configdocs import render_config_docs
from qgenflow.sources import PACKAGE_DIR, STAGE_ENTRIES, stage_files

REPO = Path(__file__).resolve().parents[2]
#: The plan layer and the command line: read at parse time or by hand, never by a job.
NOT_IN_A_STAGE = {"cli.py", "configdocs.py", "sources.py"} | {
    f"plan/{name}.py" for name in ("__init__", "artefacts", "entries", "evaluation", "resources", "studies", "tuning", "validate")
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_config_reference_is_up_to_date():
    """config/README.md is what `qgenflow config-docs` generates from the schema."""
    expected = render_config_docs(SCHEMA_PATH)
    assert (REPO / "config/README.md").read_text() == expected, "run: qgenflow config-docs -o config/README.md"


def test_every_module_belongs_to_a_stage():
    """Each package module but the plan layer is imported by some stage, so its edits rerun jobs."""
    tracked = {p.relative_to(PACKAGE_DIR).as_posix() for stage in STAGE_ENTRIES for p in stage_files(stage)}
    files = {p.relative_to(PACKAGE_DIR).as_posix() for p in PACKAGE_DIR.rglob("*.py")}
    assert files - tracked == NOT_IN_A_STAGE
    assert "plots/qgenflow.mplstyle" in tracked


def test_default_config_is_valid():
    """The shipped default study passes the schema and the cross-checks."""
    from qgenflow.cli import main

    assert main(["check-config", str(REPO / "config/config.yaml"), "--schema", str(SCHEMA_PATH)]) == 0


def test_job_resources_grow_with_problem_size():
    """Memory and runtime requests grow with qubits; a 24-qubit job never gets a 1 GB default."""
    from qgenflow.plan import job_resources

    model = {"kind": "qcbm", "layers": 6, "optimizer": {"steps": 500}}  # a statevector-trained model
    small = job_resources("train", {"kind": "uniform", "n_bits": 8}, model)
    big = job_resources("train", {"kind": "uniform", "n_bits": 24}, model)
    assert big["mem_mb"] > 4000 and big["mem_mb"] > small["mem_mb"] and big["runtime"] > small["runtime"]
    exact = job_resources("targets", {"kind": "heisenberg", "lattice": [4, 6], "method": "exact"})
    vmc_small = job_resources("targets", {"kind": "heisenberg", "lattice": [6, 6], "method": "vmc"})
    vmc_big = job_resources("targets", {"kind": "heisenberg", "lattice": [8, 8], "method": "vmc"})
    assert exact["mem_mb"] > 8000 and vmc_big["runtime"] > vmc_small["runtime"]


#: Distribution names of import names that differ from them.
DISTRIBUTIONS = {"yaml": "pyyaml", "tenpy": "physics-tenpy"}
#: Declared dependencies the package never imports by name: the workflow engine, and the
#: PennyLane device plugin that `qml.device("lightning.qubit")` loads.
#: Run-time back ends reached through another package: Snakemake (the CLI), lightning and stim
#: (PennyLane devices `lightning.qubit` and `default.clifford`).
USED_WITHOUT_IMPORT = {"snakemake", "pennylane-lightning", "stim"}


def _third_party_imports() -> set[str]:
    import sys

    found = set()
    for path in (REPO / "src/qgenflow").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {DISTRIBUTIONS.get(m, m) for m in found if m not in sys.stdlib_module_names and m != "qgenflow"}


#: Extras whose packages the package may import, inside a function only (noise models: qiskit-aer, qiskit-ibm-runtime).
OPTIONAL_EXTRAS = ("hardware",)


def test_every_import_is_declared_and_every_dependency_used():
    """The package imports exactly the runtime dependencies pyproject.toml declares, and an optional
    extra's packages only inside functions (never at module level)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = {_name(r) for r in pyproject["project"]["dependencies"]}
    optional = {_name(r) for e in OPTIONAL_EXTRAS for r in pyproject["project"]["optional-dependencies"][e]}
    imported = {_name(m) for m in _third_party_imports()}
    assert imported - declared - optional == set(), "imported but not declared"
    assert declared - imported == USED_WITHOUT_IMPORT, "declared but never imported"
    top = {_name(node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
           for path in (REPO / "src/qgenflow").rglob("*.py") for node in ast.parse(path.read_text()).body
           if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
           for alias in node.names}
    assert top & (optional - declared) == set(), "an optional extra imported at module level"


def _lint_imports(cwd: Path, pythonpath: Path | None = None):
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    cmd = [str(Path(sys.executable).parent / "lint-imports"), "--config", str(REPO / "pyproject.toml"), "--no-cache"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_import_contract_holds():
    """Imports run one way: the layers in pyproject.toml (plan, stages, ..., core)."""
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: The cycles the one-spine refactor removed (issue 13), each reintroduced as an import inside a function.
CYCLES = [
    ("models/qcbm.py", "from ..train import train", "qgenflow.models.qcbm -> qgenflow.train"),
    ("models/qgan/classical.py", "from ...train import train", "qgenflow.models.qgan.classical -> qgenflow.train"),
    ("models/baselines/rbm.py", "from ...train import train", "qgenflow.models.baselines.rbm -> qgenflow.train"),
    ("targets/iqp.py", "from ..train.iqp_estimator import iqp_outputs", "qgenflow.targets.iqp -> qgenflow.train.iqp_estimator"),
]


@pytest.mark.parametrize("module, line, chain", CYCLES, ids=[c[0] for c in CYCLES])
def test_import_contract_catches_a_reintroduced_cycle(tmp_path, module, line, chain):
    """Each removed cycle, put back inside a function (where it once hid), breaks the contract."""
    copy = tmp_path / "src/qgenflow"
    shutil.copytree(REPO / "src/qgenflow", copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / module, "a") as fh:
        fh.write(f"\n\ndef _cycle():\n    {line}\n\n    return None\n")
    proc = _lint_imports(tmp_path, pythonpath=tmp_path / "src")
    assert proc.returncode != 0
    assert chain in proc.stdout, proc.stdout


MAX_FUNCTION_LINES = 80


def _functions():
    for path in sorted((REPO / "src/qgenflow").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node


def test_no_function_is_longer_than_80_lines():
    """Every function in src/ fits on a screen (def line to last line)."""
    long = [f"{p.relative_to(REPO)}:{f.lineno} {f.name} ({f.end_lineno - f.lineno + 1} lines)"
            for p, f in _functions() if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_imports_inside_functions_are_heavy_dependencies_with_a_reason():
    """Imports sit at module top; the few deferred ones load a heavy library on a light path and say so
    (a ``# heavy:`` reason on the import line or the line above)."""
    bad = []
    for path, func in _functions():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(func):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if "# heavy:" not in lines[node.lineno - 1] and "# heavy:" not in lines[node.lineno - 2]:
                bad.append(f"{path.relative_to(REPO)}:{node.lineno} {lines[node.lineno - 1].strip()}")
    assert bad == []
