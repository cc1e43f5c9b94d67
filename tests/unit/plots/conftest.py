"""Fixtures for the figure tests: tiny target and model artefacts written in tmp_path and read back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qgenflow.bits import sample_from_probs
from qgenflow.io import Artefact, read_artefact, write_artefact

SEED = 1234
N_QUBITS = 4


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for each test."""
    return np.random.default_rng(SEED)


@pytest.fixture
def write_target(tmp_path: Path) -> Callable[..., Artefact]:
    """Write a target artefact from exact probabilities and/or samples; return it as read back."""

    def write(samples: np.ndarray, probs: np.ndarray | None = None, name: str = "target.h5") -> Artefact:
        datasets = {"samples": np.asarray(samples, dtype=np.uint8)}
        if probs is not None:
            datasets["probs"] = np.asarray(probs, dtype=np.float64)
        attrs = {"n_qubits": int(datasets["samples"].shape[1]), "target_kind": "test"}
        path = write_artefact(tmp_path / name, "target", datasets, config={}, seed=0, attrs=attrs)
        return read_artefact(path, kind="target")

    return write


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Artefact]:
    """Write a model artefact with samples, optional probs and a loss history; return it as read back."""

    def write(
        name: str,
        samples: np.ndarray,
        probs: np.ndarray | None = None,
        loss: np.ndarray | None = None,
        step: np.ndarray | None = None,
        seed: int = 0,
    ) -> Artefact:
        loss = np.geomspace(1.0, 1e-3, 50) if loss is None else np.asarray(loss, dtype=np.float64)
        step = np.arange(loss.size) if step is None else np.asarray(step)
        datasets = {
            "samples": np.asarray(samples, dtype=np.uint8),
            "history/step": step,
            "history/loss": loss,
        }
        if probs is not None:
            datasets["probs"] = np.asarray(probs, dtype=np.float64)
        attrs = {"n_qubits": int(datasets["samples"].shape[1]), "model_kind": "test", "n_params": 3}
        path = write_artefact(
            tmp_path / name / f"seed{seed}" / "model.h5", "model", datasets, config={}, seed=seed, attrs=attrs
        )
        return read_artefact(path, kind="model")

    return write


@pytest.fixture
def small_study(
    rng: np.random.Generator, write_target: Callable[..., Artefact], write_model: Callable[..., Artefact]
) -> tuple[Artefact, list[Artefact], list[str]]:
    """A 4-qubit exact target, two seeds of an exact model and one sample-only model."""
    p = rng.dirichlet(np.full(2**N_QUBITS, 0.5))
    target = write_target(sample_from_probs(p, 500, rng), p)
    models, labels = [], []
    for seed in (0, 1):
        q = 0.8 * p + 0.2 * rng.dirichlet(np.ones(2**N_QUBITS))
        loss = np.geomspace(0.5, 1e-3, 40) * np.exp(rng.normal(0.0, 0.1, 40))
        models.append(write_model("qcbm", sample_from_probs(q, 300, rng), q, loss=loss, seed=seed))
        labels.append("qcbm")
    models.append(write_model("rbm", sample_from_probs(p, 300, rng), None))
    labels.append("rbm")
    return target, models, labels
