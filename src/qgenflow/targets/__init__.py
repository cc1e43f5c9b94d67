"""Target distributions, one module per family, looked up by ``kind``."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..bits import sample_from_probs
from ..errors import InvalidConfigError
from ..rng import make_rng
from .bars_and_stripes import bas_patterns, make_bars_and_stripes
from .base import Target
from .gaussian_mixture import make_gaussian_mixture
from .iqp import make_iqp
from .samples_file import make_samples_file
from .spin import make_heisenberg, make_tfim
from .uniform import make_uniform

__all__ = ["HOLDOUT_FRACTION", "REGISTRY", "Target", "bas_patterns", "make_target", "split_holdout"]

REGISTRY: dict[str, Callable[[Mapping[str, Any], np.random.Generator], Target]] = {
    "uniform": make_uniform,
    "bars_and_stripes": make_bars_and_stripes,
    "gaussian_mixture": make_gaussian_mixture,
    "file": make_samples_file,
    "iqp": make_iqp,
    "heisenberg": make_heisenberg,
    "tfim": make_tfim,
}


def make_target(spec: Mapping[str, Any], seed: int) -> Target:
    """Build the target described by a config entry, seeded by ``seed``."""
    kind = spec.get("kind")
    if kind not in REGISTRY:
        raise InvalidConfigError("kind", f"unknown target kind {kind!r}; allowed: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[kind](spec, make_rng(seed, "target"))


HOLDOUT_FRACTION = 0.2


def split_holdout(target: Target, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training samples and held-out samples of a target (the data noise floor of evaluation).

    With exact probabilities the held-out set is a fresh draw of the same size;
    otherwise the last ``HOLDOUT_FRACTION`` of the samples is held out.
    """
    samples = np.asarray(target.samples, dtype=np.uint8)
    if target.probs is not None:
        return samples, sample_from_probs(target.probs, len(samples), make_rng(seed, "holdout"))
    n_hold = max(1, int(round(HOLDOUT_FRACTION * len(samples))))
    if len(samples) - n_hold < 2:
        raise InvalidConfigError("n_samples", f"too few samples ({len(samples)}) to hold some out for evaluation")
    return samples[:-n_hold], samples[-n_hold:]
