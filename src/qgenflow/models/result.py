"""What training a non-QCBM model produces, and the one way it is written to model.h5.

Baselines (:mod:`qgenflow.models.baselines`) and quantum GANs
(:mod:`qgenflow.models.qgan`) both return a :class:`TrainedModel`;
:func:`qgenflow.stages.train.write_trained_model` lays it out as a model artefact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


__all__ = ["DATA_ACCESS", "TargetData", "TrainedModel", "target_data", "withheld"]

#: What a model may learn from: the study-level ``data_access`` values (training samples or exact
#: probabilities), and the target's state vector, which only the quantum-data QGANs learn from.
DATA_ACCESS = ("samples", "probabilities", "state")


@dataclass
class TrainedModel:
    """A trained model, laid out as model.h5 stores it.

    Attributes:
        params: named parameter arrays, stored under ``/params/<name>`` (a QGAN's
            generator is ``theta``).
        history: per-step or per-log series under ``/history``; always ``step`` and
            ``loss`` (the generator loss for a QGAN), plus model-specific series.
        probs: exact big-endian probabilities when the model is small enough, else None.
        samples: [n_samples, n] uint8 samples of the trained model.
        n_params: number of free (generator) parameters.
        seconds: training wall time.
        seconds_per_step: training wall time per optimisation (generator) step.
        attrs: further root attributes (loss definition, final fidelity, coverage, ...).
        extra: further datasets by path from the file's root (e.g. ``ansatz/...`` structure).
    """

    params: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    probs: np.ndarray | None
    samples: np.ndarray | None
    n_params: int
    seconds: float
    seconds_per_step: float
    attrs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_fit(
        cls,
        result: Any,
        params: dict[str, np.ndarray],
        probs: np.ndarray | None,
        samples: np.ndarray | None,
        n_params: int,
        attrs: dict[str, Any] | None = None,
        extra: dict[str, np.ndarray] | None = None,
    ) -> TrainedModel:
        """The trained model of a :class:`~qgenflow.fit.loop.TrainResult`: its history and timings, plus the rest."""
        return cls(
            params=params,
            history=dict(result.history),
            probs=probs,
            samples=samples,
            n_params=int(n_params),
            seconds=result.seconds,
            seconds_per_step=result.seconds_per_step,
            attrs=dict(attrs or {}),
            extra=dict(extra or {}),
        )

    def datasets(self) -> dict[str, np.ndarray]:
        """Datasets by path for :func:`qgenflow.io.write_artefact`."""
        out = {f"params/{k}": np.asarray(v) for k, v in self.params.items()}
        out.update({f"history/{k}": np.asarray(v) for k, v in self.history.items()})
        out.update({k: np.asarray(v) for k, v in self.extra.items()})
        if self.samples is not None:
            out["samples"] = np.asarray(self.samples, dtype=np.uint8)
        if self.probs is not None:
            out["probs"] = np.asarray(self.probs, dtype=np.float64)
        return out


@dataclass
class TargetData:
    """The parts of a target a trainer uses, from an Artefact or a :class:`~qgenflow.targets.Target`.

    ``samples`` are the target's training split only; :func:`withheld` gives the view a
    model sees under the study's ``data_access``.
    """

    n_qubits: int
    samples: np.ndarray
    probs: np.ndarray | None
    state: np.ndarray | None
    config: dict[str, Any] | None
    attrs: dict[str, Any]
    source: Any = None  # the object it was read from, for ansaetze that adapt to the target


def target_data(target: Any) -> TargetData:
    """The data a trainer gets: from a target artefact, an in-memory Target, or TargetData itself."""
    if isinstance(target, TargetData):
        return target
    if hasattr(target, "datasets"):  # io.Artefact
        return TargetData(
            n_qubits=int(target.attrs["n_qubits"]),
            samples=np.asarray(target["samples"], dtype=np.uint8),
            probs=target.get("probs"),
            state=target.get("state"),
            config=target.config if "config_json" in target.attrs else None,
            attrs=dict(target.attrs),
            source=target,
        )
    return TargetData(
        n_qubits=int(target.n_qubits),
        samples=np.asarray(target.samples, dtype=np.uint8),
        probs=target.probs,
        state=target.extra.get("state"),
        config=None,
        attrs=dict(target.attrs),
        source=target,
    )


def withheld(data: TargetData, learns_from: str) -> TargetData:
    """The target as a model that learns from ``learns_from`` (one of :data:`DATA_ACCESS`) sees it.

    ``samples``: exact probabilities and the state are withheld; ``probabilities``: the
    state is withheld; ``state``: nothing is. ``source`` becomes a copy of the view itself,
    so an ansatz that adapts to the target (a Chow-Liu tree, a lattice) reads no more
    than the model may learn from.
    """
    if learns_from not in DATA_ACCESS:
        raise ValueError(f"unknown data access {learns_from!r}; allowed: {', '.join(DATA_ACCESS)}")
    view = replace(
        data,
        probs=None if learns_from == "samples" else data.probs,
        state=data.state if learns_from == "state" else None,
        source=None,
    )
    view.source = replace(view)
    return view
