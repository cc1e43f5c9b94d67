"""Training losses of Born machines as functions of the probability vector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InvalidConfigError
from ..kernels import mmd2_exact, mmd2_exact_grad

__all__ = ["KLLoss", "LOSSES", "MMDLoss", "make_loss"]


@dataclass(frozen=True)
class MMDLoss:
    """Squared MMD to a fixed target under a mixture of Gaussian kernels on Hamming distance."""

    target_probs: np.ndarray
    sigmas: Sequence[float]

    def value(self, p: np.ndarray) -> float:
        return mmd2_exact(p, self.target_probs, self.sigmas)

    def grad_probs(self, p: np.ndarray) -> np.ndarray:
        """dL/dp, to be used as a diagonal observable."""
        return mmd2_exact_grad(p, self.target_probs, self.sigmas)


@dataclass(frozen=True)
class KLLoss:
    """KL(target || model) = sum_x q(x) log(q(x) / p(x)): the negative log-likelihood up to a constant.

    ``eps`` floors the model probability so the loss stays finite when the model
    puts no mass on a target bitstring.
    """

    target_probs: np.ndarray
    eps: float = 1e-12

    @property
    def sigmas(self) -> tuple[float, ...]:
        return (0.5, 1.0, 2.0, 4.0)  # kernels used to report shot-based progress

    def value(self, p: np.ndarray) -> float:
        q = self.target_probs
        s = q > 0
        return float(np.sum(q[s] * (np.log(q[s]) - np.log(np.maximum(p[s], self.eps)))))

    def grad_probs(self, p: np.ndarray) -> np.ndarray:
        """dL/dp = -q / p on the target's support."""
        return -self.target_probs / np.maximum(p, self.eps)


LOSSES = ("mmd", "kl")


def make_loss(spec: Mapping[str, Any], target_probs: np.ndarray | None) -> MMDLoss | KLLoss:
    """Build the loss of a model's ``loss`` config entry against a target's probabilities."""
    kind = spec["type"]
    if kind not in LOSSES:
        raise InvalidConfigError("loss.type", f"unknown loss {kind!r}; allowed: {', '.join(LOSSES)}")
    if target_probs is None:
        raise InvalidConfigError("loss.type", f"the {kind} loss needs the target's probabilities")
    q = np.asarray(target_probs, dtype=np.float64)
    if kind == "kl":
        return KLLoss(q)
    return MMDLoss(q, tuple(float(s) for s in spec["sigmas"]))
