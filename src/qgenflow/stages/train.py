"""The training stage: read target.h5, train the configured model, write model.h5."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any, Mapping

from ..fit.checkpoint import Checkpointer
from ..io import read_artefact, write_artefact
from ..models.result import TrainedModel, target_data
from ..provenance import sha256_file
from ..schema import with_defaults
from ..train import match_parameter_count, train, trainer_name

__all__ = ["run_training", "write_trained_model"]


def run_training(spec: Mapping[str, Any], target_path: str | Path, seed: int, output: str | Path) -> Path:
    """Train the model of config entry ``spec`` on the target artefact and write model.h5.

    model.h5 records the job's own config slice; a baseline sized by ``match_params``
    trains at the matched size, which its ``n_params`` shows. A checkpoint beside
    ``output`` resumes a killed run and is removed once model.h5 is written. The slice
    carries the study-level ``data_access`` (:func:`qgenflow.plan.model_params`), which
    decides what the trainer sees (:func:`qgenflow.train.train`).
    """
    complete = with_defaults("models", spec)
    name = trainer_name(complete)  # an unknown kind fails before the target is read
    target = read_artefact(target_path, kind="target")
    trained_spec = match_parameter_count(complete, target) if complete.get("match_params") else complete
    checkpointer = Checkpointer(
        path=Path(f"{output}.checkpoint"),
        every=int(complete.get("checkpoint_every") or 0),  # kinds without the key (product) never checkpoint
        identity={"config": dict(spec), "seed": seed, "target": sha256_file(target_path)},
    )
    result = train(trained_spec, target_data(target), seed, checkpointer)
    attrs = {"flavor": complete["flavor"]} if name.startswith("qgan/") else {}
    path = write_trained_model(result, output, spec, seed, target_path, int(target.attrs["n_qubits"]), attrs)
    checkpointer.remove()
    return path


def write_trained_model(
    result: TrainedModel,
    output: str | Path,
    spec: Mapping[str, Any],
    seed: int,
    target_path: str | Path,
    n_qubits: int,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``result`` as model.h5: the common summary attributes, then ``attrs``, then the result's own."""
    root = {
        "n_qubits": int(n_qubits),
        "model_kind": spec.get("kind"),
        "n_params": int(result.n_params),
        "train_seconds": float(result.seconds),
        "seconds_per_step": float(result.seconds_per_step),
        "final_loss": float(result.history["loss"][-1]),
        "steps_done": int(result.history["step"][-1]),
        # The classical cost of what was done: the training process's peak resident memory (Linux: KiB).
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        **dict(attrs or {}),
        **result.attrs,
    }
    return write_artefact(
        output, "model", result.datasets(), config=dict(spec), seed=seed, inputs=[target_path], attrs=root
    )
