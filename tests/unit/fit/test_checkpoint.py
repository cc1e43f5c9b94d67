"""Checkpoints: what is saved comes back; extra named arrays; checkpoints of other runs or code are ignored."""

from __future__ import annotations

import numpy as np

from qgenflow.fit.checkpoint import Checkpoint, Checkpointer


def _save(ck: Checkpointer, extra=None) -> None:
    """Write a step-4 checkpoint with one optimiser leaf and a 10-entry loss series."""
    ck.save(4, np.array([1.0, 2.0]), [np.array([0.5, 0.25]), np.int32(3)], {"loss": np.arange(10.0)}, extra=extra)


def test_plain_checkpoint_round_trips_as_before(tmp_path):
    """load() gives (step, params, optimiser leaves, history cut to the step) as it always did."""
    ck = Checkpointer(tmp_path / "ck.h5", every=2, identity={"run": 1})
    _save(ck)
    step, params, leaves, history = ck.load()
    assert step == 4 and np.array_equal(params, [1.0, 2.0])
    assert np.array_equal(leaves[0], [0.5, 0.25]) and leaves[1] == 3 and leaves[1].dtype == np.int32
    assert set(history) == {"loss"} and np.array_equal(history["loss"], np.arange(4.0))
    assert ck.restore().extra == {}


def test_extra_arrays_are_kept_whole(tmp_path):
    """Named extra arrays (nested names too) come back whole, beside the usual state."""
    ck = Checkpointer(tmp_path / "ck.h5", every=2, identity={"run": 1})
    extra = {"phi": np.linspace(0, 1, 7), "discriminator/0000": np.ones((3, 2), dtype=np.float32)}
    _save(ck, extra)
    restored = ck.restore(extra=list(extra))
    assert isinstance(restored, Checkpoint) and restored.step == 4
    assert set(restored.extra) == set(extra)
    for key, value in extra.items():
        assert np.array_equal(restored.extra[key], value) and restored.extra[key].dtype == value.dtype
    assert ck.load()[0] == 4  # a plain reader still reads it


def test_checkpoint_lacking_requested_extras_is_ignored(tmp_path):
    """A checkpoint without the state a run needs (written by other code) is not resumed."""
    ck = Checkpointer(tmp_path / "ck.h5", every=2, identity={"run": 1})
    _save(ck, {"phi": np.zeros(2)})
    assert ck.restore(extra=["phi", "d_opt_state/0000"]) is None
    assert ck.restore(extra=["phi"]) is not None


def test_checkpoint_of_another_identity_is_ignored(tmp_path):
    """Another config, seed or target: restore() and load() give None."""
    _save(Checkpointer(tmp_path / "ck.h5", every=2, identity={"run": 1}))
    other = Checkpointer(tmp_path / "ck.h5", every=2, identity={"run": 2})
    assert other.restore() is None and other.load() is None
