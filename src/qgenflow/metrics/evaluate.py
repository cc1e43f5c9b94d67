"""Evaluate a trained model against its target: exact metrics and sample-based estimates.

Every metric is a dict ``{"value": float, "stderr": float, "source": "exact" | "samples"}``;
``stderr`` is NaN for exact metrics. Metric names:

* both artefacts hold ``/probs``: ``mmd2_exact`` (mixture over all ``sigmas``),
  ``mmd2_exact_sigma{s:g}`` per bandwidth, ``kl_exact`` (KL(target || model), model
  floored at 1e-12), ``tv_exact``, ``fidelity_exact``;
* always (model samples vs the target's test split ``/samples_test``, never the samples
  models trained on; tuning scores on ``/samples_validation`` instead): ``mmd2_samples``,
  ``mmd2_samples_sigma{s:g}`` (unbiased U-statistics) and ``tv_samples``, each with a
  bootstrap error that resamples both sides;
* ``mmd2_samples_validation`` (written by the evaluate stage, :func:`selection_score`): the squared
  MMD of the same model samples against the validation split, no error; the verdict selects
  each side's model by it and reports it as no metric;
* the target holds ``/probs``: ``xeb`` (linear cross-entropy 2^n <q(x)> - 1 over model
  samples), ``coverage`` (share of the target's support the model samples hit),
  ``unseen_valid_rate`` (share of model samples that are valid but absent from the
  target's training samples: generalisation), ``valid_rate`` (share of model samples the target gives
  non-zero probability, binomial error) and ``kl_samples``: KL(target || model
  histogram with a pseudo-count of 0.5 added to each of the ``2^n`` bitstrings),
  bootstrap error over model samples. The smoothing keeps it finite; it is biased
  upwards when ``2^n`` is not small against the number of model samples, so compare
  ``kl_samples`` only between runs with the same ``n_samples``;
* spin targets (Heisenberg, TFIM): ``zz_error`` (mean absolute error of the off-diagonal
  ZZ correlations), ``staggered_structure_factor`` and ``structure_factor_error``, and for
  Heisenberg targets (J2 = 0) with exact model probabilities ``energy_marshall``, the energy
  of the Marshall-signed state sign(s) sqrt(p(s)), with ``energy_relative_error``;
* molecule targets (root attribute ``particle_number``): ``particle_number_mass``, the model's
  probability (exact) or share of samples (binomial error) with the target's particle number,
  i.e. Hamming weight under Jordan-Wigner: the validity of a generated occupation pattern.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..bits import bits_to_index, unique_counts
from ..catalog import DATA_REFERENCE, REFERENCES, UNIFORM_REFERENCE
from ..errors import ArtefactError, InvalidConfigError
from ..io import Artefact
from ..kernels import DENSE_MAX_BITS
from ..rng import make_rng
from ..schema import with_defaults
from ..targets.molecule import particle_number_mass
from ..targets.spin import marshall_energy, spin_observables
from .bootstrap import bootstrap
from .distances import (
    classical_fidelity,
    kl_divergence,
    kl_smoothed_from_counts,
    mmd2_from_counts,
    mmd2_probs,
    pool_rows,
    total_variation,
    tv_from_counts,
)

__all__ = [
    "KL_PSEUDO_COUNT",
    "REFERENCES",
    "SELECTION_METRIC",
    "TEST_SPLIT",
    "VALIDATION_SPLIT",
    "evaluate",
    "marshall_energy",
    "reference_model",
    "selection_score",
]

log = logging.getLogger(__name__)

#: The target split every reported sample metric is computed against.
TEST_SPLIT = "samples_test"
#: The target split tuning scores trials on (model selection), never the test split.
VALIDATION_SPLIT = "samples_validation"
#: The validation score each side's model is selected by in the verdict (:func:`selection_score`).
SELECTION_METRIC = "mmd2_samples_validation"
#: Pseudo-count added to every bitstring of the model histogram in ``kl_samples``.
KL_PSEUDO_COUNT = 0.5
#: Bootstrap replicates when the spec gives no ``n_bootstrap``.
# Root attributes copied from the model / target artefact into metrics.h5 when present.


def _metric(value: float, stderr: float = math.nan, source: str = "samples") -> dict[str, Any]:
    return {"value": float(value), "stderr": float(stderr), "source": source}


def _n_qubits(art: Artefact) -> int:
    if "n_qubits" not in art.attrs:
        raise ArtefactError(f"{art.path}: {art.kind} artefact has no 'n_qubits' attribute")
    return int(art.attrs["n_qubits"])


def _check_pair(target: Artefact, model: Artefact, split: str = TEST_SPLIT) -> int:
    """The common bit count of target and model, after checking their datasets (and ``split``) agree with it."""
    n_t, n_m = _n_qubits(target), _n_qubits(model)
    if n_t != n_m:
        raise ArtefactError(
            f"target {target.path} has n_qubits={n_t} but model {model.path} has n_qubits={n_m}: "
            "evaluate a model against the target it was trained on"
        )
    if split not in target:
        raise ArtefactError(f"{target.path}: no /{split}; regenerate the target with this qgenflow")
    for art, name in ((target, "samples"), (target, split), (model, "samples")):
        samples = np.asarray(art[name])
        if samples.ndim != 2 or samples.shape[1] != n_t:
            raise ArtefactError(f"{art.path}: /{name} has shape {samples.shape}, expected [N, {n_t}]")
        if "probs" in art and np.size(art["probs"]) != 2**n_t:
            raise ArtefactError(
                f"{art.path}: /probs has length {np.size(art['probs'])}, expected 2^{n_t} = {2**n_t}"
            )
    return n_t


def _spec_values(spec: Mapping[str, Any]) -> tuple[list[float], int | None, int]:
    spec = with_defaults("evaluation", spec)
    sigmas = spec["sigmas"]
    if not sigmas:
        raise InvalidConfigError("evaluation.sigmas", "give at least one kernel bandwidth")
    sigmas = [float(s) for s in sigmas]
    if any(s <= 0 for s in sigmas):
        raise InvalidConfigError("evaluation.sigmas", f"bandwidths must be > 0, got {sigmas}")
    n_samples = spec["n_samples"]
    if n_samples is not None and int(n_samples) < 2:
        raise InvalidConfigError("evaluation.n_samples", f"must be >= 2, got {n_samples}")
    n_boot = int(spec["n_bootstrap"])
    if n_boot == 1 or n_boot < 0:
        raise InvalidConfigError("evaluation.n_bootstrap", f"must be 0 (no errors) or >= 2, got {n_boot}")
    return sigmas, None if n_samples is None else int(n_samples), n_boot


def _samples(art: Artefact, n_samples: int | None, name: str = "samples") -> np.ndarray:
    samples = np.asarray(art[name], dtype=np.uint8)
    if n_samples is not None:
        samples = samples[:n_samples]
    if samples.shape[0] < 2:
        raise ArtefactError(f"{art.path}: needs at least 2 samples for evaluation, has {samples.shape[0]}")
    return samples


def _exact_metrics(p_t: np.ndarray, p_m: np.ndarray, sigmas: list[float]) -> dict[str, dict[str, Any]]:
    out = {"mmd2_exact": _metric(mmd2_probs(p_t, p_m, sigmas), source="exact")}
    for sigma in sigmas:
        out[f"mmd2_exact_sigma{sigma:g}"] = _metric(mmd2_probs(p_t, p_m, [sigma]), source="exact")
    out["kl_exact"] = _metric(kl_divergence(p_t, p_m), source="exact")
    out["tv_exact"] = _metric(total_variation(p_t, p_m), source="exact")
    out["fidelity_exact"] = _metric(classical_fidelity(p_t, p_m), source="exact")
    return out


def evaluate(
    target: Artefact, model: Artefact, spec: Mapping[str, Any], seed: int, split: str = TEST_SPLIT
) -> dict[str, dict[str, Any]]:
    """All metrics of ``model`` against ``target`` (see the module docstring for names).

    Args:
        target: a target artefact (``/samples`` for training, ``/samples_test``, optionally ``/probs``).
        model: a model artefact (``/samples``, optionally ``/probs``).
        spec: ``sigmas`` (kernel bandwidths), ``n_samples`` (use the first
            ``min(n_samples, available)`` model and test samples; all if absent) and
            ``n_bootstrap`` (replicates; 0 leaves sample errors NaN).
        seed: seeds the bootstrap through the ``evaluation`` stream of :func:`qgenflow.rng.make_rng`.
        split: the target's held-out samples the sample metrics compare with: :data:`TEST_SPLIT`
            (every reported metric) or :data:`VALIDATION_SPLIT` (tuning's model selection).

    Returns:
        ``{name: {"value", "stderr", "source"}}``; identical for identical inputs and seed.

    Raises:
        ArtefactError: the two artefacts do not describe the same number of qubits,
            or a dataset has the wrong shape.
    """
    if "samples" not in model:
        # A model too large to sample classically (e.g. a 1000-qubit IQP circuit without a
        # device): only its training estimate of the squared MMD is known.
        log.warning("%s has no samples (%s): reporting its estimator loss only", model.path,
                    model.attrs.get("sampling_note", "not sampled"))
        return {"mmd2_estimator": _metric(float(model.attrs["final_loss"]), source="estimator")}
    n = _check_pair(target, model, split)
    sigmas, n_samples, n_boot = _spec_values(spec)
    rng = make_rng(seed, "evaluation")
    p_t, p_m = target.get("probs"), model.get("probs")
    for art, p in ((target, p_t), (model, p_m)):
        if p is not None and abs(float(np.sum(p)) - 1.0) > 1e-6:
            log.warning("%s: /probs sums to %.9g, not 1", art.path, float(np.sum(p)))

    metrics: dict[str, dict[str, Any]] = {}
    if p_t is not None and p_m is not None:
        metrics.update(_exact_metrics(p_t, p_m, sigmas))

    x = _samples(model, n_samples)
    y = _samples(target, n_samples, split)
    x_rows, x_counts = unique_counts(x)
    y_rows, y_counts = unique_counts(y)
    log.info(
        "evaluating %d model vs %d target %s samples of %d bits (%d / %d distinct), %d bootstrap replicates",
        x.shape[0],
        y.shape[0],
        split.removeprefix("samples_"),
        n,
        x_rows.shape[0],
        y_rows.shape[0],
        n_boot,
    )
    metrics.update(_sample_metrics(x_rows, x_counts, y_rows, y_counts, sigmas, n_boot, rng))
    if p_t is not None:
        p_t = np.asarray(p_t, dtype=np.float64)
        metrics.update(_target_probs_metrics(p_t, n, x_rows, x_counts, n_boot, rng))
        train_rows = unique_counts(np.asarray(target["samples"], dtype=np.uint8))[0]
        metrics.update(_validity_metrics(p_t, x_rows, x_counts, train_rows, n_boot, rng))
    metrics.update(_spin_metrics(target, model, x))
    metrics.update(_particle_number_metrics(target, model, x))
    return metrics


def selection_score(target: Artefact, model: Artefact, spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """:data:`SELECTION_METRIC`: the squared MMD (mixture of ``spec``'s bandwidths) of the model's
    samples against the target's validation split, without bootstrap; None for a model without samples
    or a target without a validation split (the verdict then says it selected on the test split).

    The verdict picks each side's model by it, so the test split only scores the chosen pair
    (a model picked as the best on the test split would carry that split's noise as a bias).
    """
    if "samples" not in model or VALIDATION_SPLIT not in target:
        return None
    _check_pair(target, model, VALIDATION_SPLIT)
    sigmas, n_samples, _ = _spec_values(spec)
    x_rows, x_counts = unique_counts(_samples(model, n_samples))
    y_rows, y_counts = unique_counts(_samples(target, n_samples, VALIDATION_SPLIT))
    return _metric(float(np.mean(mmd2_from_counts(x_rows, x_counts, y_rows, y_counts, sigmas, per_sigma=True))))


def _sample_metrics(
    x_rows: np.ndarray,
    x_counts: np.ndarray,
    y_rows: np.ndarray,
    y_counts: np.ndarray,
    sigmas: list[float],
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, dict[str, Any]]:
    """Squared MMD (mixture and per bandwidth) and total variation between model and target test samples."""

    # Squared MMD: per-bandwidth U-statistics, then their mean (the mixture kernel).
    def mmd_stats(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        per_sigma = np.atleast_2d(mmd2_from_counts(x_rows, cx, y_rows, cy, sigmas, per_sigma=True))
        return np.concatenate([per_sigma.mean(axis=1, keepdims=True), per_sigma], axis=1)

    mmd_values = mmd_stats(x_counts, y_counts)[0]
    mmd_err = np.full(mmd_values.shape, math.nan)
    if n_boot:
        mmd_err = bootstrap(mmd_stats, [x_counts, y_counts], n_boot, rng).stderr
    metrics = {"mmd2_samples": _metric(mmd_values[0], mmd_err[0])}
    for i, sigma in enumerate(sigmas, start=1):
        metrics[f"mmd2_samples_sigma{sigma:g}"] = _metric(mmd_values[i], mmd_err[i])

    # Total variation between the empirical histograms, over the rows either side drew.
    rows, ix, iy = pool_rows(x_rows, y_rows)

    def tv_stat(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        px = np.zeros((cx.shape[0], rows.shape[0]))
        py = np.zeros((cy.shape[0], rows.shape[0]))
        px[:, ix] = cx
        py[:, iy] = cy
        return tv_from_counts(px, py)

    tv_value = float(tv_stat(x_counts[None], y_counts[None])[0])
    tv_err = bootstrap(tv_stat, [x_counts, y_counts], n_boot, rng).stderr if n_boot else math.nan
    metrics["tv_samples"] = _metric(tv_value, tv_err)
    return metrics


def _target_probs_metrics(
    p_t: np.ndarray,
    n: int,
    x_rows: np.ndarray,
    x_counts: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, dict[str, Any]]:
    """Valid rate, smoothed KL and linear XEB of the model samples under the exact target."""
    x_index = bits_to_index(x_rows)
    valid = p_t[x_index] > 0
    rate = float(x_counts[valid].sum() / x_counts.sum())
    metrics = {"valid_rate": _metric(rate, math.sqrt(rate * (1.0 - rate) / x_counts.sum()))}

    def kl_stat(cx: np.ndarray) -> np.ndarray:
        return kl_smoothed_from_counts(p_t, x_index, cx, KL_PSEUDO_COUNT)

    kl_value = kl_smoothed_from_counts(p_t, x_index, x_counts, KL_PSEUDO_COUNT)
    kl_err = bootstrap(kl_stat, [x_counts], n_boot, rng).stderr if n_boot else math.nan
    metrics["kl_samples"] = _metric(kl_value, kl_err)

    # Linear cross-entropy benchmark against the exact target: 2^n <q(x)> - 1 over model samples.
    q_at = p_t[x_index] * 2.0**n

    def xeb_stat(cx: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(cx) @ q_at) / np.atleast_2d(cx).sum(axis=1) - 1.0

    xeb_err = bootstrap(xeb_stat, [x_counts], n_boot, rng).stderr if n_boot else math.nan
    metrics["xeb"] = _metric(float(xeb_stat(x_counts)[0]), xeb_err)
    return metrics


def _validity_metrics(
    p_t: np.ndarray,
    x_rows: np.ndarray,
    x_counts: np.ndarray,
    train_rows: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, dict[str, Any]]:
    """Coverage of the valid set and generalisation: valid samples the training data never showed."""
    x_index = bits_to_index(x_rows)
    valid = p_t[x_index] > 0
    support = int(np.count_nonzero(p_t))
    seen = np.isin(x_index, bits_to_index(train_rows))
    total = float(x_counts.sum())
    unseen = float(x_counts[valid & ~seen].sum() / total)

    def coverage_stat(cx: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(cx)[:, valid] > 0).sum(axis=1) / support

    cov_err = bootstrap(coverage_stat, [x_counts], n_boot, rng).stderr if n_boot else math.nan
    return {
        "coverage": _metric(float(coverage_stat(x_counts)[0]), cov_err),
        "unseen_valid_rate": _metric(unseen, math.sqrt(unseen * (1 - unseen) / total)),
    }


def _spin_metrics(target: Artefact, model: Artefact, model_samples: np.ndarray) -> dict[str, dict[str, Any]]:
    """ZZ-correlation error, staggered structure factor and Marshall-signed energy for spin targets."""
    if "zz_correlations" not in target or "site_positions" not in target:
        return {}
    positions = target["site_positions"]
    p_m = model.get("probs")
    exact = p_m is not None
    model_obs = spin_observables(p_m if exact else model_samples, positions, from_samples=not exact)
    source = "exact" if exact else "samples"
    zz_t = np.asarray(target["zz_correlations"])
    n = zz_t.shape[0]
    off = ~np.eye(n, dtype=bool)
    out = {
        "zz_error": _metric(np.abs(model_obs["zz_correlations"] - zz_t)[off].mean(), source=source),
        "staggered_structure_factor": _metric(model_obs["staggered_structure_factor"], source=source),
        "structure_factor_error": _metric(
            abs(model_obs["staggered_structure_factor"] - float(target.attrs["staggered_structure_factor"])),
            source=source,
        ),
    }
    config = target.config
    if exact and config.get("kind") == "heisenberg" and float(config.get("J2", 0.0)) == 0.0:
        if "bonds" not in target:
            raise ArtefactError(f"{target.path}: no /bonds for the Marshall energy; regenerate the target with this qgenflow")
        energy = marshall_energy(p_m, np.asarray(target["bonds"]), float(config.get("J1", 1.0)))
        out["energy_marshall"] = _metric(energy, source="exact")
        out["energy_relative_error"] = _metric(
            abs((energy - float(target.attrs["energy"])) / float(target.attrs["energy"])), source="exact"
        )
    return out


def _particle_number_metrics(target: Artefact, model: Artefact, model_samples: np.ndarray) -> dict[str, dict[str, Any]]:
    """Mass of the model in the target's particle-number sector (targets with a ``particle_number`` attribute)."""
    if "particle_number" not in target.attrs:
        return {}
    particles = int(target.attrs["particle_number"])
    p_m = model.get("probs")
    if p_m is not None:
        return {"particle_number_mass": _metric(particle_number_mass(p_m, particles, from_samples=False), source="exact")}
    mass = particle_number_mass(model_samples, particles, from_samples=True)
    return {"particle_number_mass": _metric(mass, math.sqrt(mass * (1.0 - mass) / len(model_samples)))}


def reference_model(target: Artefact, reference: str, seed: int) -> Artefact:
    """A pseudo-model for the reference rows of every table.

    ``data``: the target's training samples, scored like any model against the test
    split: the memoriser, and the noise floor of a finite training set (``data_access:
    samples``); ``uniform``: uniformly random bits (exact probabilities when n <=
    ``DENSE_MAX_BITS``), which learn from nothing (``data_access: none``).
    """
    n = _n_qubits(target)
    n_samples = int(np.shape(target["samples"])[0])
    if reference == DATA_REFERENCE:
        datasets = {"samples": np.asarray(target["samples"], dtype=np.uint8)}
        learned = {"data_access": "samples", "n_train_samples": n_samples}
    elif reference == UNIFORM_REFERENCE:
        rng = make_rng(seed, "reference")
        datasets = {"samples": rng.integers(0, 2, size=(n_samples, n), dtype=np.uint8)}
        if n <= DENSE_MAX_BITS:
            datasets["probs"] = np.full(2**n, 2.0**-n)
        learned = {"data_access": "none", "n_train_samples": 0}
    else:
        raise ValueError(f"unknown reference {reference!r}; allowed: {', '.join(REFERENCES)}")
    attrs = {"n_qubits": n, "model_kind": reference, "n_params": 0, "train_seconds": 0.0, **learned}
    return Artefact(path=Path(f"<{reference} reference of {target.path}>"), kind="model", attrs=attrs, datasets=datasets)
