"""Product baseline: independent bits with the marginals of the training data.

The maximum-likelihood product distribution is closed form: p(x) = prod_i m_i^x_i (1 - m_i)^(1 - x_i)
with m_i the training frequency of bit i = 1, or, learning from exact probabilities, the
exact marginal P(x_i = 1). An optional additive ``pseudocount`` keeps bits that never
(or always) fire in training from getting zero probability.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from ...errors import InvalidConfigError
from ...rng import make_rng
from ...limits import MAX_DENSE_QUBITS as PROBS_MAX_BITS
from ..result import TargetData
from . import BaselineResult, learning_data, positive_int

__all__ = ["count_params", "fit_marginals", "product_log_probs", "product_probs", "train_product"]


def count_params(spec: Mapping[str, Any], n: int) -> int:
    """One marginal per bit."""
    return int(n)


def fit_marginals(samples: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """P(bit i = 1) for every bit: (ones_i + c) / (N + 2c)."""
    samples = np.asarray(samples, dtype=np.float64)
    return (samples.sum(axis=0) + pseudocount) / (samples.shape[0] + 2.0 * pseudocount)


def product_log_probs(marginals: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """log p(x) of each row of ``samples`` under independent bits with P(1) = ``marginals``."""
    x = np.asarray(samples, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log1, log0 = np.log(marginals), np.log1p(-marginals)
    # 0 * log 0 counts as 0: a bit that never fires costs nothing where it is 0.
    terms = np.where(x == 1, log1, 0.0) + np.where(x == 0, log0, 0.0)
    return terms.sum(axis=1)


def product_probs(marginals: np.ndarray) -> np.ndarray:
    """Big-endian probability vector: the Kronecker product of the per-bit [1 - m_i, m_i]."""
    probs = np.ones(1)
    for m in np.asarray(marginals, dtype=np.float64):
        probs = np.kron(probs, np.array([1.0 - m, m]))  # earlier bits are more significant
    return probs


def train_product(spec: Mapping[str, Any], data: TargetData, seed: int, checkpointer=None) -> BaselineResult:
    """Fit the product baseline (closed form; ``checkpointer`` is unused).

    The loss is the average NLL of the training samples (their distinct rows weighted by
    frequency), or the cross-entropy with the exact probabilities when learning from them.
    """
    learn = learning_data(data)
    start = time.perf_counter()
    n = learn.rows.shape[1]
    pseudocount = float(spec["pseudocount"])
    if pseudocount < 0:
        raise InvalidConfigError("pseudocount", f"must be >= 0, got {pseudocount}")
    marginals = learn.marginals(pseudocount)
    nll = float(-learn.weights @ product_log_probs(marginals, learn.rows))
    n_samples = positive_int(spec, "n_samples")
    rng = make_rng(seed, "model_sample")
    model_samples = (rng.random((n_samples, n)) < marginals).astype(np.uint8)
    probs = product_probs(marginals) if n <= PROBS_MAX_BITS else None
    seconds = time.perf_counter() - start
    return BaselineResult(
        params={"marginals": marginals},
        history={"step": np.zeros(1, dtype=np.int64), "loss": np.array([nll])},
        probs=probs,
        samples=model_samples,
        n_params=count_params(spec, n),
        seconds=seconds,
        seconds_per_step=seconds,
        attrs={"loss_definition": "nll", "sampler": "exact", "train_nll": nll, "stopped_early": 0},
    )
