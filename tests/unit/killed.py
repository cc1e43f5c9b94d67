"""A checkpointer whose job is killed right after it writes a checkpoint (resume tests)."""

from __future__ import annotations

from qgenflow.fit.checkpoint import Checkpointer


class Killed(Exception):
    """Stands for the training job being killed."""


class KilledAfterSave(Checkpointer):
    """A checkpointer whose job dies right after writing the checkpoint of step ``at``."""

    def __init__(self, path, every, identity, at):
        super().__init__(path, every, identity)
        self.at = at

    def save(self, step, *args, **kwargs):
        super().save(step, *args, **kwargs)
        if step == self.at:
            raise Killed
