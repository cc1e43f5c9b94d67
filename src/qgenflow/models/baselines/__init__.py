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
as their loss where it is computable, and return a :class:`BaselineResult` that
:func:`run_baseline` writes with the same model.h5 schema as a QCBM.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ...errors import InvalidConfigError
from ..result import TrainedModel

__all__ = [
    "BASELINES",
    "PROBS_MAX_BITS",
    "BaselineResult",
    "count_params",
    "run_baseline",
    "train_baseline",
]

log = logging.getLogger(__name__)

# Exact model probabilities (and exact sampling from them) are produced up to this many bits.
PROBS_MAX_BITS = 20
DEFAULT_N_SAMPLES = 20000


#: What a baseline's training returns (see :class:`qgenflow.models.result.TrainedModel`).
BaselineResult = TrainedModel


def training_data(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct training rows and their empirical weights (summing to 1)."""
    from ...bits import unique_counts

    samples = np.asarray(samples, dtype=np.uint8)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise InvalidConfigError(
            "target", f"baselines need a non-empty [N, n] sample array, got shape {samples.shape}"
        )
    rows, counts = unique_counts(samples)
    return rows, counts / counts.sum()


def optimizer_spec(spec: Mapping[str, Any], deterministic: bool, why: str) -> dict[str, Any]:
    """The model's ``optimizer`` entry, refusing lbfgs where the loss or gradient is stochastic."""
    opt = dict(spec.get("optimizer", {}) or {})
    if opt.get("name", "adam") == "lbfgs" and not deterministic:
        raise InvalidConfigError(
            "optimizer.name", f"lbfgs needs a deterministic loss and gradient, but {why}; use adam or sgd"
        )
    return opt


def positive_int(spec: Mapping[str, Any], key: str, default: int, minimum: int = 1, prefix: str = "") -> int:
    """``spec[key]`` as an int >= ``minimum``, or ``default`` when absent or null (``prefix`` names the entry)."""
    value = spec.get(key)
    value = default if value is None else int(value)
    if value < minimum:
        raise InvalidConfigError(prefix + key, f"must be >= {minimum}, got {value}")
    return value


# The families import BaselineResult and the helpers above, so they are imported after them.
from . import autoregressive, product, rbm  # noqa: E402

Trainer = Callable[..., BaselineResult]

BASELINES: dict[str, Trainer] = {
    "product": product.train_product,
    "rbm": rbm.train_rbm,
    "autoregressive": autoregressive.train_autoregressive,
}

_COUNTERS: dict[str, Callable[[Mapping[str, Any], int], int]] = {
    "product": product.count_params,
    "rbm": rbm.count_params,
    "autoregressive": autoregressive.count_params,
}


def _check_kind(kind: str) -> None:
    if kind not in BASELINES:
        raise InvalidConfigError("kind", f"unknown baseline kind {kind!r}; allowed: {', '.join(BASELINES)}")


def count_params(kind: str, spec: Mapping[str, Any], n: int) -> int:
    """Free parameters of baseline ``kind`` with config ``spec`` on ``n`` bits (without training it)."""
    _check_kind(kind)
    return _COUNTERS[kind](spec, n)


def train_baseline(kind: str, spec: Mapping[str, Any], target, seed: int, checkpointer=None) -> BaselineResult:
    """Train baseline ``kind`` on the samples of a target artefact.

    Args:
        kind: a key of :data:`BASELINES`.
        spec: the model's config entry.
        target: the target :class:`~qgenflow.io.Artefact` (its ``samples`` are the training data).
        seed: seeds initialisation, minibatches, chains and the final samples.
        checkpointer: a :class:`~qgenflow.fit.checkpoint.Checkpointer` (ignored by ``product``).
    """
    _check_kind(kind)
    samples = np.asarray(target["samples"], dtype=np.uint8)
    n = int(target.attrs["n_qubits"])
    if samples.ndim != 2 or samples.shape[1] != n:
        raise InvalidConfigError("target", f"samples have shape {samples.shape}, expected [N, {n}]")
    log.info("training %s baseline on %d samples of %d bits", kind, samples.shape[0], n)
    return BASELINES[kind](spec, samples, seed, checkpointer)


def run_baseline(
    spec: Mapping[str, Any],
    target_path: str | Path,
    seed: int,
    output: str | Path,
    recorded_spec: Mapping[str, Any] | None = None,
) -> Path:
    """Train the baseline of config entry ``spec`` on a target artefact and write model.h5.

    ``recorded_spec`` is the config slice model.h5 records when it differs from the
    one trained (a baseline sized by ``match_params``); by default ``spec``.
    """
    from ...io import read_artefact
    from ...provenance import sha256_file
    from ...fit.checkpoint import Checkpointer
    from ..result import write_trained_model

    kind = spec.get("kind")
    _check_kind(kind)
    target = read_artefact(target_path, kind="target")
    checkpointer = Checkpointer(
        path=Path(f"{output}.checkpoint"),
        every=int(spec.get("checkpoint_every", 100)),
        identity={"config": dict(spec), "seed": seed, "target": sha256_file(target_path)},
    )
    result = train_baseline(kind, spec, target, seed, checkpointer)
    recorded = spec if recorded_spec is None else recorded_spec
    path = write_trained_model(result, output, recorded, seed, target_path, int(target.attrs["n_qubits"]))
    checkpointer.remove()
    return path
