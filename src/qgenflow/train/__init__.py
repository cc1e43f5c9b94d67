"""The trainer registry: every model kind trains through one signature.

``train(spec, data, seed, checkpointer) -> TrainedModel``: ``spec`` is the model's
config entry (completed with the schema's defaults), ``data`` the target
(:class:`~qgenflow.models.result.TargetData`), ``seed`` seeds initialisation,
minibatches, shot noise and the final samples, and ``checkpointer`` saves and resumes
the one fit loop (:func:`qgenflow.fit.loop.fit`). :func:`train` hands every trainer
only the view of the target that the study's ``data_access`` allows
(:func:`training_view`), so no trainer can use what it was not given; the training
stage (:func:`qgenflow.stages.run_training`) writes every result with one writer.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import InvalidConfigError
from ..fit.checkpoint import Checkpointer
from ..models.ansatz import make_ansatz
from ..models.result import TargetData, TrainedModel, target_data, withheld
from ..schema import load_schema, with_defaults

__all__ = [
    "LEARNS_FROM",
    "PARAMETER_COUNTS",
    "TRAINERS",
    "Trainer",
    "count_params",
    "load",
    "match_parameter_count",
    "train",
    "trainer_name",
    "training_view",
]

log = logging.getLogger(__name__)

Trainer = Callable[[Mapping[str, Any], TargetData, int, "Checkpointer | None"], TrainedModel]

#: One trainer per model kind (QGANs and QCBMs by flavour and training method), as
#: ``module:function``. A job imports only its own trainer's module (:func:`load`): the
#: circuit trainers pull in PennyLane (~3 s), which a classical baseline's job never needs.
TRAINERS: dict[str, str] = {
    "qcbm": "qgenflow.train.qcbm:train_qcbm",
    "qcbm/estimator": "qgenflow.train.qcbm:train_iqp_estimator_model",
    "clifford": "qgenflow.train.clifford:train_clifford",
    "mps_qcbm": "qgenflow.train.mps:train_mps_qcbm",
    "qgan/classical_discriminator": "qgenflow.models.qgan.classical:train_classical_discriminator",
    "qgan/quantum_discriminator": "qgenflow.models.qgan.quantum:train_quantum_discriminator",
    "qgan/state_preparation": "qgenflow.models.qgan.state_prep:train_state_preparation",
    "product": "qgenflow.models.baselines.product:train_product",
    "rbm": "qgenflow.models.baselines.rbm:train_rbm",
    "autoregressive": "qgenflow.models.baselines.autoregressive:train_autoregressive",
    "transformer": "qgenflow.models.baselines.transformer:train_transformer",
    "gan": "qgenflow.models.baselines.gan:train_gan",
}

#: What each trainer can learn from, best first (see :data:`qgenflow.models.result.DATA_ACCESS`).
#: The IQP Z-string estimator compares Z-string expectations of the model with those of the
#: training samples; the quantum-data QGANs prepare the target's state vector itself; the Clifford Born
#: machine's discrete search compares its shots with the training samples; the MPS Born machine's
#: Z-string MMD compares its exact Z-string expectations with those of the training samples.
LEARNS_FROM: dict[str, tuple[str, ...]] = {
    "qcbm": ("probabilities", "samples"),
    "qcbm/estimator": ("samples",),
    "clifford": ("samples",),
    "mps_qcbm": ("samples",),
    "qgan/classical_discriminator": ("probabilities", "samples"),
    "qgan/quantum_discriminator": ("state",),
    "qgan/state_preparation": ("state",),
    "transformer": ("probabilities", "samples"),
    "gan": ("probabilities", "samples"),
    "product": ("probabilities", "samples"),
    "rbm": ("probabilities", "samples"),
    "autoregressive": ("probabilities", "samples"),
}

#: Per baseline kind: its free-parameter count for a config entry on n bits (without training
#: it), as ``module:function`` (see :func:`load`).
PARAMETER_COUNTS: dict[str, str] = {
    "product": "qgenflow.models.baselines.product:count_params",
    "rbm": "qgenflow.models.baselines.rbm:count_params",
    "autoregressive": "qgenflow.models.baselines.autoregressive:count_params",
    "transformer": "qgenflow.models.baselines.transformer:count_params",
    "gan": "qgenflow.models.baselines.gan:count_params",
}


def load(entry: str) -> Callable[..., Any]:
    """The function a registry entry ``module:function`` names, importing its module on first use."""
    module, function = entry.split(":")
    return getattr(importlib.import_module(module), function)  # heavy: only this job's model is imported


def trainer_name(spec: Mapping[str, Any]) -> str:
    """The :data:`TRAINERS` key of a completed model entry (its kind, refined by QGAN flavour or QCBM method)."""
    kind = spec.get("kind")
    if kind == "qgan":
        name = f"qgan/{spec['flavor']}"
    elif kind == "qcbm" and spec["training"]["method"] == "estimator":
        name = "qcbm/estimator"
    else:
        name = str(kind)
    if name not in TRAINERS:
        kinds = sorted({k.split("/")[0] for k in TRAINERS})
        key, allowed = ("flavor", list(TRAINERS)) if kind == "qgan" else ("kind", kinds)
        raise InvalidConfigError(key, f"unknown model {name!r}; allowed: {', '.join(allowed)}")
    return name


def training_view(spec: Mapping[str, Any], target: Any, data_access: str) -> tuple[TargetData, str]:
    """The target as the model of ``spec`` may see it under the study's ``data_access``, and what it learns from.

    ``samples``: every model learns from the training samples only; a model that cannot
    (the quantum-data QGANs) is refused. ``probabilities``: a model learns from the best
    of :data:`LEARNS_FROM` the target holds (its exact probabilities, or its state for
    the quantum-data QGANs), else from the training samples.

    Returns:
        ``(view, learned)``: the :func:`~qgenflow.models.result.withheld` view and
        ``samples``, ``probabilities`` or ``state``.
    """
    spec = with_defaults("models", spec)
    name = trainer_name(spec)
    data = target_data(target)
    options = LEARNS_FROM[name]
    if data_access == "samples":
        if "samples" not in options:
            raise InvalidConfigError(
                "data_access", f"model kind {name} learns from the target's {options[0]}, which data_access: samples "
                "withholds; set data_access: probabilities at the top level of the config, or drop the model",
            )
        return withheld(data, "samples"), "samples"
    if data_access != "probabilities":
        raise InvalidConfigError("data_access", f"unknown value {data_access!r}; allowed: samples, probabilities")
    held = {"samples": True, "probabilities": data.probs is not None, "state": data.state is not None}
    learned = next((option for option in options if held[option]), options[0])  # else the trainer says what is missing
    if learned != options[0]:
        log.info("%s: the target has no %s; learning from its %s", name, options[0], learned)
    return withheld(data, learned), learned


def train(spec: Mapping[str, Any], target: Any, seed: int, checkpointer: Checkpointer | None = None) -> TrainedModel:
    """Train the model of config entry ``spec`` on ``target`` (an artefact, a Target or TargetData).

    The trainer sees only the :func:`training_view` of the target that ``spec["data_access"]``
    allows (the study-level setting, which the workflow puts in every training job's
    slice; default: the schema's, ``samples``). The result's attributes record what the
    model learned from (``data_access``) and the training samples the target holds
    (``n_train_samples``).
    """
    spec = with_defaults("models", spec)
    access = spec.get("data_access", load_schema()["properties"]["data_access"]["default"])
    data, learned = training_view(spec, target, access)
    result = load(TRAINERS[trainer_name(spec)])(spec, data, int(seed), checkpointer)
    result.attrs.update(data_access=learned, n_train_samples=int(np.shape(data.samples)[0]))
    return result


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """Free parameters of a classical baseline's config entry on ``n`` bits."""
    spec = with_defaults("models", spec)
    if spec["kind"] not in PARAMETER_COUNTS:
        raise InvalidConfigError("kind", f"{spec['kind']!r} is not a baseline; allowed: {', '.join(PARAMETER_COUNTS)}")
    return load(PARAMETER_COUNTS[spec["kind"]])(spec, n)


def match_parameter_count(spec: Mapping[str, Any], target: Any) -> dict[str, Any]:
    """Size a classical baseline to the parameter count of the quantum model it is matched to.

    ``spec["match_params"]`` holds the matched model's name and ``spec["match_params_spec"]``
    its config entry (filled in by the workflow). RBMs get the hidden-unit count and MADEs
    the hidden width whose parameter count comes closest; a product model has n
    parameters whatever the budget.
    """
    other = spec.get("match_params_spec")
    if not other:
        raise InvalidConfigError("match_params", f"no config entry for model {spec['match_params']!r} was passed")
    if other.get("kind") != "qcbm":
        raise InvalidConfigError("match_params", f"can only match a qcbm model, {spec['match_params']!r} is {other.get('kind')}")
    data = target_data(target)
    n = data.n_qubits
    other = with_defaults("models", other)
    budget = make_ansatz(other["ansatz"], n, int(other["layers"]), other.get("ansatz_options", {}), target=data.source).n_params
    out = with_defaults("models", {k: v for k, v in spec.items() if k != "match_params_spec"})
    kind = out["kind"]
    size_key = {"rbm": "n_hidden", "autoregressive": "hidden"}.get(kind)
    if size_key is None:
        log.warning("a %s baseline has a fixed size; match_params ignored", kind)
    else:
        counter = load(PARAMETER_COUNTS[kind])
        out[size_key] = min(range(1, 4097), key=lambda h: abs(counter({**out, size_key: h}, n) - budget))
    log.info("matched %s to %d parameters of %s: %d parameters", kind, budget, spec["match_params"], count_params(out, n))
    return out
