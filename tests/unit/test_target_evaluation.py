"""Per-target evaluation settings (targets.NAME.evaluation): which jobs they reach, what reruns, what metrics.h5 records."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from snakemake.utils import validate

from qgenflow.errors import ArtefactError, InvalidConfigError
from qgenflow.io import check_inputs, read_artefact
from qgenflow.plan import (
    SCHEMA_PATH,
    artefact_identity,
    audit_settings,
    check_schema,
    evaluation_settings,
    model_params,
    qubit_sweeps,
    selection_params,
    target_slice,
    trainability_params,
    trial_params,
)
from qgenflow.schema import load_schema
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.target import run_target

EXACT_ATOL = 1e-12
STUDY_SIGMAS = [0.5, 1.0]
WIDE_SIGMAS = [3.0, 7.0]
STUDY = {
    "seeds": [0, 1],
    "tuning": {"trials": 2},
    "evaluation": {"sigmas": STUDY_SIGMAS, "n_samples": 300, "n_bootstrap": 20},
    "trainability": {"enabled": True},
    "targets": {
        "narrow": {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200},
        "wide": {"kind": "bars_and_stripes", "rows": 2, "cols": 3, "n_samples": 200,
                 "evaluation": {"sigmas": WIDE_SIGMAS}},
    },
    "models": {
        "qcbm": {"kind": "qcbm", "layers": 1},
        "rbm": {"kind": "rbm", "search": {"optimizer.lr": {"low": 0.01, "high": 0.3, "log": True}}},
        "product": {"kind": "product"},
    },
    "studies": [{"targets": ["narrow", "wide"], "models": ["qcbm", "rbm", "product"]}],
}
MODELS = ("qcbm", "rbm", "product")
TARGETS = ("narrow", "wide")


def _config(**wide_evaluation) -> dict:
    """The study above (defaults filled in as the workflow does), with the wide target's override updated."""
    config = copy.deepcopy(STUDY)
    config["targets"]["wide"]["evaluation"].update(wide_evaluation)
    validate(config, str(SCHEMA_PATH))
    return config


def _metrics_path(target: str, model: str, seed: int = 0) -> str:
    return f"results/eval/{target}/{model}/seed{seed}/metrics.h5"


def _job_slices(config: dict) -> dict[tuple[str, ...], object]:
    """Every config slice a job of the study receives or checks, keyed by (job, target, model)."""
    slices: dict[tuple[str, ...], object] = {}
    for target in TARGETS:
        slices[("target", target)] = target_slice(config, target)
        slices[("target_identity", target)] = artefact_identity(config, f"results/targets/{target}/seed0/target.h5")
        slices[("audit", target)] = audit_settings(config, target)
        slices[("trainability", target)] = trainability_params(config, target)
        slices[("evaluate", target, "_data")] = artefact_identity(config, _metrics_path(target, "_data"))
        slices[("evaluate", target, "_uniform")] = artefact_identity(config, _metrics_path(target, "_uniform"))
        for model in MODELS:
            slices[("evaluate", target, model)] = artefact_identity(config, _metrics_path(target, model))
            slices[("model", target, model)] = artefact_identity(
                config, f"results/models/{target}/{model}/seed1/model.h5")
        slices[("trial", target, "rbm")] = trial_params(config, target, "rbm")
        slices[("selection", target, "rbm")] = selection_params(config, target, "rbm")
    for model in MODELS:
        slices[("train", model)] = model_params(config, model)
    return slices


def _changed(before: dict, after: dict) -> set[tuple[str, ...]]:
    return {key for key in before if before[key] != after[key]}


def test_the_override_reaches_exactly_its_own_targets_jobs():
    """wide's sigmas reach wide's evaluations (models and references), trials and audit; narrow keeps the study's."""
    config = _config()
    study = evaluation_settings(config, "narrow")
    assert study == {"sigmas": STUDY_SIGMAS, "n_samples": 300, "n_bootstrap": 20}
    wide = evaluation_settings(config, "wide")
    assert wide == {"sigmas": WIDE_SIGMAS, "n_samples": 300, "n_bootstrap": 20}  # the rest from the study
    for target, settings in (("narrow", study), ("wide", wide)):
        for model in (*MODELS, "_data", "_uniform"):
            assert artefact_identity(config, _metrics_path(target, model))["config"] == settings
        assert trial_params(config, target, "rbm")["evaluation"] == {"sigmas": settings["sigmas"], "n_samples": 300}
        assert artefact_identity(config, f"results/tuning/{target}/rbm/trial1/trial.h5")["config"] == trial_params(
            config, target, "rbm")
        assert selection_params(config, target, "rbm")["evaluation"]["sigmas"] == settings["sigmas"]
        assert audit_settings(config, target)["evaluation"] == settings
    assert "evaluation" not in target_slice(config, "wide")
    assert artefact_identity(config, "results/targets/wide/seed1/target.h5")["config"] == target_slice(config, "wide")


def test_without_overrides_every_target_gets_the_studys_settings():
    """No target override: each target's settings are the study's section, defaults filled as the workflow fills them."""
    config = copy.deepcopy(STUDY)
    del config["targets"]["wide"]["evaluation"]
    del config["evaluation"]
    validate(config, str(SCHEMA_PATH))
    for target in TARGETS:
        assert evaluation_settings(config, target) == config["evaluation"]
        assert target_slice(config, target) == config["targets"][target]
    assert config["evaluation"]["sigmas"] == load_schema()["properties"]["evaluation"]["properties"]["sigmas"]["default"]


def test_changing_one_targets_sigmas_reruns_only_its_scoring_jobs():
    """New bandwidths for wide change the slices of wide's evaluations, trials, selection and audit, and nothing else."""
    before = _job_slices(_config())
    after = _job_slices(_config(sigmas=[2.0, 5.0]))
    expected = {("evaluate", "wide", m) for m in (*MODELS, "_data", "_uniform")}
    expected |= {("trial", "wide", "rbm"), ("selection", "wide", "rbm"), ("audit", "wide")}
    assert _changed(before, after) == expected


def test_bootstrap_and_sample_overrides_rerun_what_uses_them():
    """n_bootstrap reruns wide's evaluations and audit, not its trials (scored without errors); n_samples reruns all."""
    before = _job_slices(_config())
    evaluations = {("evaluate", "wide", m) for m in (*MODELS, "_data", "_uniform")}
    assert _changed(before, _job_slices(_config(n_bootstrap=50))) == evaluations | {("audit", "wide")}
    assert _changed(before, _job_slices(_config(n_samples=100))) == evaluations | {
        ("trial", "wide", "rbm"), ("selection", "wide", "rbm"), ("audit", "wide")}


def test_an_override_equal_to_the_study_changes_nothing():
    """Adding an override that repeats the study's values changes no job's slice (no rerun)."""
    plain = copy.deepcopy(STUDY)
    plain["targets"]["wide"]["evaluation"] = {}
    validate(plain, str(SCHEMA_PATH))
    same = _config(sigmas=STUDY_SIGMAS, n_samples=300)
    assert _changed(_job_slices(plain), _job_slices(same)) == set()


def test_the_override_accepts_the_studys_keys_with_its_bounds_and_no_defaults():
    """Each override key has the study key's type and bounds, and no default (an absent key keeps the study's)."""
    schema = load_schema()
    study = schema["properties"]["evaluation"]["properties"]
    override = schema["$defs"]["target"]["properties"]["evaluation"]["properties"]
    assert set(override) == set(study)
    for key, spec in override.items():
        assert "default" not in spec
        assert {k: v for k, v in spec.items() if k != "description"} == {
            k: v for k, v in study[key].items() if k not in ("description", "default")}


@pytest.mark.parametrize(
    ("evaluation", "key"),
    [({"sigmas": []}, "targets.wide.evaluation.sigmas"), ({"sigmas": [1.0, 0.0]}, "targets.wide.evaluation.sigmas[1]"),
     ({"n_samples": 5}, "targets.wide.evaluation.n_samples"), ({"sigma": [1.0]}, "targets.wide.evaluation")],
)
def test_a_bad_override_is_refused_naming_its_key(evaluation, key):
    """An empty or non-positive bandwidth list, too few samples or an unknown key fails at validation, naming the key."""
    config = copy.deepcopy(STUDY)
    config["targets"]["wide"]["evaluation"] = evaluation
    with pytest.raises(InvalidConfigError) as err:
        check_schema(config)
    assert err.value.key == key


def test_targets_differing_in_size_and_bandwidths_form_one_qubit_sweep():
    """Bandwidths grown with the width keep targets of one kind in one scaling sweep."""
    assert qubit_sweeps(_config()) == {"bars_and_stripes": {"targets": ["narrow", "wide"], "models": list(MODELS)}}


def _hamming_kernel(n: int, sigma: float) -> np.ndarray:
    """exp(-H / (2 sigma^2)) over all pairs of n-bit strings, from their bits (independent of qgenflow.kernels)."""
    bits = np.array(list(itertools.product((0, 1), repeat=n)))
    hamming = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    return np.exp(-hamming / (2.0 * sigma**2))


def test_metrics_h5_records_the_targets_bandwidths(tmp_path, monkeypatch):
    """Evaluated with wide's settings, metrics.h5 holds MMD at wide's bandwidths only, records them, and passes the
    input check of the next job; after an override change the same file is refused as stale."""
    monkeypatch.chdir(tmp_path)
    config = _config()
    target_path = "results/targets/wide/seed0/target.h5"
    run_target(target_slice(config, "wide"), 0, target_path)
    out = _metrics_path("wide", "_uniform")
    run_evaluation(target_path, "uniform", evaluation_settings(config, "wide"), 0, out, model_name="uniform",
                   target_name="wide")
    metrics = read_artefact(out, kind="metrics")
    assert metrics.config == evaluation_settings(config, "wide")
    per_sigma = {name for name in metrics.datasets if "_sigma" in name}
    assert per_sigma == {f"mmd2_{source}_sigma{s:g}" for source in ("exact", "samples") for s in WIDE_SIGMAS}
    p = np.asarray(read_artefact(target_path, kind="target")["probs"])
    d = p - np.full(p.size, 1.0 / p.size)
    for sigma in WIDE_SIGMAS:
        want = d @ _hamming_kernel(6, sigma) @ d
        assert float(metrics[f"mmd2_exact_sigma{sigma:g}"]) == pytest.approx(want, abs=EXACT_ATOL)
    check_inputs({path: artefact_identity(config, path) for path in (target_path, out)})
    with pytest.raises(ArtefactError, match="sigmas"):
        check_inputs({out: artefact_identity(_config(sigmas=[2.0]), out)})
