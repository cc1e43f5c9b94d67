"""Models are scored on the target's test split, never on the samples they trained on."""

from __future__ import annotations

import numpy as np
import pytest

from qgenflow.bits import sample_from_probs
from qgenflow.io import read_artefact, write_artefact
from qgenflow.metrics import evaluate, reference_model
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.target import run_target

SIGMAS = [0.5, 1.0, 2.0]
SPEC = {"sigmas": SIGMAS, "n_samples": None, "n_bootstrap": 20}
MMD_ATOL = 1e-12
N_BITS = 6


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray, sigmas: list[float]) -> float:
    """Unbiased squared MMD with the mixture of Gaussian kernels exp(-|x - y|^2 / (2 s^2)), written out in full."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sq = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
        return np.mean([np.exp(-sq / (2.0 * s * s)) for s in sigmas], axis=0)

    m, n = len(x), len(y)
    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean()
    )


def _write_model(path, samples: np.ndarray) -> str:
    """A model artefact that outputs exactly ``samples``."""
    attrs = {"n_qubits": samples.shape[1], "model_kind": "toymodel", "n_params": 1, "train_seconds": 0.0}
    return write_artefact(path, "model", {"samples": samples}, config={"kind": "toymodel"}, seed=0, attrs=attrs)


@pytest.fixture
def skewed_probs() -> np.ndarray:
    """A fixed, uneven distribution over N_BITS bits."""
    p = np.random.default_rng(11).dirichlet(np.full(2**N_BITS, 0.3))
    return p / p.sum()


@pytest.fixture
def target(tmp_path, skewed_probs):
    """A file target of 400 rows drawn from ``skewed_probs``, split 70 / 10 / 20 by the default shuffle."""
    rows = sample_from_probs(skewed_probs, 400, np.random.default_rng(3))
    np.save(tmp_path / "data.npy", rows)
    return run_target({"kind": "file", "path": str(tmp_path / "data.npy")}, 0, tmp_path / "target.h5")


def test_stored_mmd_matches_independent_recomputation_on_test_split(target, skewed_probs, tmp_path):
    """metrics.h5's mmd2_samples equals a written-out U-statistic between the model's samples and the test split."""
    model_samples = sample_from_probs(skewed_probs, 250, np.random.default_rng(5))
    model = _write_model(tmp_path / "model.h5", model_samples)
    metrics = read_artefact(run_evaluation(target, model, SPEC, 0, tmp_path / "metrics.h5"), kind="metrics")
    art = read_artefact(target, kind="target")
    expected = _mmd2_unbiased(model_samples, art["samples_test"], SIGMAS)
    assert float(metrics["mmd2_samples"]) == pytest.approx(expected, abs=MMD_ATOL)
    assert float(metrics["mmd2_samples"]) != pytest.approx(
        _mmd2_unbiased(model_samples, art["samples"], SIGMAS), abs=MMD_ATOL
    )
    assert metrics.attrs["n_samples_target"] == art.attrs["n_test"]


def test_memoriser_does_not_beat_the_data_row(target, tmp_path):
    """A model that outputs its training samples verbatim scores no better on test than the data row."""
    art = read_artefact(target, kind="target")
    memoriser = read_artefact(_write_model(tmp_path / "memo.h5", np.asarray(art["samples"])), kind="model")
    data_row = reference_model(art, "data", 0)
    memo = evaluate(art, memoriser, SPEC, 0)["mmd2_samples"]["value"]
    floor = evaluate(art, data_row, SPEC, 0)["mmd2_samples"]["value"]
    assert memo >= floor
    train_vs_train = _mmd2_unbiased(art["samples"], art["samples"], SIGMAS)
    assert train_vs_train < memo  # scored on its own training data it would have looked better than it is


def test_file_target_given_separate_test_file_is_evaluated_on_it(tmp_path, skewed_probs):
    """With test_path, models are scored on the test file: a model of the test data beats one of the train data."""
    train_rows = np.zeros((300, N_BITS), dtype=np.uint8)
    train_rows[::2, 0] = 1
    test_rows = sample_from_probs(skewed_probs, 200, np.random.default_rng(8))
    np.save(tmp_path / "train.npy", train_rows)
    np.save(tmp_path / "test.npy", test_rows)
    spec = {"kind": "file", "path": str(tmp_path / "train.npy"), "test_path": str(tmp_path / "test.npy")}
    target = run_target(spec, 0, tmp_path / "target.h5")
    like_test = _write_model(tmp_path / "a.h5", sample_from_probs(skewed_probs, 200, np.random.default_rng(9)))
    like_train = _write_model(tmp_path / "b.h5", train_rows[:200])
    score = {}
    for name, model in (("test", like_test), ("train", like_train)):
        out = run_evaluation(target, model, SPEC, 0, tmp_path / f"m_{name}.h5")
        score[name] = read_artefact(out, kind="metrics")
    np.testing.assert_array_equal(read_artefact(target, kind="target")["samples_test"], test_rows)
    assert score["test"].attrs["n_samples_target"] == 200
    expected = _mmd2_unbiased(np.asarray(read_artefact(like_test, kind="model")["samples"]), test_rows, SIGMAS)
    assert float(score["test"]["mmd2_samples"]) == pytest.approx(expected, abs=MMD_ATOL)
    assert float(score["test"]["mmd2_samples"]) < float(score["train"]["mmd2_samples"])
