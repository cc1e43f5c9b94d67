"""The gradient-descent loop shared by Born machines."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["TrainResult", "fit"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Final parameters and the per-step history (loss before each update, then the final loss)."""

    params: np.ndarray
    history: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    seconds_per_step: float = 0.0


def fit(
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    params: np.ndarray,
    optimizer,
    steps: int,
    log_every: int | None = None,
) -> TrainResult:
    """Minimise a loss with an optax optimiser for ``steps`` steps.

    Args:
        value_and_grad: returns the loss and its gradient (same shape as params).
        params: initial parameters (float64 array).
        optimizer: an ``optax.GradientTransformation``.
        steps: number of updates.
        log_every: log progress every this many steps (default: about 20 lines a run).
    """
    import jax
    import optax

    jax.config.update("jax_enable_x64", True)
    log_every = log_every or max(1, steps // 20)
    params = np.asarray(params, dtype=np.float64)
    state = optimizer.init(params)
    losses = np.empty(steps + 1)
    start = time.perf_counter()
    for step in range(steps):
        loss, grad = value_and_grad(params)
        losses[step] = loss
        updates, state = optimizer.update(grad, state, params)
        params = np.asarray(optax.apply_updates(params, updates), dtype=np.float64)
        if (step + 1) % log_every == 0 or step == 0:
            elapsed = time.perf_counter() - start
            eta = elapsed / (step + 1) * (steps - step - 1)
            log.info("step %d/%d  loss %.3e  elapsed %.1fs  left ~%.1fs", step + 1, steps, loss, elapsed, eta)
    seconds = time.perf_counter() - start
    losses[steps], _ = value_and_grad(params)
    log.info("final loss %.3e after %d steps in %.1fs", losses[steps], steps, seconds)
    history = {"step": np.arange(steps + 1, dtype=np.int64), "loss": losses}
    return TrainResult(params=params, history=history, seconds=seconds, seconds_per_step=seconds / max(steps, 1))
