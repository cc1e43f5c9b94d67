"""The target stage: make a target distribution and write target.h5."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..io import write_artefact
from ..schema import with_defaults
from ..targets import data_files, make_target, split_target

__all__ = ["run_target"]

log = logging.getLogger(__name__)


def run_target(spec: Mapping[str, Any], seed: int, output: str | Path) -> Path:
    """Make a target and write it to ``output`` as a target artefact (user files recorded as inputs).

    The artefact holds disjoint ``/samples`` (train), ``/samples_validation`` and
    ``/samples_test`` (see :mod:`qgenflow.targets.splits`), their sizes and method as
    root attributes, and for row splits each split's row indices under ``/split``.
    """
    spec = with_defaults("targets", spec)
    start = time.perf_counter()
    target = make_target(spec, seed)
    seconds = time.perf_counter() - start
    splits = split_target(target, spec, seed)
    datasets = {
        "samples": splits.samples["train"],
        "samples_validation": splits.samples["validation"],
        "samples_test": splits.samples["test"],
        **{f"split/{split}_rows": rows for split, rows in splits.rows.items()},
        **target.extra,
    }
    if target.probs is not None:
        datasets["probs"] = np.asarray(target.probs, dtype=np.float64)
    attrs = {
        "n_qubits": target.n_qubits,
        "target_kind": spec["kind"],
        "seconds": seconds,
        **target.attrs,
        **splits.attrs,
    }
    log.info(
        "target %s: %d qubits, %d train / %d validation / %d test samples (%s) in %.2f s",
        spec["kind"], target.n_qubits, splits.attrs["n_train"], splits.attrs["n_validation"],
        splits.attrs["n_test"], splits.attrs["split_method"], seconds,
    )
    return write_artefact(output, "target", datasets, config=dict(spec), seed=seed, inputs=data_files(spec), attrs=attrs,
                          dataset_attrs=target.dataset_attrs)
