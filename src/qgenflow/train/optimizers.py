"""Optimisers (optax) built from a model's ``optimizer`` config entry."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import InvalidConfigError

__all__ = ["make_optimizer"]


def make_optimizer(spec: Mapping[str, Any]):
    """An ``optax.GradientTransformation`` for ``spec`` (``name``, ``lr``)."""
    import optax

    name = spec.get("name", "adam")
    lr = float(spec.get("lr", 0.05))
    builders = {"adam": optax.adam, "sgd": optax.sgd}
    if name not in builders:
        raise InvalidConfigError("optimizer.name", f"unknown optimiser {name!r}; allowed: {', '.join(builders)}")
    return builders[name](lr)
