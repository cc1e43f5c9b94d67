"""The target stage: make a target distribution and write target.h5."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..io import write_artefact
from ..schema import with_defaults
from ..targets import make_target, split_holdout

__all__ = ["run_target"]

log = logging.getLogger(__name__)


def run_target(spec: Mapping[str, Any], seed: int, output: str | Path) -> Path:
    """Make a target and write it to ``output`` as a target artefact (user files recorded as inputs)."""
    spec = with_defaults("targets", spec)
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
