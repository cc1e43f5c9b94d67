"""Optuna's samplers through ask and tell: trial k's setting, and the best of a finished search.

Trial k's setting comes from a fresh in-memory study with the seeded sampler, asked
k + 1 times over the search's distributions (nothing told): the k-th setting depends on
the seed and k only, never on other trials' results, so every trial is an independent
job and any trial can be recomputed alone. Selection asks the same N settings again
(checking each against what its trial recorded), tells each its validation score, and
takes Optuna's best trial: the lowest score, the earliest trial on ties (told in order,
Optuna replaces its best only on a strictly lower value).

QMC: Optuna draws a study's first trial with the sampler's independent (random, seeded)
sampler and takes the search space from it; trial k >= 1 is point k - 1 of scipy's
scrambled Sobol' sequence of the seed. The settings depend on Optuna's implementation,
hence its pinned major version, its version in every artefact's provenance, and the
selection's check of every recorded setting.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from ..errors import ArtefactError, InvalidConfigError

__all__ = ["SAMPLERS", "distributions", "select_trial", "trial_setting"]

#: The samplers a study may name: both draw trial k without looking at other trials' results.
SAMPLERS = ("qmc", "random")


def distributions(search: Mapping[str, Mapping[str, Any]]) -> dict[str, BaseDistribution]:
    """Optuna distributions of a normalised search (:func:`qgenflow.tune.keys.normalise_search`)."""
    out: dict[str, BaseDistribution] = {}
    for key in sorted(search):
        spec = search[key]
        if "choices" in spec:
            out[key] = CategoricalDistribution(list(spec["choices"]))
        elif spec["type"] == "int":
            out[key] = IntDistribution(int(spec["low"]), int(spec["high"]), log=bool(spec["log"]))
        else:
            out[key] = FloatDistribution(float(spec["low"]), float(spec["high"]), log=bool(spec["log"]))
    return out


def _study(sampler: str, seed: int) -> optuna.Study:
    """A fresh in-memory study, minimising, with the named sampler seeded by ``seed``."""
    if sampler == "qmc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            chosen = optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=int(seed), warn_independent_sampling=False
            )
    elif sampler == "random":
        chosen = optuna.samplers.RandomSampler(seed=int(seed))
    else:
        raise InvalidConfigError("tuning.sampler", f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")
    return optuna.create_study(direction="minimize", sampler=chosen)


def _ask(study: optuna.Study, space: Mapping[str, BaseDistribution], n: int) -> list[optuna.Trial]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol' balance warnings for single points
        return [study.ask(dict(space)) for _ in range(n)]


def trial_setting(search: Mapping[str, Mapping[str, Any]], sampler: str, seed: int, trial: int) -> dict[str, Any]:
    """The setting ``{dotted key: value}`` of trial ``trial`` (from 0) of a search: ask trial + 1 times, take the last."""
    if trial < 0:
        raise ValueError(f"trial numbers start at 0, got {trial}")
    if not search:
        raise InvalidConfigError("search", "the search is empty: there is nothing to tune")
    asked = _ask(_study(sampler, seed), distributions(search), trial + 1)
    return dict(asked[-1].params)


def select_trial(
    search: Mapping[str, Mapping[str, Any]],
    sampler: str,
    seed: int,
    settings: Sequence[Mapping[str, Any]],
    scores: Sequence[float],
) -> int:
    """The number of the best trial: every trial's score told to a study of the same sampler, lowest wins.

    A score that is not finite (a diverged training) marks its trial failed.

    Raises:
        ArtefactError: a recorded setting is not the one the sampler gives that trial (another
            search, seed or Optuna version wrote it), or every trial failed.
    """
    if len(settings) != len(scores):
        raise ValueError(f"{len(settings)} settings for {len(scores)} scores")
    study = _study(sampler, seed)
    asked = _ask(study, distributions(search), len(settings))
    for k, (trial, setting, score) in enumerate(zip(asked, settings, scores)):
        if dict(trial.params) != dict(setting):
            raise ArtefactError(
                f"trial {k} recorded the setting {dict(setting)}, but the {sampler} sampler with seed {seed} gives "
                f"{dict(trial.params)}: it was made by another search or Optuna version; delete it and rerun"
            )
        if math.isfinite(float(score)):
            study.tell(trial, float(score))
        else:
            study.tell(trial, state=TrialState.FAIL)
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        raise ArtefactError(f"all {len(settings)} trials failed (no finite validation score): nothing to select")
    return int(study.best_trial.number)
