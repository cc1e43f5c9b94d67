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

__all__ = ["REGISTRY", "Target", "bas_patterns", "make_target", "run_target"]

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


def run_target(spec: Mapping[str, Any], seed: int, output: str | Path) -> Path:
    """Make a target and write it to ``output`` as a target artefact (user files recorded as inputs)."""
    from ..io import write_artefact

    start = time.perf_counter()
    target = make_target(spec, seed)
    seconds = time.perf_counter() - start
    datasets = {"samples": target.samples.astype(np.uint8), **target.extra}
    if target.probs is not None:
        datasets["probs"] = np.asarray(target.probs, dtype=np.float64)
    attrs = {"n_qubits": target.n_qubits, "target_kind": spec["kind"], "seconds": seconds, **target.attrs}
    log.info("target %s: %d qubits, %d samples in %.2f s", spec["kind"], target.n_qubits, len(target.samples), seconds)
    inputs = [spec["path"]] if spec["kind"] == "file" else []
    return write_artefact(output, "target", datasets, config=dict(spec), seed=seed, inputs=inputs, attrs=attrs)
