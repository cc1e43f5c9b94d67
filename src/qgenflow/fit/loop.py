"""The optimisation loop shared by every trained model.

Gradient-step optimisers come from optax (with learning-rate schedules);
``lbfgs`` uses SciPy's L-BFGS-B for exact, deterministic losses. The loop stops
early when the loss plateaus (``early_stopping``) or falls below ``tol``,
checkpoints every K steps, and logs step, loss and time left.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .checkpoint import Checkpointer

__all__ = ["TrainResult", "Progress", "fit"]

log = logging.getLogger(__name__)

# value_and_grad(params, step) -> (loss, gradient); ``step`` seeds shot noise reproducibly.
ValueAndGrad = Callable[[np.ndarray, int], tuple[float, np.ndarray]]


@dataclass
class TrainResult:
    """Final parameters and the per-step history (loss before each update, then the final loss)."""

    params: np.ndarray
    history: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    seconds_per_step: float = 0.0
    stopped_early: bool = False
    resumed_from: int = 0


class Progress:
    """Logs step, loss, elapsed and estimated time left, about every ``interval`` seconds."""

    def __init__(self, steps: int, interval: float = 5.0, start_step: int = 0):
        self.steps, self.interval, self.start_step = steps, interval, start_step
        self.start = time.perf_counter()
        self.last = -np.inf

    def update(self, step: int, loss: float, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.interval and step != self.start_step:
            return
        self.last = now
        elapsed = now - self.start
        done = max(step + 1 - self.start_step, 1)
        left = elapsed / done * (self.steps - step - 1)
        log.info("step %d/%d  loss %.4e  elapsed %.1fs  left ~%.1fs", step + 1, self.steps, loss, elapsed, left)


class _Plateau:
    """Early stopping: no relative improvement above ``min_delta`` within ``patience`` steps."""

    def __init__(self, spec: Mapping[str, Any] | None):
        spec = spec or {}
        self.patience = spec.get("patience")
        self.min_delta = float(spec.get("min_delta", 1e-3))
        self.best, self.best_step = np.inf, 0

    def stop(self, step: int, loss: float) -> bool:
        if self.patience is None:
            return False
        if loss < self.best * (1 - self.min_delta) or not np.isfinite(self.best):
            self.best, self.best_step = loss, step
        return step - self.best_step >= int(self.patience)


def _fit_lbfgs(value_and_grad: ValueAndGrad, params: np.ndarray, spec: Mapping[str, Any], steps: int) -> TrainResult:
    from scipy.optimize import minimize

    shape = params.shape
    losses: list[float] = []
    progress = Progress(steps)
    start = time.perf_counter()

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = value_and_grad(flat.reshape(shape), len(losses))
        losses.append(loss)
        progress.update(len(losses) - 1, loss)
        return loss, np.asarray(grad, dtype=np.float64).ravel()

    res = minimize(fun, params.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": steps, "maxfun": 2 * steps, "gtol": 0.0, "ftol": float(spec.get("tol", 0.0))})
    seconds = time.perf_counter() - start
    final, _ = value_and_grad(res.x.reshape(shape), len(losses))
    losses.append(final)
    log.info("L-BFGS finished after %d evaluations (%s); final loss %.3e", len(losses) - 1, res.message, final)
    history = {"step": np.arange(len(losses), dtype=np.int64), "loss": np.asarray(losses)}
    return TrainResult(res.x.reshape(shape), history, seconds, seconds / max(len(losses) - 1, 1))


def fit(
    value_and_grad: ValueAndGrad,
    params: np.ndarray,
    spec: Mapping[str, Any],
    checkpointer: Checkpointer | None = None,
) -> TrainResult:
    """Minimise a loss as the ``optimizer`` config entry ``spec`` says.

    Args:
        value_and_grad: ``(params, step) -> (loss, gradient)``; the step number lets
            shot-based estimators draw reproducible randomness (and resume exactly).
        params: initial parameters.
        spec: ``name`` (adam, sgd, lbfgs), ``lr``, ``steps``, ``schedule``, ``early_stopping``, ``tol``.
        checkpointer: saves and restores the run state every ``checkpointer.every`` steps.
    """
    import jax
    import optax

    from .optimizers import make_optimizer

    jax.config.update("jax_enable_x64", True)
    steps = int(spec.get("steps", 300))
    params = np.asarray(params, dtype=np.float64)
    if spec.get("name", "adam") == "lbfgs":
        return _fit_lbfgs(value_and_grad, params, spec, steps)

    optimizer = make_optimizer(spec)
    state = optimizer.init(params)
    treedef = jax.tree_util.tree_structure(state)
    losses = np.full(steps + 1, np.nan)
    start_step = 0
    restored = checkpointer.load() if checkpointer is not None else None
    if restored is not None:
        start_step, params, leaves, history = restored
        state = jax.tree_util.tree_unflatten(treedef, [np.asarray(x) for x in leaves])
        losses[:start_step] = history["loss"][:start_step]
    plateau = _Plateau(spec.get("early_stopping"))
    for step in range(start_step):
        plateau.stop(step, losses[step])
    tol = float(spec.get("tol", 0.0))
    progress = Progress(steps, start_step=start_step)
    start = time.perf_counter()
    stopped = False
    last = start_step
    for step in range(start_step, steps):
        loss, grad = value_and_grad(params, step)
        losses[step] = loss
        progress.update(step, loss)
        if loss <= tol or plateau.stop(step, loss):
            stopped, last = True, step
            log.info("stopping early at step %d: loss %.3e (%s)", step, loss, "below tol" if loss <= tol else "plateau")
            break
        updates, state = optimizer.update(np.asarray(grad, dtype=np.float64), state, params)
        params = np.asarray(optax.apply_updates(params, updates), dtype=np.float64)
        last = step + 1
        if checkpointer is not None and checkpointer.every and last % checkpointer.every == 0 and last < steps:
            leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(state)]
            checkpointer.save(last, params, leaves, {"loss": losses})
    seconds = time.perf_counter() - start
    if not stopped:
        losses[steps], _ = value_and_grad(params, steps)
        last = steps
    log.info("final loss %.3e after %d steps in %.1fs", losses[last], last, seconds)
    history = {"step": np.arange(last + 1, dtype=np.int64), "loss": losses[: last + 1]}
    return TrainResult(
        params, history, seconds, seconds / max(last - start_step, 1), stopped_early=stopped, resumed_from=start_step
    )
