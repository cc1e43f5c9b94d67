"""Job set-up: thread pinning and the JAX platform."""

from __future__ import annotations

import logging
import os

import pytest

from qgenflow.runtime import setup_job


@pytest.fixture(autouse=True)
def _restore_logging_and_stderr():
    import sys

    stderr, handlers = sys.stderr, logging.getLogger().handlers[:]
    yield
    sys.stderr = stderr
    logging.getLogger().handlers[:] = handlers


def test_threads_and_platform(tmp_path, monkeypatch: pytest.MonkeyPatch):
    for var in ("OMP_NUM_THREADS", "JAX_PLATFORMS", "XLA_FLAGS"):
        monkeypatch.delenv(var, raising=False)
    setup_job(str(tmp_path / "job.log"), threads=3)
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["JAX_PLATFORMS"] == "cpu"
    assert "intra_op_parallelism_threads=3" in os.environ["XLA_FLAGS"]
    setup_job(str(tmp_path / "job.log"), threads=1, jax_platform="cuda")
    assert os.environ["JAX_PLATFORMS"] == "cuda"
    logging.getLogger("qgenflow.test").info("hello")
    assert "hello" in (tmp_path / "job.log").read_text()
