"""Hyperparameter tuning: search spaces of model entries, and Optuna's samplers through ask and tell.

:mod:`.keys` checks and applies search spaces (light: the plan reads it when Snakemake
parses the workflow); :mod:`.sampler` asks Optuna for trial k's setting and tells it every
trial's validation score to select the best (Optuna: imported only by the tuning jobs).
Trials are independent, so each is a Snakemake job (:mod:`qgenflow.stages.tune`).
"""

from .keys import TUNING_KEYS, apply_setting, get_dotted, key_schema, normalise_search, set_dotted, trial_budget

__all__ = [
    "TUNING_KEYS", "apply_setting", "get_dotted", "key_schema", "normalise_search", "set_dotted", "trial_budget",
]
