"""Each target's evaluation settings: the study's ``evaluation``, overridden by the target's own.

A target entry may carry ``evaluation`` (``targets.NAME.evaluation``: ``sigmas``,
``n_samples``, ``n_bootstrap``), replacing the study's value of each key it names for
every job that scores models on that target: the evaluations of its models and
reference rows, its tuning trials and its advantage audit. The override is part of
those jobs' config slices only, not of the target's own slice (:func:`target_slice`),
so changing one target's bandwidths reruns that target's evaluations, trials, tables,
audit and figures, and no target generation and no untuned training.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..schema import with_defaults
from .entries import canonical

__all__ = ["audit_settings", "evaluation_settings", "target_slice"]

#: The target entry's key holding its evaluation override.
EVALUATION_KEY = "evaluation"


def evaluation_settings(config: Mapping[str, Any], target: str) -> dict[str, Any]:
    """The evaluation settings of ``target``: the study's ``evaluation``, each key the target's
    ``evaluation`` names replaced by the target's value, and the schema's default for the rest.

    The one place the override is merged: the evaluate, trial and audit jobs of the
    target receive this (trials without ``n_bootstrap``) and its metrics.h5 files record it.
    """
    override = config["targets"][target].get(EVALUATION_KEY) or {}
    return canonical(with_defaults("evaluation", {**(config.get("evaluation") or {}), **override}))


def target_slice(config: Mapping[str, Any], target: str) -> dict[str, Any]:
    """What a target job makes its target from (its target.h5 records it): the entry without ``evaluation``.

    How the target is scored is no part of what it is, so an evaluation override reruns
    no target generation, and so no training on it.
    """
    return canonical({k: v for k, v in config["targets"][target].items() if k != EVALUATION_KEY})


def audit_settings(config: Mapping[str, Any], target: str) -> dict[str, Any]:
    """The config slice of a target's audit job (its audit.h5 records it): the target's
    :func:`evaluation_settings` (the bandwidths and sample count of the IQP analogue's
    score) and the study's ``verdict``."""
    verdict = with_defaults("verdict", config.get("verdict") or {})
    return canonical({"evaluation": evaluation_settings(config, target), "verdict": verdict})
