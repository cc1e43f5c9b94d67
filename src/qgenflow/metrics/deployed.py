"""The metric series of a ``deploy.h5`` (light: read by the deploy figure and the audit without the quantum stack)."""

from __future__ import annotations

import numpy as np

from ..io import Artefact

__all__ = ["metric_series"]


def metric_series(art: Artefact, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, stderrs, reference)`` of ``metric`` over the shot budgets of a ``deploy.h5``.

    The reference is the model's own value (its evaluation from simulated samples), or for
    ``tv_model`` the total variation that ideal sampling of each budget gives; errors are NaN where none.

    Raises:
        ArtefactError: the artefact does not hold the metric.
    """
    shots = np.asarray(art["shots"])
    if metric == "tv_model":
        values = np.asarray(art["tv_model"], dtype=float)
        return values, np.full(values.shape, np.nan), np.asarray(art["tv_model_floor"], dtype=float)
    key = f"model_metrics/{metric}"
    reference = np.full(shots.shape, float(art[key]) if key in art else np.nan)
    return np.asarray(art[f"metrics/{metric}"], dtype=float), np.asarray(art[f"metrics_stderr/{metric}"], dtype=float), reference
