"""Software environments: the user's environment.yml and the rules' workflow/envs/*.yaml agree with
pyproject.toml, pin by pin, and every rule runs in an environment that holds what its code imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from snakemake.common import get_snakemake_searchpaths

import qgenflow
from qgenflow.sources import stage_files

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
USER_ENV = REPO / "environment.yml"
RULE_ENVS = sorted((REPO / "workflow/envs").glob("*.yaml"))
ENV_FILES = [USER_ENV, *RULE_ENVS]
#: conda-forge names of packages whose PyPI name differs (matplotlib-base: matplotlib without Qt).
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}
#: Import names of distributions named otherwise.
IMPORT_TO_PYPI = {"yaml": "pyyaml", "tenpy": "physics-tenpy"}
#: Installed from PyPI through `pip:`, as NetKet advises: their conda-forge builds lag PyPI releases.
FROM_PYPI = {"pennylane", "pennylane-lightning", "netket", "jax", "flax", "optax"}
#: Import names of the optional hardware extra (qiskit-aer, qiskit-ibm-runtime), deferred inside functions.
OPTIONAL_IMPORTS = {"qiskit_aer", "qiskit_ibm_runtime"}
#: Back ends a stage uses without importing them (PennyLane devices lightning.qubit and default.clifford).
BACK_ENDS = {"pennylane-lightning", "stim"}


def _requirements(strings) -> dict[str, SpecifierSet]:
    reqs = [Requirement(s) for s in strings]
    return {CONDA_TO_PYPI.get(r.name.lower(), r.name.lower()): r.specifier for r in reqs}


def _load(path: Path) -> dict:
    """An environment file's packages: {"conda": {name: spec}, "pip": {name: spec}, "pip_options": [...]}."""
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [entry for d in env["dependencies"] if isinstance(d, dict) for entry in d["pip"] or []]
    options = [p for p in pip if p.startswith("-") or not re.match(r"^[A-Za-z0-9]", p) or "@" in p or "://" in p]
    return {
        "channels": env.get("channels", []),
        "conda": _requirements(c for c in conda if _bare(c) not in {"python", "pip"}),
        "python": next(SpecifierSet(c[len("python"):]) for c in conda if _bare(c) == "python"),
        "pip": _requirements(p for p in pip if p not in options),
        "pip_options": options,
    }


def _bare(spec: str) -> str:
    return re.split(r"[<>=!~ ]", spec, maxsplit=1)[0]


def _declared() -> dict[str, SpecifierSet]:
    return _requirements(PYPROJECT["project"]["dependencies"])


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_pin_matches_pyproject(path):
    """Each package an environment names is a runtime dependency of pyproject.toml with the same
    version specifier, named once; the user's environment names all of them."""
    env = _load(path)
    assert set(env["conda"]).isdisjoint(env["pip"]), "a package is both a conda and a pip dependency"
    pins = {**env["conda"], **env["pip"]}
    declared = _declared()
    assert {name: declared.get(name) for name in pins} == pins
    if path == USER_ENV:
        assert pins == declared


def test_rule_environments_deploy_every_runtime_dependency_but_snakemake():
    """Together the rule environments hold every runtime dependency except Snakemake itself."""
    deployed = set()
    for path in RULE_ENVS:
        env = _load(path)
        deployed |= set(env["conda"]) | set(env["pip"])
    assert deployed == set(_declared()) - {"snakemake"}


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_quantum_stack_comes_from_pypi_and_the_rest_from_conda_forge(path):
    """PennyLane, lightning, NetKet and JAX come through `pip:`; conda packages from conda-forge only."""
    env = _load(path)
    assert FROM_PYPI <= set(env["pip"])
    assert env["channels"][0] == "conda-forge" and "nodefaults" in env["channels"]
    assert "defaults" not in env["channels"]


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_python_range_lies_within_requires_python(path):
    """The environment's Python range starts where pyproject's requires-python starts."""
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert set(requires) <= set(_load(path)["python"])


def test_user_environment_installs_this_checkout():
    """environment.yml installs qgenflow itself (editable, from the folder of the file)."""
    assert _load(USER_ENV)["pip_options"] == ["-e ."]


@pytest.mark.parametrize("path", RULE_ENVS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_rule_environments_hold_neither_snakemake_nor_a_path(path):
    """A rule environment holds no Snakemake and no local path or URL, so it does not depend on where
    the repository lives (qgenflow reaches the job from Snakemake's own Python, see the next test)."""
    env = _load(path)
    assert "snakemake" not in env["conda"] and "snakemake" not in env["pip"]
    assert env["pip_options"] == []


def test_script_jobs_find_qgenflow_through_snakemakes_search_path():
    """Snakemake appends its interpreter's search path to every Python script job (so the job can
    unpickle `snakemake`); the folder qgenflow is imported from is on it, so a rule environment
    without qgenflow runs the very code Snakemake planned with."""
    package_parent = Path(qgenflow.__file__).resolve().parents[1]
    assert package_parent in {Path(p).resolve() for p in get_snakemake_searchpaths()}


def _rule_blocks():
    """(file, rule text) of every rule in workflow/rules, including rules made in loops."""
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"^\s*rule\b", path.read_text(), flags=re.MULTILINE)[1:]:
            yield path, block


def _stage_imports(stage: str) -> set[str]:
    found = set()
    for path in stage_files(stage):
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {IMPORT_TO_PYPI.get(m, m) for m in found if m not in sys.stdlib_module_names and m != "qgenflow"}


def test_every_script_rule_has_an_environment_with_its_stage_imports():
    """Each rule that runs a script names a workflow/envs file holding every package its stage imports
    (plus PennyLane's device back ends where the stage uses PennyLane)."""
    checked = []
    for path, block in _rule_blocks():
        if "script:" not in block:
            continue
        conda = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
        stage = re.search(r'get_code\("(\w+)"\)', block)
        assert conda and stage, f"{path.name}: a script rule without conda: or code fingerprint:\n{block[:200]}"
        env_file = (path.parent / conda.group(1)).resolve()
        assert env_file.parent == (REPO / "workflow/envs").resolve(), env_file
        env = _load(env_file)
        # An optional extra's packages (hardware: qiskit noise models) are imported only when a config
        # names them, from the environment the user installed with the extra (test_packaging checks this).
        needed = _stage_imports(stage.group(1)) - OPTIONAL_IMPORTS
        if "pennylane" in needed:
            needed |= BACK_ENDS
        assert needed - set(env["conda"]) - set(env["pip"]) == set(), (path.name, stage.group(1))
        checked.append(stage.group(1))
    assert {"targets", "train", "tune", "evaluate", "audit", "figures", "publish"} <= set(checked)
