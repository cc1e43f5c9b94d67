"""Fixtures for the baseline tests: targets as artefacts, as training reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from qgenflow.io import Artefact, read_artefact
from qgenflow.stages.target import run_target

BAS_SPEC = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 2000}


@pytest.fixture(scope="session")
def bas_target(tmp_path_factory: pytest.TempPathFactory) -> Artefact:
    """Bars-and-stripes 2x2 (6 valid patterns of 16), 2000 training samples, written and read back."""
    path = run_target(BAS_SPEC, 0, tmp_path_factory.mktemp("bas") / "t.h5")
    return read_artefact(path, kind="target")


@pytest.fixture
def product_target() -> Callable[[np.ndarray, int, int], Artefact]:
    """Factory of in-memory target artefacts of independent bits with P(bit i = 1) = marginals[i]."""

    def make(marginals: np.ndarray, n_samples: int, seed: int) -> Artefact:
        rng = np.random.default_rng(seed)
        samples = (rng.random((n_samples, len(marginals))) < marginals).astype(np.uint8)
        attrs = {"n_qubits": len(marginals)}
        return Artefact(path=Path("memory"), kind="target", attrs=attrs, datasets={"samples": samples})

    return make
