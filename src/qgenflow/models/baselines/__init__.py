"""Classical baseline generative models, trained on a target's samples like any model.

Three families, looked up by the model's ``kind``:

* ``product``: independent bits with the training marginals (closed form);
* ``rbm``: a binary restricted Boltzmann machine, trained by the exact likelihood
  gradient when the visible space can be enumerated, by persistent contrastive
  divergence otherwise;
* ``autoregressive``: a MADE (masked autoencoder for distribution estimation) in
  flax, trained by maximum likelihood, sampled exactly bit by bit.

All of them train on the target artefact's ``samples`` only (never its exact
``probs``), report the average negative log-likelihood of those samples in nats
as their loss where it is computable, and return a
:class:`~qgenflow.models.result.TrainedModel`; each is a trainer of
:data:`qgenflow.train.TRAINERS`, written like every model.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ...bits import unique_counts
from ...errors import InvalidConfigError
from ..result import TargetData, TrainedModel

__all__ = ["BaselineResult", "baseline_samples", "optimizer_spec", "positive_int", "training_data"]

#: What a baseline's training returns (see :class:`qgenflow.models.result.TrainedModel`).
BaselineResult = TrainedModel


def baseline_samples(data: TargetData) -> np.ndarray:
    """The target's [N, n] training samples, the only data a baseline sees."""
    samples = np.asarray(data.samples, dtype=np.uint8)
    if samples.ndim != 2 or samples.shape[1] != data.n_qubits:
        raise InvalidConfigError("target", f"samples have shape {samples.shape}, expected [N, {data.n_qubits}]")
    return samples


def training_data(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct training rows and their empirical weights (summing to 1)."""
    samples = np.asarray(samples, dtype=np.uint8)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise InvalidConfigError(
            "target", f"baselines need a non-empty [N, n] sample array, got shape {samples.shape}"
        )
    rows, counts = unique_counts(samples)
    return rows, counts / counts.sum()


def optimizer_spec(spec: Mapping[str, Any], deterministic: bool, why: str) -> dict[str, Any]:
    """The model's ``optimizer`` entry, refusing lbfgs where the loss or gradient is stochastic."""
    opt = dict(spec["optimizer"])
    if opt["name"] == "lbfgs" and not deterministic:
        raise InvalidConfigError(
            "optimizer.name", f"lbfgs needs a deterministic loss and gradient, but {why}; use adam or sgd"
        )
    return opt


def positive_int(spec: Mapping[str, Any], key: str, minimum: int = 1, prefix: str = "") -> int:
    """``spec[key]`` (the schema fills in every default) as an int >= ``minimum``; ``prefix`` names the entry."""
    value = int(spec[key])
    if value < minimum:
        raise InvalidConfigError(prefix + key, f"must be >= {minimum}, got {value}")
    return value
