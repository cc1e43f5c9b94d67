"""The plan of a tuned study: equal budgets, recorded overrides, refusals, and nothing new when tuning is off."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from qgenflow.errors import InvalidConfigError
from qgenflow.plan import (
    SCHEMA_PATH,
    artefact_identity,
    check_config,
    model_params,
    model_tuning,
    selection_params,
    target_figures,
    trial_params,
    tuned_models,
)

REPO = Path(__file__).resolve().parents[3]
STUDY = {
    "seeds": [3, 4],
    "targets": {
        "bas": {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 100},
        "data": {"kind": "file", "path": "x.csv", "n_bits": 3},
    },
    "models": {
        "qcbm": {"kind": "qcbm", "layers": 1},
        "rbm": {"kind": "rbm"},
        "made": {"kind": "autoregressive", "hidden": 8},
        "product": {"kind": "product"},
    },
    "studies": [{"targets": ["bas"], "models": ["qcbm", "rbm", "made", "product"]}],
}


def _study(trials: int | None = None, **models) -> dict:
    """The study above (defaults filled in as the workflow does), with study-level trials and model changes."""
    config = copy.deepcopy(STUDY)
    if trials is not None:
        config["tuning"] = {"trials": trials}
    for name, changes in models.items():
        config["models"][name].update(changes)
    validate(config, str(SCHEMA_PATH))
    return config


def _budgets(config: dict) -> dict[str, tuple[int, bool]]:
    """(trials, override) of every model of the study with something to tune."""
    plans = {m: model_tuning(config, m) for m in config["models"]}
    return {m: (p["trials"], p["override"]) for m, p in plans.items() if p is not None and p["search"]}


def _equal_budgets(config: dict) -> bool:
    """Every model with a search got the study's trials, unless its override is recorded."""
    study = config["tuning"]["trials"]
    return all(trials == study or override for trials, override in _budgets(config).values())


def test_without_trials_nothing_changes():
    """Trials 0: no model is tuned, no slice carries search or tuning, no tuning figure, no trial job."""
    config = _study()
    for name in config["models"]:
        assert model_tuning(config, name) is None
        spec = model_params(config, name)
        assert "search" not in spec and "tuning" not in spec
        with pytest.raises(InvalidConfigError):
            trial_params(config, "bas", name)
    assert tuned_models(config, "bas") == [] and "tuning" not in target_figures(config, "bas")
    identity = artefact_identity(config, "results/models/bas/rbm/seed3/model.h5")
    assert identity["made_from"] == ["results/targets/bas/seed3/target.h5"]


def test_every_model_with_a_search_gets_the_studys_budget():
    """Trials 3: each model with a search runs 3 trials; product (empty search) is trained as untuned."""
    config = _study(3)
    assert _budgets(config) == {"qcbm": (3, False), "rbm": (3, False), "made": (3, False)}
    assert model_tuning(config, "product") is None and "tuning" not in model_params(config, "product")
    assert tuned_models(config, "bas") == ["qcbm", "rbm", "made"] and "tuning" in target_figures(config, "bas")
    assert _equal_budgets(config)
    spec = model_params(config, "made")
    assert spec["tuning"]["trials"] == 3 and spec["tuning"]["search"]["hidden"]["type"] == "int"
    assert "search" not in trial_params(config, "bas", "made")["model"]
    assert "trials" not in trial_params(config, "bas", "made")  # a larger budget reruns no trial
    assert selection_params(config, "bas", "made")["trials"] == 3


def test_an_override_is_recorded_and_only_a_recorded_one_may_differ():
    """A model's own tuning.trials is its budget, marked override; a differing budget without the mark fails the check."""
    config = _study(3, made={"tuning": {"trials": 1}})
    assert _budgets(config)["made"] == (1, True) and _equal_budgets(config)
    assert model_params(config, "made")["tuning"]["override"] is True
    only = _study(0, qcbm={"tuning": {"trials": 2}})
    assert tuned_models(only, "bas") == ["qcbm"] and model_tuning(only, "rbm") is None


def test_trial_and_selection_artefacts_have_identities():
    """trial.h5 and tuning.h5 are checked like every artefact: kind, first seed, slice, names, sources."""
    config = _study(2)
    trial = artefact_identity(config, "results/tuning/bas/made/trial1/trial.h5")
    assert trial["kind"] == "trial" and trial["seed"] == 3 and trial["attrs"]["trial"] == 1
    assert trial["config"] == trial_params(config, "bas", "made")
    assert trial["made_from"] == ["results/targets/bas/seed3/target.h5"]
    tuning = artefact_identity(config, "results/tuning/bas/made/tuning.h5")
    assert tuning["made_from"] == [f"results/tuning/bas/made/trial{k}/trial.h5" for k in range(2)]
    model = artefact_identity(config, "results/models/bas/made/seed4/model.h5")
    assert model["made_from"] == ["results/targets/bas/seed4/target.h5", "results/tuning/bas/made/tuning.h5"]


@pytest.mark.parametrize(
    "trials, changes, key",
    [
        (0, {"made": {"search": {"optimizer.lrr": {"low": 0.01, "high": 0.1}}}}, "models.made.search.optimizer.lrr"),
        (2, {"product": {"tuning": {"trials": 2}}}, "models.product.tuning.trials"),
        (2, {"rbm": {"match_params": "qcbm"}}, "models.rbm.search.alpha"),
        (2, {"rbm": {"n_hidden": 4}}, "models.rbm.search.alpha"),
        (2, {"qcbm": {"optimizer": {"name": "lbfgs"}}}, "models.qcbm.search.optimizer.lr"),
    ],
)
def test_the_plan_refuses_searches_that_cannot_work(trials, changes, key):
    """An unknown key (even untuned), trials with nothing to tune, and a search the model ignores are refused by name."""
    with pytest.raises(InvalidConfigError) as err:
        check_config(_study(trials, **changes))
    assert err.value.key == key


def test_a_tuned_sample_target_needs_validation_rows():
    """A data-file target with validation_fraction 0 cannot tune its models."""
    config = copy.deepcopy(STUDY)
    config["targets"]["data"]["validation_fraction"] = 0.0
    config["studies"] = [{"targets": ["data"], "models": ["made"]}]
    config["tuning"] = {"trials": 2}
    validate(config, str(SCHEMA_PATH))
    with pytest.raises(InvalidConfigError) as err:
        check_config(config, {"data": 3})
    assert err.value.key == "targets.data.validation_fraction"


def test_the_default_study_tunes_every_model_equally_when_asked():
    """config/config.yaml with tuning.trials 2: every model but product gets 2 trials, none overridden."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["tuning"] = {"trials": 2}
    validate(config, str(SCHEMA_PATH))
    check_config(config)
    budgets = _budgets(config)
    assert set(budgets) == set(config["models"]) - {"product"}
    assert set(budgets.values()) == {(2, False)} and _equal_budgets(config)
