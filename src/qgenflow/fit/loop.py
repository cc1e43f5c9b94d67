"""The optimisation loop shared by every trained model.

Gradient-step optimisers come from optax (with learning-rate schedules);
``lbfgs`` uses SciPy's L-BFGS-B for exact, deterministic losses. The loop stops
early when the loss plateaus (``early_stopping``) or falls below ``tol``,
checkpoints every K steps, and logs step, loss and time left. An adversarial game
is the same loop with an :class:`InnerStep` (the discriminator), stepped before
every generator step and checkpointed with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import jax
import numpy as np
import optax
from scipy.optimize import minimize

from ..schema import with_defaults
from .checkpoint import Checkpoint, Checkpointer
from .optimizers import make_optimizer

__all__ = ["InnerStep", "TrainResult", "Progress", "fit", "without_early_stopping"]

log = logging.getLogger(__name__)

# value_and_grad(params, step) -> (loss, gradient); ``step`` seeds shot noise reproducibly.
ValueAndGrad = Callable[[np.ndarray, int], tuple[float, np.ndarray]]


class InnerStep(Protocol):
    """A second player that :func:`fit` steps beside the trained parameters (a GAN's discriminator).

    At every step the loop calls ``before(params, step, final)`` (e.g. train the
    discriminator against the current generator), then ``value_and_grad(params, step)``,
    then ``after(step, loss, final)`` (e.g. log extra series); ``final`` marks the
    evaluation after the last update, which no update follows. ``state()`` (named
    arrays) and ``history(last)`` (series through step ``last``; never ``step`` or
    ``loss``) are written with every checkpoint and handed back to ``restore`` on
    resume, so a resumed run continues exactly; ``history`` joins the result's history.
    """

    def before(self, params: np.ndarray, step: int, final: bool) -> None: ...

    def after(self, step: int, loss: float, final: bool) -> None: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def history(self, last: int) -> dict[str, np.ndarray]: ...

    def restore(self, step: int, state: Mapping[str, np.ndarray], history: Mapping[str, np.ndarray]) -> None: ...


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
    """Logs step, loss, elapsed and estimated time left, about every ``interval`` seconds.

    The time left is estimated from the steps after the first one: the first step also
    compiles (numba, JAX), which can take several times as long as a step, so it is left out
    of the rate and its own line says the estimate comes with the next one.
    """

    def __init__(self, steps: int, interval: float = 5.0, start_step: int = 0):
        self.steps, self.interval, self.start_step = steps, interval, start_step
        self.start = time.perf_counter()
        self.first_done: float | None = None  # when the first step (with its compilation) ended
        self.last = -np.inf

    def update(self, step: int, loss: float, force: bool = False) -> None:
        now = time.perf_counter()
        if self.first_done is None:
            self.first_done = now
        if not force and now - self.last < self.interval and step != self.start_step:
            return
        self.last = now
        elapsed = now - self.start
        timed = step - self.start_step  # steps finished since the first one
        if timed < 1:
            log.info("step %d/%d  loss %.4e  elapsed %.1fs (first step, with compilation)  left: from the next step",
                     step + 1, self.steps, loss, elapsed)
            return
        left = (now - self.first_done) / timed * (self.steps - step - 1)
        log.info("step %d/%d  loss %.4e  elapsed %.1fs  left ~%.1fs", step + 1, self.steps, loss, elapsed, left)


class _Plateau:
    """Early stopping: no relative improvement above ``min_delta`` within ``patience`` steps."""

    def __init__(self, spec: Mapping[str, Any] | None):
        # None: never stop early (an adversarial game's loss has no plateau to wait for).
        self.patience = None if spec is None else spec["patience"]
        self.min_delta = 0.0 if spec is None else float(spec["min_delta"])
        self.best, self.best_step = np.inf, 0

    def stop(self, step: int, loss: float) -> bool:
        if self.patience is None:
            return False
        if loss < self.best * (1 - self.min_delta) or not np.isfinite(self.best):
            self.best, self.best_step = loss, step
        return step - self.best_step >= int(self.patience)


def _fit_lbfgs(value_and_grad: ValueAndGrad, params: np.ndarray, spec: Mapping[str, Any], steps: int) -> TrainResult:
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
                   options={"maxiter": steps, "maxfun": 2 * steps, "gtol": 0.0, "ftol": float(spec["tol"])})
    seconds = time.perf_counter() - start
    final, _ = value_and_grad(res.x.reshape(shape), len(losses))
    losses.append(final)
    log.info("L-BFGS finished after %d evaluations (%s); final loss %.3e", len(losses) - 1, res.message, final)
    history = {"step": np.arange(len(losses), dtype=np.int64), "loss": np.asarray(losses)}
    return TrainResult(res.x.reshape(shape), history, seconds, seconds / max(len(losses) - 1, 1))


def without_early_stopping(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The optimiser entry ``spec`` with ``tol`` and ``early_stopping`` switched off: every step runs.

    For a loss that is a moving target, such as a GAN generator's (the discriminator changes it).
    """
    return {**spec, "tol": -np.inf, "early_stopping": None}


def _evaluate(
    value_and_grad: ValueAndGrad, inner: InnerStep | None, params: np.ndarray, step: int, final: bool
) -> tuple[float, np.ndarray]:
    if inner is not None:
        inner.before(params, step, final)
    loss, grad = value_and_grad(params, step)
    if inner is not None:
        inner.after(step, loss, final)
    return loss, grad


def _restore(checkpointer: Checkpointer | None, inner: InnerStep | None) -> Checkpoint | None:
    if checkpointer is None:
        return None
    if inner is None:  # what plain runs always read (wrapping checkpointers included)
        restored = checkpointer.load()
        return None if restored is None else Checkpoint(*restored)
    return checkpointer.restore(extra=list(inner.state()))


def _save(
    checkpointer: Checkpointer, inner: InnerStep | None, step: int, params: np.ndarray, state, losses: np.ndarray
) -> None:
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(state)]
    if inner is None:
        checkpointer.save(step, params, leaves, {"loss": losses})
    else:
        checkpointer.save(step, params, leaves, {"loss": losses, **inner.history(step - 1)}, extra=inner.state())


def fit(
    value_and_grad: ValueAndGrad,
    params: np.ndarray,
    spec: Mapping[str, Any],
    checkpointer: Checkpointer | None = None,
    inner: InnerStep | None = None,
) -> TrainResult:
    """Minimise a loss as the ``optimizer`` config entry ``spec`` says.

    Args:
        value_and_grad: ``(params, step) -> (loss, gradient)``; the step number lets
            shot-based estimators draw reproducible randomness (and resume exactly).
        params: initial parameters.
        spec: ``name`` (adam, sgd, lbfgs), ``lr``, ``steps``, ``schedule``, ``early_stopping``, ``tol``.
        checkpointer: saves and restores the run state every ``checkpointer.every`` steps.
        inner: a second player stepped around every evaluation (see :class:`InnerStep`);
            it needs a gradient-step optimiser.
    """
    jax.config.update("jax_enable_x64", True)
    spec = with_defaults("optimizer", spec)
    steps = int(spec["steps"])
    params = np.asarray(params, dtype=np.float64)
    if spec["name"] == "lbfgs" and inner is None:
        return _fit_lbfgs(value_and_grad, params, spec, steps)

    optimizer = make_optimizer(spec)  # refuses lbfgs: an inner step needs one update per step
    state = optimizer.init(params)
    treedef = jax.tree_util.tree_structure(state)
    losses = np.full(steps + 1, np.nan)
    start_step = 0
    restored = _restore(checkpointer, inner)
    if restored is not None:
        start_step, params = restored.step, restored.params
        state = jax.tree_util.tree_unflatten(treedef, [np.asarray(x) for x in restored.opt_leaves])
        losses[:start_step] = restored.history["loss"][:start_step]
        if inner is not None:
            inner.restore(start_step, restored.extra, restored.history)
    plateau = _Plateau(spec["early_stopping"])
    for step in range(start_step):
        plateau.stop(step, losses[step])
    tol = float(spec["tol"])
    progress = Progress(steps, start_step=start_step)
    start = time.perf_counter()
    stopped = False
    last = start_step
    for step in range(start_step, steps):
        loss, grad = _evaluate(value_and_grad, inner, params, step, final=False)
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
            _save(checkpointer, inner, last, params, state, losses)
    seconds = time.perf_counter() - start
    if not stopped:
        losses[steps], _ = _evaluate(value_and_grad, inner, params, steps, final=True)
        last = steps
    log.info("final loss %.3e after %d steps in %.1fs", losses[last], last, seconds)
    history = {"step": np.arange(last + 1, dtype=np.int64), "loss": losses[: last + 1]}
    history.update(inner.history(last) if inner is not None else {})
    return TrainResult(
        params, history, seconds, seconds / max(last - start_step, 1), stopped_early=stopped, resumed_from=start_step
    )
