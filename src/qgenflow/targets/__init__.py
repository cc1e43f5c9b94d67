"""Target distributions, one module per family, looked up by ``kind``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InvalidConfigError
from ..rng import make_rng
from .bars_and_stripes import bas_patterns, make_bars_and_stripes
from .base import Target
from .gaussian_mixture import make_gaussian_mixture
from .iqp import make_iqp
from .samples_file import make_samples_file
from .spin import make_heisenberg, make_tfim
from .uniform import make_uniform

__all__ = ["HOLDOUT_FRACTION", "REGISTRY", "Target", "bas_patterns", "make_target", "run_target", "split_holdout"]

log = logging.getLogger(__name__)

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
    from ..bits import sample_from_probs

    samples = np.asarray(target.samples, dtype=np.uint8)
    if target.probs is not None:
        return samples, sample_from_probs(target.probs, len(samples), make_rng(seed, "holdout"))
    n_hold = max(1, int(round(HOLDOUT_FRACTION * len(samples))))
    if len(samples) - n_hold < 2:
        raise InvalidConfigError("n_samples", f"too few samples ({len(samples)}) to hold some out for evaluation")
    return samples[:-n_hold], samples[-n_hold:]


def run_target(spec: Mapping[str, Any], seed: int, output: str | Path) -> Path:
    """Make a target and write it to ``output`` as a target artefact (user files recorded as inputs)."""
    from ..io import write_artefact

    start = time.perf_counter()
    target = make_target(spec, seed)
    seconds = time.perf_counter() - start
    samples, holdout = split_holdout(target, seed)
    datasets = {"samples": samples, "samples_holdout": holdout, **target.extra}
    if target.probs is not None:
        datasets["probs"] = np.asarray(target.probs, dtype=np.float64)
    attrs = {"n_qubits": target.n_qubits, "target_kind": spec["kind"], "seconds": seconds, **target.attrs}
    log.info("target %s: %d qubits, %d samples in %.2f s", spec["kind"], target.n_qubits, len(target.samples), seconds)
    inputs = [spec["path"]] if spec["kind"] == "file" else []
    return write_artefact(output, "target", datasets, config=dict(spec), seed=seed, inputs=inputs, attrs=attrs)
