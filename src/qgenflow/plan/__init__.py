"""The plan: everything the workflow decides before any job runs.

Validation (:mod:`.validate`), per-entry facts (:mod:`.entries`), job resources and
devices (:mod:`.resources`), studies, sweeps, colours and figures (:mod:`.studies`),
which models are tuned and how (:mod:`.tuning`), each target's evaluation settings
(:mod:`.evaluation`), and what each artefact must be (:mod:`.artefacts`). The Snakefile
and the command line read this package only; it imports nothing heavy (no JAX, PennyLane or NetKet).
"""

from __future__ import annotations

from ..schema import SCHEMA_PATH
from ..targets.samples_file import data_files
from .artefacts import (
    artefact_identity,
    check_results_owner,
    deploy_params,
    model_params,
    selection_params,
    study_name,
    training_slice,
    trainability_params,
    trial_params,
)
from .entries import canonical, target_has_distribution, target_has_probs, target_qubits, uses_estimator
from .evaluation import audit_settings, evaluation_settings, target_slice
from .resources import SIMULATOR_MODULES, check_compute, job_gpus, job_resources, model_for_job
from .studies import (
    audited_targets,
    deploy_devices,
    deploy_models,
    deploy_targets,
    quantum_models_for_target,
    MODEL_PALETTE,
    model_colours,
    models_for_target,
    parameter_sweeps,
    qubit_sweeps,
    study_pairs,
    target_figures,
    trainability_models,
    trainability_targets,
    tuned_models,
)
from .tuning import check_tuning, model_tuning, tuning_settings
from .validate import MAX_MAGNITUDE, check_config, check_schema, check_values, file_widths

__all__ = [
    "MAX_MAGNITUDE",
    "MODEL_PALETTE",
    "SCHEMA_PATH",
    "SIMULATOR_MODULES",
    "artefact_identity",
    "audit_settings",
    "canonical",
    "check_compute",
    "check_config",
    "check_results_owner",
    "check_schema",
    "check_tuning",
    "check_values",
    "data_files",
    "deploy_devices",
    "deploy_models",
    "deploy_params",
    "deploy_targets",
    "evaluation_settings",
    "file_widths",
    "job_gpus",
    "job_resources",
    "model_colours",
    "model_for_job",
    "model_params",
    "model_tuning",
    "models_for_target",
    "audited_targets",
    "quantum_models_for_target",
    "parameter_sweeps",
    "qubit_sweeps",
    "selection_params",
    "study_name",
    "study_pairs",
    "target_figures",
    "target_has_distribution",
    "target_has_probs",
    "target_qubits",
    "target_slice",
    "training_slice",
    "trainability_models",
    "trainability_params",
    "trainability_targets",
    "trial_params",
    "tuned_models",
    "tuning_settings",
    "uses_estimator",
]
