"""The figure registry and the reference rows: each fact once, and every reader agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qgenflow.catalog import FIGURES, REFERENCES, TargetFacts, target_figure_names

REPO = Path(__file__).resolve().parents[2]

#: Facts of a plain target: no spin lattice, no exact probabilities, no quantum model, no sweep.
PLAIN = TargetFacts(kind="bars_and_stripes", quantum=False, has_probs=False, model_kinds=frozenset({"rbm"}), swept=False)
#: The figures every target gets.
COMMON = ["training", "distribution", "correlations", "metrics"]


def test_every_target_gets_the_common_figures_in_registry_order():
    """A plain target gets the four common figures, in the order rules are defined."""
    assert target_figure_names(PLAIN) == COMMON


@pytest.mark.parametrize(
    "changes, extra",
    [
        ({"kind": "heisenberg", "quantum": True}, ["corr_r"]),
        ({"kind": "tfim", "quantum": True}, ["corr_r"]),
        ({"kind": "iqp", "has_probs": True}, ["porter_thomas"]),
        ({"kind": "iqp", "has_probs": False}, []),
        ({"kind": "random_circuit", "has_probs": True}, ["porter_thomas"]),
        ({"model_kinds": frozenset({"qcbm"})}, ["audit"]),
        ({"model_kinds": frozenset({"qcbm", "qgan"})}, ["qgan", "audit"]),
        ({"swept": True}, ["scaling_params"]),
        ({"tuned": True}, ["tuning"]),
        ({"model_kinds": frozenset({"qcbm"}), "trainability": True, "swept": True},
         ["audit", "trainability", "scaling_params"]),
        ({"model_kinds": frozenset({"qcbm"}), "deployed": True}, ["audit", "deploy"]),
        ({"kind": "heisenberg", "quantum": True, "model_kinds": frozenset({"qgan"}), "swept": True},
         ["corr_r", "qgan", "audit", "scaling_params"]),
    ],
)
def test_figures_apply_where_their_target_calls_for_them(changes, extra):
    """Spin targets add C(r), exact IQP targets Porter-Thomas, a QGAN its dynamics, a quantum model the audit,
    a sweep its scaling, tuned models their trials."""
    facts = TargetFacts(**{**PLAIN.__dict__, **changes})
    assert target_figure_names(facts) == COMMON + extra


def test_sweep_figures_are_never_per_target():
    """The qubit scaling figure is drawn once per sweep, with the sweep wildcard in its path."""
    sweep = [name for name, f in FIGURES.items() if f.scope == "sweep"]
    assert sweep == ["scaling_qubits"]
    assert FIGURES["scaling_qubits"].file == "scaling/qubits_{sweep}"
    every = TargetFacts(kind="iqp", quantum=False, has_probs=True, model_kinds=frozenset({"qgan"}), swept=True)
    assert "scaling_qubits" not in target_figure_names(every)


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_is_consistent(name):
    """A figure has a caption, takes some input, names its own file and wildcards, and filters only models it reads."""
    figure = FIGURES[name]
    assert figure.name == name
    assert (REPO / "workflow/report" / f"{name}.rst").is_file()
    assert (figure.target or figure.models or figure.metrics or figure.audit or figure.tuning or figure.trainability
            or figure.deploy)
    assert figure.scope in ("target", "sweep")
    assert ("{target}" in figure.file) == (figure.scope == "target")
    assert ("{sweep}" in figure.file) == (figure.scope == "sweep")
    assert figure.model_kinds is None or figure.models
    assert not figure.references or figure.metrics
    assert set(figure.options) <= {"max_bitstrings", "metrics", "families", "deploy_metric"}
    assert (figure.x is not None) == (figure.draw == "plot_scaling")


def test_reference_rows_are_the_reserved_model_names():
    """A model named like a reference row is refused: its metrics would land in the row's place."""
    from qgenflow.plan import check_config
    from qgenflow.errors import InvalidConfigError

    assert REFERENCES == ("data", "uniform")
    for name in REFERENCES:
        config = {
            "targets": {"t": {"kind": "uniform", "n_bits": 2}},
            "models": {name: {"kind": "qcbm", "layers": 1}},
            "studies": [{"targets": ["t"], "models": [name]}],
        }
        with pytest.raises(InvalidConfigError, match=f"models.{name}"):
            check_config(config)


def test_the_catalog_imports_nothing_but_the_standard_library():
    """The registry is read when Snakemake parses the workflow: no numpy, no matplotlib."""
    import ast
    import sys

    tree = ast.parse((REPO / "src/qgenflow/catalog.py").read_text())
    modules = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}
