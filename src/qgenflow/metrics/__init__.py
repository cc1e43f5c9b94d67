"""Evaluation: distances between target and model distributions, bootstrap errors, tables.

Exact metrics work on probability vectors, sample-based ones on sample sets or
their counts over distinct rows; :func:`evaluate` applies them to a target and a
model artefact and :func:`run_evaluation` writes the result as ``metrics.h5``;
:func:`write_table` aggregates seeds into one CSV per target.
"""

from .bootstrap import BootstrapResult, bootstrap, resample_counts
from .distances import (
    DENSE_MAX_BITS,
    classical_fidelity,
    kl_divergence,
    kl_smoothed_from_counts,
    kl_smoothed_samples,
    mmd2_from_counts,
    mmd2_probs,
    mmd2_samples,
    pool_rows,
    total_variation,
    total_variation_samples,
    tv_from_counts,
)
from .evaluate import (
    KL_PSEUDO_COUNT,
    REFERENCES,
    evaluate,
    marshall_energy,
    reference_model,
)
from .tables import MetricsRecord, aggregate_metrics, metrics_record, model_role
from .verdict import OUTCOMES, Verdict, decide, format_verdict

__all__ = [
    "DENSE_MAX_BITS",
    "KL_PSEUDO_COUNT",
    "REFERENCES",
    "BootstrapResult",
    "MetricsRecord",
    "aggregate_metrics",
    "bootstrap",
    "classical_fidelity",
    "evaluate",
    "kl_divergence",
    "kl_smoothed_from_counts",
    "kl_smoothed_samples",
    "marshall_energy",
    "model_role",
    "reference_model",
    "mmd2_from_counts",
    "mmd2_probs",
    "mmd2_samples",
    "pool_rows",
    "metrics_record",
    "resample_counts",
    "total_variation",
    "total_variation_samples",
    "tv_from_counts",
    "OUTCOMES",
    "Verdict",
    "decide",
    "format_verdict",
]
