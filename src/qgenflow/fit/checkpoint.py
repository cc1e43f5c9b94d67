"""Training checkpoints: resume a killed job exactly where it stopped.

A checkpoint holds the parameters, the optimiser state (as the flat leaves of its
pytree), the history so far and the step, with the config slice, seed and
target hash it belongs to; a run with a second player (a GAN's discriminator)
adds that player's state as named ``extra`` arrays. It is written atomically
beside the model artefact and deleted once the model is written; a checkpoint of
another config or target is ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import ArtefactError
from ..io import read_artefact, write_artefact

__all__ = ["Checkpoint", "Checkpointer"]

log = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    """What a checkpoint restores: the step reached, parameters, optimiser leaves, history and extra arrays."""

    step: int
    params: np.ndarray
    opt_leaves: list
    history: dict[str, np.ndarray]
    extra: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Checkpointer:
    """Saves and restores the state of one training run.

    Attributes:
        path: checkpoint file.
        every: save every this many steps (0 = never).
        identity: what the run is (config slice, seed, target hash); a checkpoint
            with another identity is not resumed.
    """

    path: Path
    every: int
    identity: dict[str, Any]

    def _key(self) -> str:
        return json.dumps(self.identity, sort_keys=True)

    def save(
        self,
        step: int,
        params: np.ndarray,
        opt_leaves: list,
        history: dict[str, np.ndarray],
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Write the state after ``step`` steps; ``history`` series are cut to their first ``step`` entries.

        ``extra`` holds further named arrays kept whole (stored under ``extra/<name>``).
        """
        datasets = {"params": np.asarray(params), "step": np.int64(step)}
        datasets.update({f"opt_state/{i:04d}": np.asarray(leaf) for i, leaf in enumerate(opt_leaves)})
        datasets.update({f"history/{k}": np.asarray(v[:step]) for k, v in history.items()})
        datasets.update({f"extra/{k}": np.asarray(v) for k, v in (extra or {}).items()})
        write_artefact(
            self.path, "checkpoint", datasets, config={"identity": self._key()}, seed=None,
            attrs={"n_opt_leaves": len(opt_leaves)},
        )
        log.info("checkpoint saved at step %d", step)

    def restore(self, extra: Iterable[str] = ()) -> Checkpoint | None:
        """The matching checkpoint, or None; one lacking any of the named ``extra`` arrays is not resumed."""
        if not self.path.exists():
            return None
        try:
            art = read_artefact(self.path, kind="checkpoint")
        except ArtefactError as exc:
            log.warning("ignoring unreadable checkpoint: %s", exc)
            return None
        if art.config.get("identity") != self._key():
            log.warning("ignoring checkpoint %s of a different run (config, seed or target changed)", self.path)
            return None
        stored = {k.split("/", 1)[1]: v for k, v in art.datasets.items() if k.startswith("extra/")}
        missing = sorted(set(extra) - set(stored))
        if missing:
            log.warning("ignoring checkpoint %s without the state %s (written by other code)", self.path, missing)
            return None
        leaves = [art[f"opt_state/{i:04d}"] for i in range(int(art.attrs["n_opt_leaves"]))]
        history = {k.split("/", 1)[1]: v for k, v in art.datasets.items() if k.startswith("history/")}
        step = int(art["step"])
        log.info("resuming from checkpoint at step %d", step)
        return Checkpoint(step, art["params"], leaves, history, stored)

    def load(self) -> tuple[int, np.ndarray, list, dict[str, np.ndarray]] | None:
        """(step, params, optimiser leaves, history) of a matching checkpoint, or None."""
        ck = self.restore()
        return None if ck is None else (ck.step, ck.params, ck.opt_leaves, ck.history)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
