"""Training checkpoints: resume a killed job exactly where it stopped.

A checkpoint holds the parameters, the optimiser state (as the flat leaves of its
pytree), the history so far and the step, with the config slice, seed and
target hash it belongs to. It is written atomically beside the model artefact
and deleted once the model is written; a checkpoint of another config or target
is ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)


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

    def save(self, step: int, params: np.ndarray, opt_leaves: list, history: dict[str, np.ndarray]) -> None:
        from ..io import write_artefact

        datasets = {"params": np.asarray(params), "step": np.int64(step)}
        datasets.update({f"opt_state/{i:04d}": np.asarray(leaf) for i, leaf in enumerate(opt_leaves)})
        datasets.update({f"history/{k}": np.asarray(v[:step]) for k, v in history.items()})
        write_artefact(
            self.path, "checkpoint", datasets, config={"identity": self._key()}, seed=None,
            attrs={"n_opt_leaves": len(opt_leaves)},
        )
        log.info("checkpoint saved at step %d", step)

    def load(self) -> tuple[int, np.ndarray, list, dict[str, np.ndarray]] | None:
        """(step, params, optimiser leaves, history) of a matching checkpoint, or None."""
        from ..errors import ArtefactError
        from ..io import read_artefact

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
        leaves = [art[f"opt_state/{i:04d}"] for i in range(int(art.attrs["n_opt_leaves"]))]
        history = {k.split("/", 1)[1]: v for k, v in art.datasets.items() if k.startswith("history/")}
        step = int(art["step"])
        log.info("resuming from checkpoint at step %d", step)
        return step, art["params"], leaves, history

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
