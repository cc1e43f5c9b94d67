"""The optimisation loop: schedules, L-BFGS, early stopping, checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target
from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.fit.loop import fit
from qgenflow.fit.optimizers import make_schedule

TOL = 1e-12


def quadratic(center):
    """Loss sum (x - c)^2 and its gradient."""

    def value_and_grad(x, step=None):
        d = x - center
        return float(d @ d), 2 * d

    return value_and_grad


def test_cosine_schedule_ends_at_lr_end():
    """A cosine schedule starts at lr, ends at lr_end, and warm-up starts at zero."""
    sched = make_schedule({"lr": 0.1, "steps": 100, "schedule": "cosine", "lr_end": 0.001})
    assert float(sched(0)) == pytest.approx(0.1) and float(sched(100)) == pytest.approx(0.001)
    warm = make_schedule({"lr": 0.1, "steps": 100, "warmup_steps": 10})
    assert float(warm(0)) == 0.0 and float(warm(10)) == pytest.approx(0.1)


def test_adam_converges_and_history_is_complete():
    """Adam reaches the minimum of a quadratic; history has steps + 1 losses."""
    c = np.array([0.3, -1.2, 2.0])
    res = fit(quadratic(c), np.zeros(3), {"name": "adam", "lr": 0.1, "steps": 400})
    assert np.allclose(res.params, c, atol=1e-3)
    assert len(res.history["loss"]) == 401 and res.history["step"][-1] == 400


def test_lbfgs_converges_fast():
    """L-BFGS solves a quadratic to machine precision in a few iterations."""
    c = np.linspace(-1, 1, 10)
    res = fit(quadratic(c), np.zeros(10), {"name": "lbfgs", "steps": 50})
    assert res.history["loss"][-1] < TOL and len(res.history["loss"]) < 20


def test_early_stopping_on_plateau():
    """A flat loss stops after `patience` steps; a tolerance stops at once."""
    res = fit(lambda x, step: (1.0, np.zeros_like(x)), np.zeros(2), {"steps": 1000, "early_stopping": {"patience": 20}})
    assert res.stopped_early and len(res.history["loss"]) == 21
    res = fit(quadratic(np.zeros(2)), np.zeros(2), {"steps": 1000, "tol": 1e-10})
    assert res.stopped_early and len(res.history["loss"]) == 1


def test_checkpoint_of_another_run_is_ignored(tmp_path):
    """A checkpoint written for another config is not resumed."""
    c = np.array([1.0, 2.0])
    a = Checkpointer(tmp_path / "ck.h5", every=5, identity={"lr": 0.1})
    fit(quadratic(c), np.zeros(2), {"lr": 0.1, "steps": 12}, a)  # leaves checkpoints at 5 and 10
    assert a.load()[0] == 10
    b = Checkpointer(tmp_path / "ck.h5", every=5, identity={"lr": 0.2})
    assert b.load() is None


def test_resume_equals_uninterrupted(tmp_path):
    """Restarting from a checkpoint ends with bit-identical parameters and history."""
    c = np.array([0.5, -0.5, 1.5])
    spec = {"name": "adam", "lr": 0.05, "steps": 60}
    full = fit(quadratic(c), np.zeros(3), spec)
    ck = Checkpointer(tmp_path / "ck.h5", every=20, identity={})
    fit(quadratic(c), np.zeros(3), {**spec, "steps": 60}, ck)
    # simulate a kill after step 40: the latest checkpoint is at 40
    assert ck.load()[0] == 40
    resumed = fit(quadratic(c), np.zeros(3), spec, ck)
    assert resumed.resumed_from == 40
    assert np.array_equal(resumed.params, full.params)
    assert np.array_equal(resumed.history["loss"], full.history["loss"])


TRAIN_SCRIPT = """
import sys
from qgenflow.stages.train import run_training
spec = {"kind": "qcbm", "layers": 3, "optimizer": {"name": "adam", "lr": 0.05, "steps": int(sys.argv[3])},
        "checkpoint_every": 10, "n_samples": 50}
run_training(spec, sys.argv[1], 0, sys.argv[2])
"""


@pytest.mark.slow
def test_killed_training_job_resumes_to_the_same_result(tmp_path):
    """SIGKILL mid-training, rerun: same final parameters as an uninterrupted run."""
    target = run_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 50}, 0, tmp_path / "t.h5")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", TRAIN_SCRIPT, str(target)]
    subprocess.run(cmd + [str(tmp_path / "full.h5"), "400"], check=True, env=env, timeout=300)
    out = tmp_path / "killed.h5"
    ckpt = Path(f"{out}.checkpoint")
    proc = subprocess.Popen(cmd + [str(out), "400"], env=env)
    deadline = time.time() + 240
    while time.time() < deadline and not (ckpt.exists() and read_artefact(ckpt)["step"] >= 50):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and ckpt.exists(), "the job should have died mid-training"
    subprocess.run(cmd + [str(out), "400"], check=True, env=env, timeout=300)
    a, b = read_artefact(tmp_path / "full.h5"), read_artefact(out)
    assert np.array_equal(a["params/theta"], b["params/theta"])
    assert np.array_equal(a["history/loss"], b["history/loss"])
    assert not ckpt.exists()
