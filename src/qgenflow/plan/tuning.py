"""Which models are tuned, with how many trials, and the checks a tuned study must pass.

Every model with a non-empty ``search`` gets the study's ``tuning.trials`` unless its
entry declares ``tuning.trials`` (an override, recorded and flagged in the verdict). With
the study's trials at 0 and no override, nothing here adds a job, an input or a key to
any job's parameters: the study plans exactly as it would without tuning.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any, Mapping

from ..errors import InvalidConfigError
from ..schema import with_defaults
from ..tune.keys import normalise_search
from .entries import target_has_probs

__all__ = ["check_tuning", "model_tuning", "tuning_settings"]

#: Search keys that a baseline sized by ``match_params`` cannot tune (the matching overrides them).
_MATCHED_SIZE_KEYS = {"rbm": ("n_hidden", "alpha"), "autoregressive": ("hidden",)}


def tuning_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The study's ``tuning`` section with the schema's defaults (trials 0: no tuning)."""
    return with_defaults("tuning", config.get("tuning") or {})


def _override(entry: Mapping[str, Any]) -> bool:
    return isinstance(entry.get("tuning"), Mapping) and "trials" in entry["tuning"]


def model_tuning(config: Mapping[str, Any], model: str) -> dict[str, Any] | None:
    """How model ``model`` is tuned, or None when tuning does not apply to it.

    Tuning applies when the study's ``tuning.trials`` is above 0 and the model has a
    search, or when the model's entry overrides the budget. Returns ``{"trials",
    "study_trials", "override", "search", "sampler", "seed", "metric",
    "steps_fraction"}``: ``trials`` is the
    model's budget (0 for an empty search), ``search`` the normalised search
    (:func:`qgenflow.tune.normalise_search`).
    """
    key = json.dumps([config.get("tuning") or {}, config["models"][model]], sort_keys=True)
    return copy.deepcopy(_model_tuning(model, key))


@functools.lru_cache(maxsize=4096)
def _model_tuning(model: str, key: str) -> dict[str, Any] | None:
    """:func:`model_tuning` of the study's ``tuning`` and the model's entry, given as JSON (the plan asks often)."""
    study_section, entry = json.loads(key)
    study = with_defaults("tuning", study_section)
    override = _override(entry)
    if int(study["trials"]) == 0 and not override:
        return None
    search = normalise_search(model, with_defaults("models", entry))
    if not search and not override:
        return None  # nothing to tune: trained as without tuning, so a new budget reruns nothing of it
    trials = int(entry["tuning"]["trials"]) if override else int(study["trials"])
    return {
        "trials": trials if search else 0,
        "study_trials": int(study["trials"]),
        "override": override,
        "search": search,
        "sampler": study["sampler"],
        "seed": int(study["seed"]),
        "metric": study["metric"],
        "steps_fraction": float(study["steps_fraction"]),
    }


def _check_model(name: str, entry: Mapping[str, Any], tuning: Mapping[str, Any]) -> None:
    """Refuse a tuned model whose search cannot change what it trains."""
    search = tuning["search"]
    if not search and tuning["override"] and int(entry["tuning"]["trials"]) > 0:
        raise InvalidConfigError(f"models.{name}.tuning.trials", "trials are given but the search is empty: nothing to tune")
    if not tuning["trials"]:
        return
    for key in _MATCHED_SIZE_KEYS.get(entry["kind"], ()) if entry.get("match_params") else ():
        if key in search:
            raise InvalidConfigError(
                f"models.{name}.search.{key}", f"the model is sized by match_params ({entry['match_params']}), which "
                f"overrides {key}; drop {key} from search or drop match_params",
            )
    if entry["kind"] == "rbm" and "alpha" in search and entry.get("n_hidden") is not None:
        raise InvalidConfigError(
            f"models.{name}.search.alpha", "alpha has no effect while n_hidden is set (alpha sizes the RBM only when "
            "n_hidden is null); search n_hidden instead, or set n_hidden: null",
        )
    if "optimizer.lr" in search and entry.get("optimizer", {}).get("name") == "lbfgs":
        raise InvalidConfigError(f"models.{name}.search.optimizer.lr", "lbfgs uses no learning rate; drop it from search")


def _check_validation_split(config: Mapping[str, Any], target: str) -> None:
    """Refuse tuning on a sample-only target that holds out no validation rows."""
    spec = with_defaults("targets", config["targets"][target])
    if target_has_probs(spec) or spec.get("validation_path"):
        return
    if float(spec.get("validation_fraction", 0)) == 0:
        raise InvalidConfigError(
            f"targets.{target}.validation_fraction", "is 0, so the target has no validation rows to tune its models "
            "on; set a validation_fraction above 0 (or a validation_path), or turn tuning off",
        )


def check_tuning(config: Mapping[str, Any]) -> None:
    """Every model's search names real settings of its kind, and a tuned study can run its trials.

    Raises:
        InvalidConfigError: naming ``models.<name>.search.<key>`` for a search key that is not a
            numeric or choice setting of the model's kind (checked whether or not the study tunes),
            a tuned search key the model ignores, an override with an empty search, or
            ``targets.<name>.validation_fraction`` for a tuned target without validation rows.
    """
    for name, entry in config.get("models", {}).items():
        complete = with_defaults("models", entry)
        normalise_search(name, complete)
        tuning = model_tuning(config, name)
        if tuning is not None:
            _check_model(name, complete, tuning)
    pairs = {(t, m) for study in config.get("studies", []) for t in study["targets"] for m in study["models"]}
    for target, model in sorted(pairs):
        if (model_tuning(config, model) or {}).get("trials", 0) > 0:
            _check_validation_split(config, target)
