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
    for var in ("OMP_NUM_THREADS", "JAX_PLATFORMS", "XLA_FLAGS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    setup_job(str(tmp_path / "job.log"), threads=3)
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["JAX_PLATFORMS"] == "cpu"
    assert "intra_op_parallelism_threads=3" in os.environ["XLA_FLAGS"]
    setup_job(str(tmp_path / "job.log"), threads=1, jax_platform="cuda")
    assert os.environ["JAX_PLATFORMS"] == "cuda"
    logging.getLogger("qgenflow.test").info("hello")
    assert "hello" in (tmp_path / "job.log").read_text()


def test_numba_threads_after_numba_is_imported(monkeypatch: pytest.MonkeyPatch):
    """Once numba is imported its NUMBA_NUM_THREADS is fixed: configure_threads leaves the variable alone
    (changing it breaks numba's next config reload) and sets numba's thread count instead."""
    import numba

    from qgenflow.runtime import configure_threads

    for var in ("OMP_NUM_THREADS", "JAX_PLATFORMS", "XLA_FLAGS"):
        monkeypatch.delenv(var, raising=False)
    launched = str(numba.config.NUMBA_NUM_THREADS)
    monkeypatch.setenv("NUMBA_NUM_THREADS", launched)
    before = numba.get_num_threads()
    try:
        configure_threads(1)
        assert os.environ["NUMBA_NUM_THREADS"] == launched
        assert numba.get_num_threads() == 1
        numba.config.reload_config()  # numba does this before compiling; a changed variable would raise here
    finally:
        numba.set_num_threads(before)


def test_numba_threads_before_numba_is_imported(tmp_path):
    """In a fresh job process (numba not yet imported) the variable is set, and numba starts with it."""
    import subprocess
    import sys

    script = (
        "import sys; from qgenflow.runtime import configure_threads; assert 'numba' not in sys.modules; "
        "configure_threads(1); import numba; print(numba.get_num_threads())"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
