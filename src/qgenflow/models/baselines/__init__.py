"""Classical baseline generative models, trained on a target's samples like any model.

Three families, looked up by the model's ``kind``:

* ``product``: independent bits with the training marginals (closed form);
* ``rbm``: a binary restricted Boltzmann machine (NetKet's ``nk.models.RBM`` as an
  energy model), trained by the exact likelihood gradient when the visible space can
  be enumerated, by persistent contrastive divergence otherwise;
* ``autoregressive``: NetKet's ``ARNNDense`` (masked dense layers, as in MADE),
  trained by maximum likelihood, sampled exactly bit by bit (``ARDirectSampler``).

All of them learn from what the study's ``data_access`` gives them (:class:`LearningData`):
the target's training ``samples`` (the default), or its exact ``probs`` where the
study allows and the target has them (maximum likelihood weighted by p over p's
support: the cross-entropy with p). They report that average negative
log-likelihood in nats as their loss where it is computable, and return a
:class:`~qgenflow.models.result.TrainedModel`; each is a trainer of
:data:`qgenflow.train.TRAINERS`, written like every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ...bits import index_to_bits, unique_counts
from ...errors import InvalidConfigError
from ..result import TargetData, TrainedModel

__all__ = [
    "BaselineResult",
    "LearningData",
    "baseline_samples",
    "learning_data",
    "optimizer_spec",
    "positive_int",
    "probability_data",
    "training_data",
]

#: What a baseline's training returns (see :class:`qgenflow.models.result.TrainedModel`).
BaselineResult = TrainedModel


def baseline_samples(data: TargetData) -> np.ndarray:
    """The target's [N, n] training samples, checked against its width."""
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


def probability_data(probs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The support of exact probabilities ``probs`` (rows with p > 0) and their weights p (summing to 1)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (2**n,):
        raise InvalidConfigError("target", f"probabilities have shape {probs.shape}, expected ({2**n},)")
    support = np.flatnonzero(probs > 0)
    if support.size == 0:
        raise InvalidConfigError("target", "the target's probabilities are all zero")
    weights = probs[support]
    return index_to_bits(support, n), weights / weights.sum()


@dataclass(frozen=True)
class LearningData:
    """What a model learns from: distinct rows and their weights, from training samples or exact probabilities.

    Attributes:
        rows: [R, n] uint8 distinct strings (the samples' distinct rows, or p's support).
        weights: [R] their empirical frequencies, or p; summing to 1.
        samples: the [N, n] training samples, or None when learning from probabilities.
        n_train: training samples the target holds (the pseudocount's scale).
    """

    rows: np.ndarray
    weights: np.ndarray
    samples: np.ndarray | None
    n_train: int

    @property
    def from_probabilities(self) -> bool:
        return self.samples is None

    def marginals(self, pseudocount: float = 0.0) -> np.ndarray:
        """P(bit i = 1), smoothed as if by ``pseudocount`` extra ones and zeros among ``n_train`` samples."""
        if self.samples is not None:
            ones = self.samples.sum(axis=0, dtype=np.float64)
        else:
            ones = self.n_train * (self.weights @ self.rows.astype(np.float64))
        return (ones + pseudocount) / (self.n_train + 2.0 * pseudocount)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` rows drawn with replacement: training samples uniformly, or strings from p."""
        if self.samples is not None:
            return self.samples[rng.integers(0, self.samples.shape[0], size)]
        return self.rows[rng.choice(self.rows.shape[0], size, p=self.weights)]

    def minibatch(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """A minibatch of ``size`` rows: training samples without replacement, or strings drawn from p."""
        if self.samples is not None:
            return self.samples[rng.choice(self.samples.shape[0], size, replace=False)]
        return self.rows[rng.choice(self.rows.shape[0], size, p=self.weights)]


def learning_data(data: TargetData) -> LearningData:
    """The target's exact probabilities when the trainer was given them, else its training samples."""
    samples = baseline_samples(data)
    if data.probs is not None:
        rows, weights = probability_data(data.probs, data.n_qubits)
        return LearningData(rows, weights, None, samples.shape[0])
    rows, weights = training_data(samples)
    return LearningData(rows, weights, samples, samples.shape[0])


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
