"""The deploy stage: sample one trained circuit model on one device and score it (``deploy.h5``).

Writes ``deploy.h5`` (:func:`qgenflow.metrics.deploy.deploy_model`): the circuit as
OpenQASM 2.0 (``/qasm``), the device samples of the largest shot budget (``/samples``,
row ``k`` the ``k``-th shot), the budgets (``/shots``), every sample metric at every
budget (``/metrics/NAME`` with ``/metrics_stderr/NAME``), the model's own evaluation
(``/model_metrics/NAME``, as its metrics.h5 holds it, with ``stderr`` and ``source``
attributes), and for a model with exact probabilities ``/tv_model``, ``/tv_model_floor``
and ``/tv_model_floor_stderr``. Root attributes name the target, model, device and its
noise model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..io import read_artefact, write_artefact
from ..metrics.deploy import deploy_model
from ..schema import with_defaults

__all__ = ["run_deploy"]

log = logging.getLogger(__name__)


def run_deploy(
    target: str | Path,
    model: str | Path,
    spec: Mapping[str, Any],
    output: str | Path,
    seed: int,
    names: Mapping[str, str] | None = None,
) -> Path:
    """Deploy the model of ``model`` (model.h5) on the device of ``spec``; write ``output`` (deploy.h5).

    Args:
        target: the target's ``target.h5`` (the seed the model was trained with).
        model: the model's ``model.h5``.
        spec: the job's slice (:func:`qgenflow.plan.deploy_params`): ``device``, ``label``, ``shots``, ``evaluation``.
        output: path of deploy.h5.
        seed: seeds the device's shots and the metrics' bootstrap (the model's seed).
        names: ``target`` and ``model`` names in the study (default: the artefacts' own).
    """
    names = dict(names or {})
    target_art, model_art = read_artefact(target, kind="target"), read_artefact(model, kind="model")
    evaluation = with_defaults("evaluation", spec.get("evaluation") or {})
    label = str(spec["label"])
    record = deploy_model(model_art, target_art, spec["device"], spec["shots"], evaluation, seed, label)
    datasets: dict[str, Any] = {"qasm": record["qasm"], "samples": record["samples"],
                                "shots": np.asarray(sorted(int(s) for s in spec["shots"]), dtype=np.int64)}
    for name, (values, stderrs) in record["metrics"].items():
        datasets[f"metrics/{name}"], datasets[f"metrics_stderr/{name}"] = values, stderrs
    for key in ("tv_model", "tv_model_floor", "tv_model_floor_stderr"):
        if key in record:
            datasets[key] = record[key]
    dataset_attrs = {}
    for name, metric in record["model_metrics"].items():
        datasets[f"model_metrics/{name}"] = np.float64(metric["value"])
        dataset_attrs[f"model_metrics/{name}"] = {"stderr": metric["stderr"], "source": metric["source"]}
    attrs = {
        "n_qubits": int(model_art.attrs["n_qubits"]),
        "target_name": names.get("target") or str(target_art.attrs.get("target_name", "target")),
        "model_name": names.get("model") or str(model_art.attrs.get("model_name", model_art.attrs.get("model_kind"))),
        "model_kind": str(model_art.attrs.get("model_kind")),
        "device_label": label,
        "device": str(spec["device"].get("name", "lightning.qubit")),
        "noise_model": spec["device"].get("noise_model") or {},
        "n_gates": int(record["n_gates"]),
        "sample_seconds": float(record["seconds"]),
    }
    path = write_artefact(output, "deploy", datasets, config=dict(spec), seed=seed, inputs=[target, model],
                          attrs=attrs, dataset_attrs=dataset_attrs)
    log.info("wrote the deployment of %s on %s to %s", attrs["model_name"], label, path)
    return path
