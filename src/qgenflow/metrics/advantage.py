"""The advantage audit of one target: per quantum model across seeds, and the decision rule in words.

:func:`qgenflow.metrics.audit.audit_model` measures one trained quantum model (its
classical cost, entanglement, bond dimension, Clifford flag, anticoncentration, IQP
flip analogue). This module summarises those records per model, adds the device shots
at which the primary-metric gap to the best classical model would be resolved at 2
sigma, and writes the tutorial's decision rule for the target: is it quantum-grounded or
from a hard sampling class, is generation unconditional, does the winning quantum model
need a quantum device at this size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..limits import MAX_EXACT_QUBITS
from .audit import shots_to_resolve
from .tables import HIGHER_IS_BETTER, MetricsRecord, model_role
from .verdict import Verdict

__all__ = ["AUDIT_COLUMNS", "decision_rule", "summarise"]

#: Columns of the audit table, in order.
AUDIT_COLUMNS = (
    "model", "n_seeds", "n_qubits", "method", "n_params", "train_seconds_mean", "peak_memory_mb",
    "statevector_mb", "clifford", "anticoncentration", "half_cut_entropy_bits", "max_entropy_bits",
    "bond_dimension", "max_bond_dimension", "truncation_error", "iqp_flip_analogue_mmd2", "model_mmd2", "primary_gap",
    "primary_stderr", "shots_to_resolve",
)


def _mean(values: Sequence[Any]) -> float:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return float(np.mean(finite)) if finite else math.nan


def _primary_gap(
    model: str, records: Sequence[MetricsRecord], primary: str, rival: str | None = None
) -> tuple[float, float, float]:
    """(gap to the classical model ``rival``, favouring the quantum one when positive; its stderr; samples).

    ``rival`` is the verdict's chosen classical model; without one, the best classical mean.
    """
    own = [r for r in records if r.model == model and primary in r.values]
    classical: dict[str, list[float]] = {}
    for r in records:
        if model_role(r.model_kind) == "classical" and primary in r.values and rival in (None, r.model):
            classical.setdefault(r.model, []).append(r.values[primary])
    if not own or not classical:
        return math.nan, math.nan, math.nan
    pick = max if primary in HIGHER_IS_BETTER else min
    best = pick(float(np.mean(v)) for v in classical.values())
    sign = 1.0 if primary in HIGHER_IS_BETTER else -1.0
    gap = sign * (_mean([r.values[primary] for r in own]) - best)
    return gap, _mean([r.stderrs.get(primary, math.nan) for r in own]), _mean([r.n_samples for r in own])


def summarise(
    model: str,
    audits: Sequence[Mapping[str, Any]],
    records: Sequence[MetricsRecord],
    primary: str,
    rival: str | None = None,
) -> dict[str, Any]:
    """One model's audit row (:data:`AUDIT_COLUMNS`) from its per-seed :func:`~qgenflow.metrics.audit.audit_model`
    records: means over seeds, except the Clifford flag (every seed) and the bond dimension (largest).
    The primary-metric gap is taken to ``rival`` (the verdict's classical model) when given."""
    n = int(audits[0]["n_qubits"])
    gap, stderr, n_samples = _primary_gap(model, records, primary, rival)
    bond = [int(a["max_bond_dimension"]) for a in audits if int(a["max_bond_dimension"]) > 0]
    row = {
        "model": model,
        "n_seeds": len(audits),
        "n_qubits": n,
        "method": " / ".join(sorted({str(a["method"]) for a in audits})),
        "n_params": _mean([a["n_params"] for a in audits]),
        "train_seconds_mean": _mean([a["train_seconds"] for a in audits]),
        "peak_memory_mb": max((float(a["peak_memory_mb"]) for a in audits if a.get("peak_memory_mb")), default=math.nan),
        "statevector_mb": float(audits[0]["statevector_bytes"]) / 2**20,
        "clifford": all(bool(a["clifford"]) for a in audits),
        "anticoncentration": _mean([a.get("anticoncentration", math.nan) for a in audits]),
        "half_cut_entropy_bits": _mean([a["entropy_half"] for a in audits]),
        "max_entropy_bits": float(n // 2),
        "bond_dimension": float(max(bond)) if bond else math.nan,
        "max_bond_dimension": float(2 ** (n // 2)),
        "truncation_error": _mean([a.get("truncation_error", math.nan) for a in audits]),
        "iqp_flip_analogue_mmd2": _mean([a.get("flip_mmd2_samples", math.nan) for a in audits]),
        "model_mmd2": _mean([a.get("model_mmd2_samples", math.nan) for a in audits]),
        "primary_gap": gap,
        "primary_stderr": stderr,
        "shots_to_resolve": shots_to_resolve(gap, stderr, int(n_samples)) if not math.isnan(n_samples) else math.nan,
    }
    return row


def _grounding(kind: str, quantum: bool, sampling_class: str) -> str:
    if quantum:
        return f"yes: a quantum ground state ({kind}), quantum-grounded data"
    if sampling_class:
        return f"yes: a distribution from a classically hard sampling class, {sampling_class}"
    return f"no: a classical distribution ({kind}); a quantum model has no sampling-class argument here"


def _needs_device(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "no quantum model was trained"
    n = int(row["n_qubits"])
    reasons = []
    if row["clifford"]:
        reasons.append("every gate is Clifford, so it is simulable by the Gottesman-Knill theorem")
    if not math.isnan(row["bond_dimension"]) and row["bond_dimension"] <= row["max_bond_dimension"] / 4:
        reasons.append(
            f"its entanglement is low: an MPS of bond dimension {int(row['bond_dimension'])} (of at most "
            f"{int(row['max_bond_dimension'])}) reproduces its state to 1e-6"
        )
    if n <= MAX_EXACT_QUBITS:
        memory = "" if math.isnan(row["peak_memory_mb"]) else f", {row['peak_memory_mb']:.0f} MB peak memory"
        reasons.append(
            f"it was simulated exactly here ({row['method']}, {row['train_seconds_mean']:.3g} s training{memory})"
        )
    if reasons:
        entangled = ""
        if not math.isnan(row["bond_dimension"]) and row["bond_dimension"] > row["max_bond_dimension"] / 4:
            entangled = (
                f" (its state needs MPS bond dimension {int(row['bond_dimension'])} of at most "
                f"{int(row['max_bond_dimension'])}, but at this size that does not matter)"
            )
        return f"no, at {n} qubits: " + "; ".join(reasons) + entangled
    return (
        f"possibly: at {n} qubits it was trained without a statevector ({row['method']}), but sampling it "
        "classically is not known to be easy; a device would be needed to draw its samples"
    )


def decision_rule(
    target: str,
    facts: Mapping[str, Any],
    summaries: Sequence[Mapping[str, Any]],
    verdict: Verdict,
) -> str:
    """The decision rule in words for one target (``facts``: ``kind``, ``quantum``, ``sampling_class``)."""
    primary = verdict.comparisons[0] if verdict.comparisons else None
    winner = None
    if primary is not None:
        winner = next((s for s in summaries if s["model"] == primary.quantum), None)
    elif summaries:
        winner = summaries[0]
    grounded = _grounding(str(facts["kind"]), bool(facts["quantum"]), str(facts.get("sampling_class", "")))
    device = _needs_device(winner)
    plausible = (
        verdict.outcome == "quantum better"
        and not grounded.startswith("no")
        and device.startswith("possibly")
    )
    name = "none" if winner is None else winner["model"]
    lines = [
        f"decision rule for {target}:",
        f"1. quantum-grounded or from a hard sampling class? {grounded}",
        "2. unconditional generation? yes: every model draws whole samples of the distribution, "
        "the setting where sampling hardness applies",
        f"3. does the winning quantum model ({name}) need a quantum device at this size? {device}",
        f"4. verdict: {verdict.outcome}",
        "conclusion: "
        + (
            "a quantum advantage is plausible here: the quantum model wins, the target has a quantum or "
            "hardness argument, and the model is not classically easy at this size"
            if plausible
            else "no quantum advantage is shown here: "
            + "; ".join(
                reason
                for reason, holds in (
                    (f"the verdict is '{verdict.outcome}'", verdict.outcome != "quantum better"),
                    ("the target has no quantum or hardness argument", grounded.startswith("no")),
                    ("the winning quantum model is classically easy at this size", not device.startswith("possibly")),
                )
                if holds
            )
        ),
    ]
    return "\n".join(lines) + "\n"
