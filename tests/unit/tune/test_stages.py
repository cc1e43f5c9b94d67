"""The tuning stages on a tiny study: trials, selection on the validation split, tuned final models, records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from snakemake.utils import validate

from qgenflow.io import VOLATILE_ATTRS, Artefact, read_artefact, write_artefact
from qgenflow.metrics import aggregate_metrics, decide, metrics_record
from qgenflow.plan import SCHEMA_PATH, model_params, selection_params, trial_params, tuned_models
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training
from qgenflow.stages.tune import run_selection, run_trial
from qgenflow.tune import apply_setting

TARGET = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}
STUDY = {
    "seeds": [0],
    "tuning": {"trials": 3},
    "evaluation": {"sigmas": [1.0, 2.0], "n_samples": 200, "n_bootstrap": 10},
    "targets": {"bas": TARGET},
    "models": {
        "qcbm": {
            "kind": "qcbm", "layers": 1, "optimizer": {"steps": 15}, "n_samples": 200,
            "search": {"optimizer.lr": {"low": 0.01, "high": 0.3, "log": True}, "layers": {"choices": [1, 2]}},
        },
        "rbm": {
            "kind": "rbm", "optimizer": {"steps": 15}, "n_samples": 200, "tuning": {"trials": 2},
            "search": {"optimizer.lr": {"low": 0.01, "high": 0.3, "log": True}},
        },
        "product": {"kind": "product", "n_samples": 200},
    },
    "studies": [{"targets": ["bas"], "models": ["qcbm", "rbm", "product"]}],
}
#: Provenance attributes write_artefact sets itself.
_OWN_ATTRS = {"qgenflow_version", "schema_version", "kind", "config_json", "seed", "inputs_sha256", *VOLATILE_ATTRS}


@pytest.fixture(scope="module")
def config() -> dict:
    config = copy.deepcopy(STUDY)
    validate(config, str(SCHEMA_PATH))
    return config


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    return run_target(TARGET, 0, tmp_path_factory.mktemp("target") / "target.h5")


def _poisoned(target: Path, split: str, out: Path) -> Path:
    """A copy of the target whose ``split`` holds only the all-ones string (far from bars and stripes)."""
    art = read_artefact(target, kind="target")
    datasets = dict(art.datasets)
    datasets[split] = np.ones_like(np.asarray(datasets[split]))
    attrs = {k: v for k, v in art.attrs.items() if k not in _OWN_ATTRS}
    return write_artefact(out, "target", datasets, config=art.config, seed=art.seed, attrs=attrs)


def _tune(config: dict, model: str, target: Path, folder: Path) -> tuple[Path, list[Path]]:
    """Every trial of ``model`` and its selection, as the workflow's jobs run them."""
    spec = trial_params(config, "bas", model)
    trials = [
        run_trial(spec, target, 0, k, folder / f"trial{k}/trial.h5", model_name=model, target_name="bas")
        for k in range(selection_params(config, "bas", model)["trials"])
    ]
    tuning = run_selection(selection_params(config, "bas", model), trials, folder / "tuning.h5", model_name=model,
                           target_name="bas")
    return tuning, trials


def _train(config: dict, model: str, target: Path, folder: Path, tuning: Path | None) -> Artefact:
    return read_artefact(run_training(model_params(config, model), target, 0, folder / "model.h5", tuning), kind="model")


@pytest.fixture(scope="module")
def study(config, target, tmp_path_factory) -> dict:
    """The tiny study tuned and trained once: {model: (tuning.h5, [trial.h5], model.h5 artefact)}."""
    root = tmp_path_factory.mktemp("study")
    out = {}
    for model in config["models"]:
        tuning, trials = _tune(config, model, target, root / model) if model in tuned_models(config, "bas") else (None, [])
        out[model] = (tuning, trials, _train(config, model, target, root / model, tuning))
    return out


def _scores(trials: list[Path]) -> list[float]:
    return [float(read_artefact(p, kind="trial")["score"]) for p in trials]


def test_the_chosen_trial_has_the_lowest_validation_score(study):
    """tuning.h5 chooses the argmin of the trials' scores and holds every trial's score and setting."""
    for model in ("qcbm", "rbm"):
        tuning_path, trials, _ = study[model]
        tuning = read_artefact(tuning_path, kind="tuning")
        scores = _scores(trials)
        assert len(set(scores)) == len(scores)  # distinct settings score differently
        assert int(tuning.attrs["best_trial"]) == int(np.argmin(scores))
        np.testing.assert_array_equal(tuning["scores"], scores)
        settings = [json.loads(read_artefact(p, kind="trial").attrs["setting"]) for p in trials]
        assert json.loads(tuning.attrs["tuned_params"]) == settings[int(np.argmin(scores))]
        np.testing.assert_array_equal(tuning["params/optimizer.lr"], [s["optimizer.lr"] for s in settings])


def test_selection_reads_the_validation_split_and_never_the_test_split(config, target, study, tmp_path):
    """A poisoned test split changes no trial score and no choice; a poisoned validation split changes the scores."""
    clean = _scores(study["qcbm"][1])
    no_test = _poisoned(target, "samples_test", tmp_path / "no_test.h5")
    tuning, trials = _tune(config, "qcbm", no_test, tmp_path / "no_test")
    assert _scores(trials) == clean
    assert read_artefact(tuning, kind="tuning").attrs["tuned_params"] == read_artefact(
        study["qcbm"][0], kind="tuning").attrs["tuned_params"]
    no_validation = _poisoned(target, "samples_validation", tmp_path / "no_validation.h5")
    spec = trial_params(config, "bas", "qcbm")
    poisoned = run_trial(spec, no_validation, 0, 0, tmp_path / "v0.h5", model_name="qcbm", target_name="bas")
    assert float(read_artefact(poisoned, kind="trial")["score"]) > 10 * clean[0]


def test_the_same_tuning_twice_gives_bit_identical_models(config, target, study, tmp_path):
    """Tuning and training again chooses the same setting and writes model.h5 with bit-identical datasets."""
    tuning, _ = _tune(config, "qcbm", target, tmp_path)
    again = _train(config, "qcbm", target, tmp_path, tuning)
    first = study["qcbm"][2]
    assert again.attrs["tuned_params"] == first.attrs["tuned_params"]
    assert sorted(again.datasets) == sorted(first.datasets)
    for name, data in first.datasets.items():
        assert np.array_equal(np.asarray(data), np.asarray(again[name])), name


def test_the_final_model_trains_with_the_chosen_setting(config, target, study, tmp_path):
    """model.h5 of a tuned model equals the untuned training of its entry with the chosen setting written in."""
    tuned = study["qcbm"][2]
    chosen = json.loads(tuned.attrs["tuned_params"])
    spec = apply_setting({k: v for k, v in model_params(config, "qcbm").items() if k != "tuning"}, chosen)
    plain = read_artefact(run_training(spec, target, 0, tmp_path / "plain.h5"), kind="model")
    for name in plain.datasets:
        assert np.array_equal(np.asarray(plain[name]), np.asarray(tuned[name])), name
    assert set(tuned.datasets) - set(plain.datasets) == {"tuning/scores", "tuning/params/optimizer.lr",
                                                         "tuning/params/layers"}


def _budget_violations(models: dict[str, Artefact]) -> list[str]:
    """Models with something to tune whose trial count differs from the study's without a recorded override."""
    return [
        name for name, art in models.items()
        if (art.config.get("tuning") or {}).get("search") and not art.attrs["tuning_override"]
        and art.attrs["tuning_trials"] != art.attrs["tuning_study_trials"]
    ]


def test_equal_budgets_unless_an_override_is_recorded(study):
    """model.h5 records every tuned model's trials: the study's 3, the override's 2 (marked); product, with
    nothing to tune, trains and records as in an untuned study."""
    models = {name: art for name, (_, _, art) in study.items()}
    assert {n: (a.attrs["tuning_trials"], a.attrs["tuning_override"]) for n, a in models.items() if n != "product"} == {
        "qcbm": (3, False), "rbm": (2, True)}
    assert not any(key.startswith("tun") for key in models["product"].attrs) and "tuning" not in models["product"].config
    assert _budget_violations(models) == []
    forged = dict(models)
    forged["rbm"] = Artefact(path=Path("forged"), kind="model", attrs={**models["rbm"].attrs, "tuning_override": False},
                             datasets=models["rbm"].datasets)
    assert _budget_violations(forged) == ["rbm"]  # the same counts without the recorded override: caught
    seconds = sum(float(read_artefact(p, kind="trial").attrs["seconds"]) for p in study["qcbm"][1])
    assert models["qcbm"].attrs["tuning_seconds"] == pytest.approx(seconds, rel=1e-12)


def test_the_verdict_and_the_table_say_how_models_were_tuned(config, target, study, tmp_path):
    """metrics.h5 carries the tuning record; the verdict flags the override; the table has trials and tuning_seconds."""
    records = []
    for model in ("qcbm", "rbm", "product"):
        path = tmp_path / f"{model}.h5"
        model_path = study[model][2].path
        records.append(metrics_record(read_artefact(
            run_evaluation(target, model_path, config["evaluation"], 0, path, model_name=model, target_name="bas"),
            kind="metrics")))
    lines = {line.split(" ")[0]: line for line in decide(records, "mmd2_samples", []).conditions}
    assert lines["qcbm"].endswith("seeds 0, tuned with 3 trials")
    assert lines["rbm"].endswith("seeds 0, tuned with 2 trials (override of the study's 3)")
    columns, rows = aggregate_metrics(records)
    assert columns[6:8] == ["trials", "tuning_seconds"]
    assert [(r["model"], r["trials"]) for r in rows] == [("qcbm", 3), ("rbm", 2), ("product", 0)]
    assert rows[0]["tuning_seconds"] == pytest.approx(study["qcbm"][2].attrs["tuning_seconds"])


def test_low_fidelity_trials_train_for_their_fraction_of_the_steps(config, target, tmp_path):
    """With tuning.steps_fraction, a trial trains for that fraction of its steps (recorded) and scores as usual;
    the fraction is part of the trials' slice, so changing it reruns them."""
    short = {**copy.deepcopy(config), "tuning": {"trials": 3, "steps_fraction": 0.2}}
    validate(short, str(SCHEMA_PATH))
    spec = trial_params(short, "bas", "rbm")
    assert spec != trial_params(config, "bas", "rbm") and spec["steps_fraction"] == 0.2
    trial = read_artefact(run_trial(spec, target, 0, 0, tmp_path / "trial.h5", model_name="rbm", target_name="bas"),
                          kind="trial")
    assert trial.attrs["trial_steps"] == 3  # 0.2 of the entry's 15 steps
    assert np.isfinite(float(trial["score"]))
    full = read_artefact(run_trial(trial_params(config, "bas", "rbm"), target, 0, 0, tmp_path / "full.h5",
                                   model_name="rbm", target_name="bas"), kind="trial")
    assert full.attrs["trial_steps"] == 15 and float(full["score"]) != float(trial["score"])
