"""A real single-node SLURM cluster on loopback for the tests in this folder.

tests/cluster/slurm/start.sh installs SLURM, munge and MariaDB with apt-get when they are
missing, writes /etc/slurm and starts the daemons; stop.sh stops them and removes the
configuration. Root only, and only when asked with ``QGENFLOW_SLURM_TEST=1``: otherwise the
tests skip with the reason in pytest's summary (``-ra``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
START, STOP = HERE / "slurm/start.sh", HERE / "slurm/stop.sh"
PROFILE = HERE / "profile"
STATE = Path(os.environ.get("QGENFLOW_SLURM_STATE", "/var/lib/qgenflow-slurm"))
SESSION_LOCK = Path("/run/lock/qgenflow-slurm-session.lock")


def skip_reason() -> str | None:
    """Why the SLURM tests cannot run here, or None."""
    if os.environ.get("QGENFLOW_SLURM_TEST") != "1":
        return (
            "SLURM cluster test not requested: set QGENFLOW_SLURM_TEST=1 to run it "
            "(root; installs SLURM, munge and MariaDB with apt-get and writes /etc/slurm)"
        )
    if not sys.platform.startswith("linux"):
        return f"SLURM cluster test needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "SLURM cluster test needs root (it installs packages and starts daemons)"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "SLURM cluster test: cannot install SLURM here (no apt-get, no slurmctld)"
    if shutil.which("timeout") is None:
        return "SLURM cluster test needs coreutils' timeout"
    return None


def daemon_logs(lines: int = 30) -> str:
    """The last lines of every daemon log of the test cluster, for failure messages."""
    out = []
    for log in sorted((STATE / "log").glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(out)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node SLURM cluster (partition ``local``, account ``qgenflow``)."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.fail("snakemake-executor-plugin-slurm is not installed: pip install -e '.[test]'")
    # One test cluster per machine: a second session waits instead of restarting this one's.
    SESSION_LOCK.parent.mkdir(parents=True, exist_ok=True)
    lock = SESSION_LOCK.open("w")
    deadline = time.monotonic() + 1800
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                lock.close()
                pytest.fail(f"another test session has held {SESSION_LOCK} for 30 minutes")
            time.sleep(5)
    env = {**os.environ, "QGENFLOW_SLURM_TEST": "1"}
    try:
        proc = subprocess.run([str(START)], env=env, capture_output=True, text=True, timeout=1200)
        if proc.returncode == 3:
            pytest.skip(f"cannot install the SLURM packages on this machine: {proc.stderr.strip()[-1500:]}")
        if proc.returncode != 0:
            pytest.fail(f"start.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{daemon_logs()}")
        yield
    finally:
        stop = subprocess.run([str(STOP)], env=env, capture_output=True, text=True, timeout=300)
        if stop.returncode != 0:
            print(f"stop.sh failed ({stop.returncode}):\n{stop.stderr}", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
