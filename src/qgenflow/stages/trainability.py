"""The trainability stage: gradient variance and shot noise of every QCBM of one target.

Writes ``trainability.h5``: per model, the variance over random initialisations of its
loss gradient on a grid of qubit and layer counts (the first and middle parameter and
the mean over parameters), the raw gradients, the fitted exponential decay with the qubit
count (dataset attributes ``slope_log2`` of ``var_mean`` and ``var_first``, one per layer
count), and the shot noise of its loss against the shot budget; every point that could not
be computed, with its reason (root attribute ``skipped_json``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..io import read_artefact, write_artefact
from ..metrics.trainability import COST, diagnose_model
from ..schema import load_schema, with_defaults
from ..train import training_view

__all__ = ["run_trainability"]

log = logging.getLogger(__name__)


def run_trainability(
    target: str | Path, spec: Mapping[str, Any], output: str | Path, seed: int, name: str | None = None
) -> Path:
    """Diagnose the trainability of every QCBM of one target; write ``output`` (trainability.h5).

    Args:
        target: the target's ``target.h5`` (its first seed).
        spec: ``models`` (each QCBM's training slice, by name, ``data_access`` included) and
            ``trainability`` (the study's section).
        output: path of trainability.h5.
        seed: seeds the initialisations and the shots (the study's first seed).
        name: the target's name in the study (default: the artefact's).
    """
    art = read_artefact(target, kind="target")
    settings = with_defaults("trainability", spec["trainability"])
    default_access = load_schema()["properties"]["data_access"]["default"]
    datasets, dataset_attrs, skipped, summary = {}, {}, [], {}
    for label, entry in spec["models"].items():
        entry = with_defaults("models", entry)
        data, learned = training_view(entry, art, entry.get("data_access", default_access))
        found, fits, missed = diagnose_model(entry, data, settings, seed)
        prefix = f"models/{label}"
        datasets.update({f"{prefix}/{key}": value for key, value in found.items()})
        dataset_attrs[f"{prefix}/var_mean"] = {"slope_log2": fits["slope_mean"], "intercept_log2": fits["intercept_mean"]}
        dataset_attrs[f"{prefix}/var_first"] = {"slope_log2": fits["slope_first"]}
        skipped += [{"model": label, **entry_skipped} for entry_skipped in missed]
        summary[label] = {"ansatz": entry["ansatz"], "loss": entry["loss"]["type"], "data_access": learned,
                          "methods": fits["methods"], "slope_log2_by_layers": dict(zip(map(str, found["layers"].tolist()),
                                                                                        fits["slope_mean"]))}
        log.info("%s: fitted log2 Var slope per qubit, by layers: %s", label, summary[label]["slope_log2_by_layers"])
    attrs = {
        "n_qubits": int(art.attrs["n_qubits"]),
        "target_name": name or str(art.attrs.get("target_name", art.attrs.get("target_kind", "target"))),
        "models_json": list(spec["models"]),
        "summary_json": summary,
        "skipped_json": skipped,
        "cost": COST,
    }
    return write_artefact(output, "trainability", datasets, config=dict(spec), seed=seed, inputs=[target],
                          attrs=attrs, dataset_attrs=dataset_attrs)
