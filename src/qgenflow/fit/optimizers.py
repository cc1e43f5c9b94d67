"""Optimisers built from a model's ``optimizer`` config entry: optax for gradient steps."""

from __future__ import annotations

from typing import Any, Mapping

import optax

from ..errors import InvalidConfigError
from ..schema import with_defaults

__all__ = ["GRADIENT_OPTIMIZERS", "SCHEDULES", "make_optimizer", "make_schedule"]

GRADIENT_OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine", "exponential")


def make_schedule(spec: Mapping[str, Any]):
    """Learning-rate schedule: ``constant``, ``cosine`` or ``exponential`` decay to ``lr_end``, optional warm-up."""
    spec = with_defaults("optimizer", spec)
    lr = float(spec["lr"])
    steps = int(spec["steps"])
    kind = spec["schedule"]
    lr_end = spec["lr_end"]
    lr_end = lr / 100 if lr_end is None else float(lr_end)
    warmup = int(spec["warmup_steps"])
    decay_steps = max(steps - warmup, 1)
    if kind == "constant":
        main = optax.constant_schedule(lr)
    elif kind == "cosine":
        main = optax.cosine_decay_schedule(lr, decay_steps, alpha=lr_end / lr)
    elif kind == "exponential":
        main = optax.exponential_decay(lr, decay_steps, decay_rate=lr_end / lr)
    else:
        raise InvalidConfigError("optimizer.schedule", f"unknown schedule {kind!r}; allowed: {', '.join(SCHEDULES)}")
    if warmup:
        return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
    return main


def make_optimizer(spec: Mapping[str, Any]):
    """An ``optax.GradientTransformation`` for ``spec`` (``name``, ``lr``, ``schedule``...)."""
    spec = with_defaults("optimizer", spec)
    name = spec["name"]
    builders = {"adam": optax.adam, "sgd": optax.sgd}
    if name not in builders:
        raise InvalidConfigError(
            "optimizer.name", f"{name!r} is not a gradient-step optimiser; allowed: {', '.join(builders)}"
        )
    return builders[name](make_schedule(spec))
