"""Fixtures for the metrics tests: seeds, toy distributions and artefact writers."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from qgenflow.bits import sample_from_probs
from qgenflow.io import write_artefact


@pytest.fixture
def seed() -> int:
    """Seed of the test's random draws."""
    return 1234


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    """A generator seeded from the ``seed`` fixture."""
    return np.random.default_rng(seed)


def bernoulli_product(probs_one: list[float]) -> np.ndarray:
    """Big-endian probability vector of independent bits with P(bit i = 1) = probs_one[i]."""
    vec = np.ones(1)
    for a in probs_one:
        vec = np.kron(vec, np.array([1.0 - a, a]))
    return vec


@pytest.fixture
def product_probs() -> Callable[[list[float]], np.ndarray]:
    """Builder of product-of-Bernoulli probability vectors."""
    return bernoulli_product


@pytest.fixture
def write_target(tmp_path: Path) -> Callable[..., Path]:
    """Writer of a minimal target artefact under ``tmp_path``."""

    def write(
        samples: np.ndarray,
        probs: np.ndarray | None = None,
        *,
        name: str = "target.h5",
        n_qubits: int | None = None,
        test: np.ndarray | None = None,
        validation: np.ndarray | None = None,
    ) -> Path:
        """``samples`` train models; ``test`` (default: ``samples`` too) is what they are scored on;
        ``validation`` (default: none) what the verdict selects them by."""
        datasets = {
            "samples": np.asarray(samples, dtype=np.uint8),
            "samples_test": np.asarray(samples if test is None else test, dtype=np.uint8),
        }
        if validation is not None:
            datasets["samples_validation"] = np.asarray(validation, dtype=np.uint8)
        if probs is not None:
            datasets["probs"] = np.asarray(probs, dtype=np.float64)
        n = samples.shape[1] if n_qubits is None else n_qubits
        return write_artefact(
            tmp_path / name,
            "target",
            datasets,
            config={"kind": "toy"},
            seed=0,
            attrs={"n_qubits": n, "target_kind": "toy"},
        )

    return write


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Path]:
    """Writer of a minimal model artefact under ``tmp_path``."""

    def write(
        samples: np.ndarray,
        probs: np.ndarray | None = None,
        *,
        name: str = "model.h5",
        n_qubits: int | None = None,
        n_params: int = 24,
        train_seconds: float = 3.5,
    ) -> Path:
        datasets = {
            "samples": np.asarray(samples, dtype=np.uint8),
            "history/step": np.arange(3),
            "history/loss": np.array([0.3, 0.2, 0.1]),
        }
        if probs is not None:
            datasets["probs"] = np.asarray(probs, dtype=np.float64)
        n = samples.shape[1] if n_qubits is None else n_qubits
        return write_artefact(
            tmp_path / name,
            "model",
            datasets,
            config={"kind": "toymodel"},
            seed=0,
            attrs={
                "n_qubits": n,
                "model_kind": "toymodel",
                "n_params": n_params,
                "train_seconds": train_seconds,
                "seconds_per_step": train_seconds / 3,
            },
        )

    return write


@pytest.fixture
def draw() -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    """Exact sampler from a probability vector."""
    return sample_from_probs
