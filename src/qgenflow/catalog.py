"""The study's fixed vocabulary: the reference rows of every table and the figure registry.

Each fact here is written once and read by the workflow (``workflow/rules/common.smk``:
inputs, labels, options and outputs of the figure rules), by :mod:`qgenflow.plan`
(which figures a target gets, which model names are reserved), by :mod:`qgenflow.metrics`
(the reference rows) and by :mod:`qgenflow.plots` (which function draws a figure).
Read when Snakemake parses the workflow: standard library only, and a drawing function
is named, not imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BRICKWORK_LAYOUTS",
    "CLASSICAL_MODEL_KINDS",
    "DATA_REFERENCE",
    "FIGURES",
    "PORTER_THOMAS_KINDS",
    "QUANTUM_MODEL_KINDS",
    "REFERENCES",
    "UNIFORM_REFERENCE",
    "Figure",
    "TargetFacts",
    "target_figure_names",
]

#: Reference row: the target's training samples scored against its test split (the memoriser and the noise floor).
DATA_REFERENCE = "data"
#: Reference row: uniformly random bits.
UNIFORM_REFERENCE = "uniform"
#: The reference rows every table and metrics figure holds; no model may take these names.
REFERENCES = (DATA_REFERENCE, UNIFORM_REFERENCE)
#: Model kinds on the quantum side of every comparison (audited for classical ease).
QUANTUM_MODEL_KINDS = ("qcbm", "qgan", "clifford", "mps_qcbm")
#: Model kinds on the classical side.
CLASSICAL_MODEL_KINDS = ("product", "rbm", "autoregressive", "transformer", "gan")
#: Target kinds of random circuits from a hard sampling class whose exact output probabilities follow the
#: Porter-Thomas law (IQP, random circuit sampling); not boson sampling, whose probabilities do not.
PORTER_THOMAS_KINDS = ("iqp", "random_circuit")
#: Two-qubit gate layouts of the brickwork circuit (``mps_qcbm``): even bonds then odd, or every bond left to right.
BRICKWORK_LAYOUTS = ("brickwork", "staircase")

@dataclass(frozen=True)
class TargetFacts:
    """What decides which figures a target gets (:func:`qgenflow.plan.target_figures` fills it in).

    Attributes:
        kind: the target's ``kind``.
        quantum: the target is a spin-lattice ground state (its ZZ correlations depend on distance).
        has_probs: the target artefact holds exact probabilities.
        model_kinds: the ``kind`` of every model trained on the target.
        swept: a model family is swept over its parameter count on the target.
        tuned: some model of the target runs tuning trials.
        trainability: the study's trainability diagnostics run on the target (enabled, and it has a qcbm).
        deployed: a trained circuit model of the target is deployed on devices (the ``deploy`` section).
    """

    kind: str
    quantum: bool
    has_probs: bool
    model_kinds: frozenset[str]
    swept: bool
    tuned: bool = False
    trainability: bool = False
    deployed: bool = False


def _always(facts: TargetFacts) -> bool:
    return True


def _spin_target(facts: TargetFacts) -> bool:
    return facts.quantum


def _exact_random_circuit_target(facts: TargetFacts) -> bool:
    return facts.kind in PORTER_THOMAS_KINDS and facts.has_probs


def _learnt_by_a_qgan(facts: TargetFacts) -> bool:
    return "qgan" in facts.model_kinds


def _has_quantum_model(facts: TargetFacts) -> bool:
    return bool(facts.model_kinds & set(QUANTUM_MODEL_KINDS))


def _swept(facts: TargetFacts) -> bool:
    return facts.swept


def _tuned(facts: TargetFacts) -> bool:
    return facts.tuned


def _diagnosed(facts: TargetFacts) -> bool:
    return facts.trainability


def _deployed(facts: TargetFacts) -> bool:
    return facts.deployed


@dataclass(frozen=True)
class Figure:
    """One figure of the registry: what it draws, from which artefacts, and when.

    Attributes:
        name: the figure's name (rule ``plot_<name>``, report caption ``<name>.rst``).
        description: what it shows.
        draw: the :mod:`qgenflow.plots` function that draws it.
        file: its path under ``results/figures`` without the format suffix, with the
            rule's wildcards (``{target}`` or ``{sweep}``).
        scope: ``target`` (one per target that it applies to) or ``sweep`` (one per qubit sweep).
        target: takes the ``target.h5`` of the first seed.
        models: takes the ``model.h5`` of every seed of its models, labelled by model name.
        model_kinds: only models of these kinds; None for every model of the target.
        metrics: takes the ``metrics.h5`` of every seed of its models.
        references: its metrics include the reference rows (:data:`REFERENCES`).
        audit: takes the target's ``audit.h5`` (the advantage audit of its quantum models).
        tuning: takes the ``tuning.h5`` of every tuned model of the target (its trials and choice).
        trainability: takes the target's ``trainability.h5`` (gradient variance and shot noise of its QCBMs).
        deploy: takes the ``deploy.h5`` of every deployed model and device of the target.
        colours: the drawing function takes the models' colours.
        options: figure settings it takes (``max_bitstrings``, ``metrics``, ``families``, ``deploy_metric``).
        x: the x axis of a scaling figure (``n_params`` or ``n_qubits``).
        applies: whether a target gets the figure (``target`` scope only).
    """

    name: str
    description: str
    draw: str
    file: str
    scope: str = "target"
    target: bool = False
    models: bool = False
    model_kinds: tuple[str, ...] | None = None
    metrics: bool = False
    references: bool = False
    audit: bool = False
    tuning: bool = False
    trainability: bool = False
    deploy: bool = False
    colours: bool = True
    options: tuple[str, ...] = ()
    x: str | None = None
    applies: Callable[[TargetFacts], bool] = _always


def _target_figure(name: str, description: str, draw: str, **fields) -> Figure:
    return Figure(name, description, draw, file=f"{{target}}_{name}", **fields)


#: Every figure the workflow draws, in the order rules are defined and targets list them.
FIGURES: dict[str, Figure] = {
    figure.name: figure
    for figure in (
        _target_figure(
            "training", "training curves of every model, median and min-max band over seeds",
            "plot_training", models=True,
        ),
        _target_figure(
            "distribution", "target and model probabilities of the target's most probable bitstrings",
            "plot_distribution", target=True, models=True, options=("max_bitstrings",),
        ),
        _target_figure(
            "correlations",
            "connected ZZ correlation maps (on the lattice, else the matrix) of target and models",
            "plot_correlation_maps", target=True, models=True, colours=False,
        ),
        _target_figure(
            "metrics", "every metric of every model with error bars, references as lines",
            "plot_metrics", metrics=True, references=True, options=("metrics",),
        ),
        _target_figure(
            "corr_r", "C(r), the ZZ correlation at distance r, of a spin target and its models",
            "plot_correlation_function", target=True, models=True, applies=_spin_target,
        ),
        _target_figure(
            "porter_thomas", "histogram of 2^n p of an IQP or random-circuit target (and models) against exp(-x)",
            "plot_porter_thomas", target=True, models=True, applies=_exact_random_circuit_target,
        ),
        _target_figure(
            "qgan", "QGAN losses, discriminator accuracy and generator quality against the step",
            "plot_qgan_dynamics", models=True, model_kinds=("qgan",), applies=_learnt_by_a_qgan,
        ),
        _target_figure(
            "audit",
            "advantage audit: entanglement entropy and MPS bond dimension per cut of every quantum model "
            "(and the target state), against their maxima, and its anticoncentration",
            "plot_audit", audit=True, applies=_has_quantum_model,
        ),
        _target_figure(
            "tuning", "validation score against trial of every tuned model, its chosen trial marked",
            "plot_tuning", tuning=True, applies=_tuned,
        ),
        _target_figure(
            "trainability",
            "gradient variance over random initialisations against qubits and layers of every QCBM "
            "(barren plateaus, fitted decay rate), and the loss's shot noise against the shot budget",
            "plot_trainability", trainability=True, applies=_diagnosed,
        ),
        _target_figure(
            "deploy",
            "deployed circuit models: a metric of their device samples against the shot budget, one line per model "
            "and device, and the ideal (noiseless) device against the noisy ones at the largest budget",
            "plot_deploy", deploy=True, options=("deploy_metric",), applies=_deployed,
        ),
        _target_figure(
            "scaling_params", "metrics against the parameter count of every model on a target",
            "plot_scaling", metrics=True, options=("metrics", "families"), x="n_params", applies=_swept,
        ),
        Figure(
            "scaling_qubits", "metrics against the qubit count across a sweep of targets",
            "plot_scaling", file="scaling/qubits_{sweep}", scope="sweep", metrics=True,
            options=("metrics",), x="n_qubits",
        ),
    )
}


def target_figure_names(facts: TargetFacts) -> list[str]:
    """The names of the per-target figures that apply to a target, in registry order."""
    return [f.name for f in FIGURES.values() if f.scope == "target" and f.applies(facts)]
