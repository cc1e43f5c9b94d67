"""Job set-up for workflow scripts: thread limits and logging, before heavy imports."""

from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

__all__ = ["MAX_WORKERS", "configure_threads", "in_shares", "setup_job"]

#: Most threads the numba kernels share work between (see :func:`in_shares`).
MAX_WORKERS = 8
_POOL: tuple[int, ThreadPoolExecutor] | None = None

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def configure_threads(threads: int) -> None:
    """Limit OpenMP (lightning), BLAS, numba (qgenflow's kernels) and XLA to ``threads``; call before importing them."""
    threads = max(1, int(threads))
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    if "numba" in sys.modules:
        # numba read NUMBA_NUM_THREADS at import; changing it now would make its next config reload fail
        # ("Cannot set NUMBA_NUM_THREADS to a different value once the threads have been launched").
        import numba  # heavy: already imported (checked above)

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    xla = [f for f in os.environ.get("XLA_FLAGS", "").split() if "multi_thread_eigen" not in f and "intra_op" not in f]
    xla += ["--xla_cpu_multi_thread_eigen=false", f"intra_op_parallelism_threads={threads}"]
    os.environ["XLA_FLAGS"] = " ".join(xla)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _pool() -> ThreadPoolExecutor:
    """Worker threads of this process (a forked child gets its own: the parent's threads are not inherited)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=MAX_WORKERS - 1, thread_name_prefix="qgenflow_kernels"))
    return _POOL[1]


def in_shares(work: Callable[[int, int, int], None], total: int, workers: int) -> None:
    """Run ``work(lo, hi, w)`` on ``workers`` contiguous shares of ``range(total)`` at once.

    For GIL-free (``nogil``) numba kernels: Python threads, not an OpenMP pool whose
    spinning workers would fight lightning's or BLAS's on a busy machine. The calling
    thread takes share 0; the call returns when every share is done (and re-raises the
    first error of any share).
    """
    workers = max(1, min(int(workers), int(total), MAX_WORKERS))
    futures = [_pool().submit(work, w * total // workers, (w + 1) * total // workers, w) for w in range(1, workers)]
    try:
        work(0, total // workers, 0)
    finally:
        for future in futures:
            future.result()


def setup_job(
    log_path: str | None,
    threads: int = 1,
    level: int = logging.INFO,
    jax_platform: str | None = None,
    expect: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Send stderr and logging to ``log_path``, pin thread counts, pick JAX's platform
    and check the job's input artefacts.

    ``jax_platform`` (``cpu`` or ``cuda``, the config's ``compute.jax_platform``) sets
    ``JAX_PLATFORMS`` for the job; without it JAX stays on the CPU unless the
    environment says otherwise. ``expect`` maps each input artefact to what it must
    be (see :func:`qgenflow.io.check_inputs`): a swapped or stale file stops the job
    before any work.
    """
    if jax_platform:
        os.environ["JAX_PLATFORMS"] = jax_platform
    configure_threads(threads)
    if log_path:
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream
    else:
        stream = sys.stderr
    logging.basicConfig(
        level=level,
        stream=stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if expect:
        # After the thread settings: importing h5py loads numpy, which reads them once.
        from .io import check_inputs  # heavy: numpy reads the thread settings once, when first imported

        check_inputs(expect)
