"""Optuna through ask and tell: trial k's setting is fixed by seed and k; the lowest validation score wins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import qmc

from qgenflow.errors import ArtefactError
from qgenflow.tune.sampler import select_trial, trial_setting

REL = 1e-12
SEARCH = {
    "optimizer.lr": {"low": 0.005, "high": 0.2, "log": True, "type": "float"},
    "layers": {"low": 1, "high": 8, "log": False, "type": "int"},
    "optimizer.name": {"choices": ["adam", "sgd"]},
}
LR_ONLY = {"optimizer.lr": {"low": 0.005, "high": 0.2, "log": True, "type": "float"}}


@pytest.mark.parametrize("sampler", ["qmc", "random"])
def test_trial_settings_are_deterministic_distinct_and_in_range(sampler):
    """Trial k's setting is the same on every call, differs between trials and lies in the search."""
    first = [trial_setting(SEARCH, sampler, 3, k) for k in range(6)]
    again = [trial_setting(SEARCH, sampler, 3, k) for k in range(6)]
    assert first == again
    assert len({s["optimizer.lr"] for s in first}) == 6
    for setting in first:
        assert 0.005 <= setting["optimizer.lr"] <= 0.2
        assert isinstance(setting["layers"], int) and 1 <= setting["layers"] <= 8
        assert setting["optimizer.name"] in ("adam", "sgd")
    assert [trial_setting(SEARCH, sampler, 4, k) for k in range(6)] != first  # the seed matters


def test_qmc_trials_after_the_first_are_scipy_scrambled_sobol_points():
    """QMC trial k >= 1 is point k - 1 of scipy's scrambled Sobol' sequence of the seed, mapped to the log range."""
    seed, low, high = 7, 0.005, 0.2
    for k in range(1, 5):
        engine = qmc.Sobol(1, scramble=True, seed=seed)
        if k > 1:
            engine.fast_forward(k - 1)
        u = float(engine.random(1)[0, 0])
        expected = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        assert trial_setting(LR_ONLY, "qmc", seed, k)["optimizer.lr"] == pytest.approx(expected, rel=REL)


def test_selection_picks_the_lowest_score_and_the_earliest_on_ties():
    """Told every trial's score, the study's best is the argmin (first of equals); a non-finite score is a failed trial."""
    settings = [trial_setting(SEARCH, "qmc", 0, k) for k in range(5)]
    for scores in ([0.5, 0.2, 0.3, 0.2, 0.9], [0.4, 0.3, 0.2, 0.1, 0.05], [math.nan, 0.7, math.inf, 0.6, 0.8]):
        finite = np.where(np.isfinite(scores), scores, np.inf)
        assert select_trial(SEARCH, "qmc", 0, settings, scores) == int(np.argmin(finite))


def test_selection_refuses_settings_the_sampler_did_not_give():
    """A trial file of another search or seed is refused; so is a search whose every trial failed."""
    settings = [trial_setting(SEARCH, "random", 0, k) for k in range(3)]
    with pytest.raises(ArtefactError, match="trial 0 recorded the setting"):
        select_trial(SEARCH, "random", 1, settings, [0.1, 0.2, 0.3])
    with pytest.raises(ArtefactError, match="all 3 trials failed"):
        select_trial(SEARCH, "random", 0, settings, [math.nan] * 3)
