"""evaluate() on toy artefacts and the metrics.h5 round trip of run_evaluation()."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qgenflow.bits import all_bitstrings
from qgenflow.errors import ArtefactError, InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.metrics import evaluate, kl_smoothed_samples, mmd2_samples
from qgenflow.metrics.evaluate import SELECTION_METRIC, VALIDATION_SPLIT, selection_score
from qgenflow.stages.evaluate import run_evaluation

EXACT_ATOL = 1e-12
SIGMAS = [0.5, 1, 2]
SPEC = {"sigmas": SIGMAS, "n_samples": 400, "n_bootstrap": 50}
EXACT_NAMES = {
    "mmd2_exact",
    "mmd2_exact_sigma0.5",
    "mmd2_exact_sigma1",
    "mmd2_exact_sigma2",
    "kl_exact",
    "tv_exact",
    "fidelity_exact",
}
SAMPLE_NAMES = {
    "mmd2_samples",
    "mmd2_samples_sigma0.5",
    "mmd2_samples_sigma1",
    "mmd2_samples_sigma2",
    "tv_samples",
}
TARGET_PROB_NAMES = {"valid_rate", "kl_samples", "xeb", "coverage", "unseen_valid_rate"}


@pytest.fixture
def pair(rng, draw, write_target, write_model):
    """Paths of a 5-qubit target (with zeros in its probs) and an imperfect model, both exact."""
    p = rng.dirichlet(np.ones(32))
    p[::4] = 0.0
    p /= p.sum()
    q = 0.8 * p + 0.2 * rng.dirichlet(np.ones(32))
    return (
        write_target(draw(p, 500, rng), p, test=draw(p, 450, rng), validation=draw(p, 350, rng)),
        write_model(draw(q, 600, rng), q),
    )


def test_self_evaluation_is_perfect(rng, draw, seed, write_target, write_model):
    """A target evaluated against itself has zero KL, MMD and TV and unit fidelity."""
    p = rng.dirichlet(np.ones(16))
    samples = draw(p, 300, rng)
    target = read_artefact(write_target(samples, p))
    model = read_artefact(write_model(samples, p))
    metrics = evaluate(target, model, SPEC, seed)
    assert set(metrics) == EXACT_NAMES | SAMPLE_NAMES | TARGET_PROB_NAMES
    for name in EXACT_NAMES - {"fidelity_exact"}:
        assert metrics[name]["value"] == pytest.approx(0.0, abs=EXACT_ATOL), name
        assert metrics[name]["source"] == "exact" and math.isnan(metrics[name]["stderr"])
    assert metrics["fidelity_exact"]["value"] == pytest.approx(1.0, abs=EXACT_ATOL)
    assert metrics["tv_samples"]["value"] == pytest.approx(0.0, abs=EXACT_ATOL)
    assert metrics["valid_rate"]["value"] == 1.0


def test_sample_metrics_match_direct_functions(pair, seed):
    """Sample metrics equal the stand-alone estimators on the first n_samples rows of model and test split."""
    target, model = read_artefact(pair[0]), read_artefact(pair[1])
    metrics = evaluate(target, model, SPEC, seed)
    x, y = model["samples"][:400], target["samples_test"][:400]
    assert metrics["mmd2_samples"]["value"] == pytest.approx(mmd2_samples(x, y, SIGMAS), abs=EXACT_ATOL)
    assert metrics["mmd2_samples_sigma1"]["value"] == pytest.approx(mmd2_samples(x, y, [1]), abs=EXACT_ATOL)
    assert metrics["kl_samples"]["value"] == pytest.approx(
        kl_smoothed_samples(target["probs"], x, 0.5), abs=EXACT_ATOL
    )
    for name in SAMPLE_NAMES | TARGET_PROB_NAMES:
        assert metrics[name]["source"] == "samples"
        assert metrics[name]["stderr"] > 0, name


def test_valid_rate_on_toy(seed, write_target, write_model):
    """valid_rate counts model samples on the target's support, with a binomial error."""
    n = 3
    strings = all_bitstrings(n)
    even = strings.sum(axis=1) % 2 == 0
    p = np.where(even, 1.0 / even.sum(), 0.0)
    valid, invalid = strings[even], strings[~even]
    model_samples = np.concatenate([np.repeat(valid, 9, axis=0)[:30], np.repeat(invalid, 3, axis=0)[:10]])
    target = read_artefact(write_target(np.repeat(valid, 5, axis=0), p))
    model = read_artefact(write_model(model_samples))
    metrics = evaluate(target, model, SPEC, seed)
    assert metrics["valid_rate"]["value"] == pytest.approx(0.75)
    assert metrics["valid_rate"]["stderr"] == pytest.approx(math.sqrt(0.75 * 0.25 / 40))
    assert not EXACT_NAMES & set(metrics)  # the model has no probs


def test_no_target_probs_gives_sample_metrics_only(rng, seed, write_target, write_model):
    """Without probabilities only the two-sample metrics are produced."""
    target = read_artefact(write_target((rng.random((50, 30)) < 0.5).astype(np.uint8)))
    model = read_artefact(write_model((rng.random((60, 30)) < 0.4).astype(np.uint8)))
    assert set(evaluate(target, model, SPEC, seed)) == SAMPLE_NAMES


def test_qubit_mismatch_names_both_files(rng, seed, write_target, write_model):
    """Artefacts of different widths raise an ArtefactError naming both paths."""
    target_path = write_target(rng.integers(0, 2, (10, 4), dtype=np.uint8))
    model_path = write_model(rng.integers(0, 2, (10, 5), dtype=np.uint8))
    with pytest.raises(ArtefactError) as info:
        evaluate(read_artefact(target_path), read_artefact(model_path), SPEC, seed)
    assert str(target_path) in str(info.value) and str(model_path) in str(info.value)


def test_bad_spec_is_rejected(pair, seed):
    """No bandwidths or a single bootstrap replicate are config errors (absent keys take the schema's defaults)."""
    target, model = read_artefact(pair[0]), read_artefact(pair[1])
    with pytest.raises(InvalidConfigError, match="sigmas"):
        evaluate(target, model, {"n_samples": 10, "sigmas": []}, seed)
    with pytest.raises(InvalidConfigError, match="n_bootstrap"):
        evaluate(target, model, {**SPEC, "n_bootstrap": 1}, seed)


def test_evaluate_is_deterministic_in_seed(pair, seed):
    """The same seed reproduces every number; another seed changes only bootstrap errors."""
    target, model = read_artefact(pair[0]), read_artefact(pair[1])
    one, two = evaluate(target, model, SPEC, seed), evaluate(target, model, SPEC, seed)
    other = evaluate(target, model, SPEC, seed + 1)
    for name in one:
        assert one[name]["value"] == two[name]["value"], name
        assert np.array_equal(one[name]["stderr"], two[name]["stderr"], equal_nan=True), name
    assert all(one[k]["value"] == other[k]["value"] for k in one)
    assert one["mmd2_samples"]["stderr"] != other["mmd2_samples"]["stderr"]


def test_selection_score_is_the_validation_mmd(pair, seed, rng, draw, write_target):
    """The verdict's selection score is the mixture MMD^2 of the model samples against the validation
    split (the U-statistic evaluate reports there), not the test split's; None without a validation split."""
    target, model = read_artefact(pair[0]), read_artefact(pair[1])
    score = selection_score(target, model, SPEC)
    on_validation = evaluate(target, model, {**SPEC, "n_bootstrap": 0}, seed, split=VALIDATION_SPLIT)
    assert score["value"] == pytest.approx(on_validation["mmd2_samples"]["value"], rel=1e-12, abs=1e-15)
    assert score["value"] != evaluate(target, model, SPEC, seed)["mmd2_samples"]["value"]
    assert math.isnan(score["stderr"]) and score["source"] == "samples"
    bare = read_artefact(write_target(np.asarray(target["samples"]), name="bare.h5"))
    assert selection_score(bare, model, SPEC) is None


def test_run_evaluation_round_trip(pair, seed, tmp_path):
    """metrics.h5 holds each metric as a scalar with stderr/source, plus names and provenance."""
    spec = dict(SPEC)
    output = tmp_path / "eval" / "metrics.h5"
    out = run_evaluation(pair[0], pair[1], spec, seed, output, model_name="qcbm", target_name="toy5")
    art = read_artefact(out, kind="metrics")
    expected = evaluate(read_artefact(pair[0]), read_artefact(pair[1]), spec, seed)
    expected[SELECTION_METRIC] = selection_score(read_artefact(pair[0]), read_artefact(pair[1]), spec)
    assert set(art.datasets) == set(expected)
    for name, metric in expected.items():
        assert art[name].dtype == np.float64 and art[name].shape == ()
        assert float(art[name]) == metric["value"]
        attrs = art.dataset_attrs[name]
        assert attrs["source"] == metric["source"]
        assert np.array_equal(attrs["stderr"], metric["stderr"], equal_nan=True)
    assert art.attrs["model_name"] == "qcbm" and art.attrs["target_name"] == "toy5"
    assert art.attrs["n_qubits"] == 5 and art.attrs["n_params"] == 24
    assert art.attrs["model_kind"] == "toymodel" and art.attrs["train_seconds"] == pytest.approx(3.5)
    assert art.attrs["n_samples_model"] == 400 and art.attrs["n_samples_target"] == 400
    assert art.config == spec and art.seed == seed
    again = read_artefact(run_evaluation(pair[0], pair[1], spec, seed, tmp_path / "again.h5"))
    assert again.attrs["model_name"] == "toymodel"  # falls back to the model kind
    for name in expected:
        assert np.array_equal(art[name], again[name])
