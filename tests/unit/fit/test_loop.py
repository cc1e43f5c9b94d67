"""The optimisation loop: schedules, L-BFGS, early stopping, checkpoints, inner steps."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target
from tests.unit.killed import Killed, KilledAfterSave
from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.fit import loop
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


class Pull:
    """A toy inner step: a state vector pulled toward the parameters; its sum every step and norm every 3 steps."""

    def __init__(self, steps: int):
        self.v = np.zeros(3)
        self.calls: list[tuple[str, int, bool]] = []
        self.trace = np.full(steps + 1, np.nan)
        self.log_steps: list[int] = []
        self.norms: list[float] = []

    def before(self, params, step, final):
        self.calls.append(("before", step, final))
        if not final:
            self.v = 0.9 * self.v + params

    def after(self, step, loss, final):
        self.calls.append(("after", step, final))
        self.trace[step] = self.v.sum()
        if step % 3 == 0 or final:
            self.log_steps.append(step)
            self.norms.append(float(np.linalg.norm(self.v)))

    def state(self):
        return {"v": self.v}

    def history(self, last):
        return {
            "trace": self.trace[: last + 1],
            "log_step": np.asarray(self.log_steps, dtype=np.int64),
            "norm": np.asarray(self.norms, dtype=np.float64),
        }

    def restore(self, step, state, history):
        self.v = np.array(state["v"])
        self.trace[:step] = history["trace"][:step]
        self.log_steps, self.norms = list(history["log_step"]), list(history["norm"])


def pulled_quadratic(center, inner):
    """sum (x - c)^2 + 0.01 v.x: the loss depends on the inner step's state."""

    def value_and_grad(x, step):
        d = x - center
        return float(d @ d + 0.01 * inner.v @ x), 2 * d + 0.01 * inner.v

    return value_and_grad


def test_inner_step_runs_around_every_evaluation():
    """before/after wrap every evaluation, the last one marked final; the inner history joins the result's."""
    inner = Pull(4)
    c = np.array([0.5, -0.5, 1.5])
    res = fit(pulled_quadratic(c, inner), np.zeros(3), {"lr": 0.1, "steps": 4}, inner=inner)
    expected = [(kind, s, s == 4) for s in range(5) for kind in ("before", "after")]
    assert inner.calls == expected
    assert set(res.history) == {"step", "loss", "trace", "log_step", "norm"}
    assert res.history["trace"].shape == (5,) and np.array_equal(res.history["log_step"], [0, 3, 4])


def test_inner_step_resumes_exactly_after_a_kill(tmp_path):
    """Killed after its step-10 checkpoint and rerun, a run with an inner step ends bit-identical."""
    c = np.array([0.5, -0.5, 1.5])
    spec = {"name": "adam", "lr": 0.05, "steps": 23, "schedule": "cosine"}
    inner = Pull(23)
    full = fit(pulled_quadratic(c, inner), np.zeros(3), spec, inner=inner)
    path = tmp_path / "ck.h5"
    killed = Pull(23)
    with pytest.raises(Killed):
        fit(pulled_quadratic(c, killed), np.zeros(3), spec, KilledAfterSave(path, 5, {}, at=10), inner=killed)
    again = Pull(23)
    resumed = fit(pulled_quadratic(c, again), np.zeros(3), spec, Checkpointer(path, 5, {}), inner=again)
    assert resumed.resumed_from == 10 and again.calls[0] == ("before", 10, False)
    assert np.array_equal(resumed.params, full.params) and np.array_equal(again.v, inner.v)
    assert set(resumed.history) == set(full.history)
    for key, series in full.history.items():
        assert np.array_equal(resumed.history[key], series), key


def test_plain_checkpoint_is_not_resumed_by_a_run_with_an_inner_step(tmp_path):
    """A checkpoint without the inner step's state (older code) is ignored: the run starts afresh."""
    c = np.array([1.0, 2.0, 3.0])
    ck = Checkpointer(tmp_path / "ck.h5", every=5, identity={})
    fit(quadratic(c), np.zeros(3), {"lr": 0.1, "steps": 12}, ck)
    assert ck.load()[0] == 10
    inner = Pull(12)
    res = fit(pulled_quadratic(c, inner), np.zeros(3), {"lr": 0.1, "steps": 12}, ck, inner=inner)
    assert res.resumed_from == 0 and inner.calls[0] == ("before", 0, False)


def test_inner_step_needs_a_gradient_step_optimiser():
    """L-BFGS cannot interleave a second player: refused with the optimiser's config key."""
    inner = Pull(5)
    with pytest.raises(InvalidConfigError, match="optimizer.name"):
        fit(pulled_quadratic(np.zeros(3), inner), np.zeros(3), {"name": "lbfgs", "steps": 5}, inner=inner)


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


def test_progress_time_left_leaves_out_the_first_step(monkeypatch, caplog):
    """The first step takes 100 s (compilation), every later one 1 s: the estimate is 1 s per step left."""
    clock = iter([0.0, 100.0, 101.0, 102.0, 110.0])  # start, then the end of steps 0, 1, 2 and 10
    monkeypatch.setattr(loop.time, "perf_counter", lambda: next(clock))
    progress = loop.Progress(20, interval=0.0)
    with caplog.at_level(logging.INFO, logger=loop.log.name):
        for step in (0, 1, 2, 10):
            progress.update(step, 0.5)
    lines = [r.getMessage() for r in caplog.records]
    assert "first step, with compilation" in lines[0] and "left ~" not in lines[0]
    assert lines[1].endswith("left ~18.0s") and lines[2].endswith("left ~17.0s")
    assert lines[3].endswith("left ~9.0s")  # (110 - 100) s / 10 steps x 9 steps left
