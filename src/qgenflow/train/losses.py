"""Training losses of Born machines as functions of the probability vector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InvalidConfigError
from ..kernels import mmd2_exact, mmd2_exact_grad

__all__ = ["MMDLoss", "make_loss"]


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


def make_loss(spec: Mapping[str, Any], target_probs: np.ndarray | None) -> MMDLoss:
    """Build the loss of a model's ``loss`` config entry against a target."""
    kind = spec.get("type", "mmd")
    if kind != "mmd":
        raise InvalidConfigError("loss.type", f"unknown loss {kind!r}; allowed: mmd")
    if target_probs is None:
        raise InvalidConfigError("loss.type", "exact MMD needs a target with exact probabilities")
    return MMDLoss(np.asarray(target_probs, dtype=np.float64), tuple(float(s) for s in spec.get("sigmas", (0.5, 1, 2, 4))))
