"""The per-target verdict: best quantum against best classical model, on every reported metric.

Each side's model is chosen before any test score is looked at: the one with the lowest
mean validation score (:data:`~qgenflow.metrics.evaluate.SELECTION_METRIC`, the squared MMD
of its samples against the target's validation split) across seeds. A model chosen as
the best on the test split would carry that split's noise into the comparison, more so on
the side with more models. Records without validation scores (models without samples)
fall back to the best test mean per metric, and the verdict says so.

For each metric of ``verdict.metrics`` that both chosen models report, the two are compared,
paired by seed (the same seed means the same target draws): a paired t-test on the
per-seed differences when both have two or more common seeds, else a z-test on the
bootstrap errors of the one seed (exact metrics of one seed cannot be tested). The
p-values of all tested metrics are Holm-corrected together, so the family-wise error
rate is ``alpha`` whatever the number of metrics. The outcome is

* ``mixed``: significant differences in both directions;
* else ``quantum better`` or ``classical better`` when the declared primary metric
  significantly favours that side (and, by the rule above, no metric favours the other);
* else ``no significant difference``: a secondary metric alone never names a winner
  (it can only make an outcome mixed), as a trial's secondary endpoints cannot.

A winner is thus never named on one metric while it is significantly worse on
another, nor picked from many metrics after the fact. The text states the conditions the outcome holds under: data access,
training samples, parameter counts, training time and seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from ..catalog import DATA_REFERENCE
from .evaluate import SELECTION_METRIC
from .tables import HIGHER_IS_BETTER, MetricsRecord, model_role

__all__ = [
    "OUTCOMES",
    "Comparison",
    "Verdict",
    "compare",
    "decide",
    "format_verdict",
    "holm",
]

#: The four outcomes of a verdict.
OUTCOMES = ("quantum better", "classical better", "mixed", "no significant difference")


@dataclass(frozen=True)
class Comparison:
    """Best quantum vs best classical model on one metric.

    ``advantage`` is the mean per-seed difference oriented so that a positive value
    favours the quantum model; ``p`` the test's two-sided p-value (NaN: not testable),
    ``p_holm`` after the Holm correction.
    """

    metric: str
    quantum: str
    classical: str
    quantum_mean: float
    classical_mean: float
    advantage: float
    stderr: float
    n_seeds: int
    test: str
    p: float
    p_holm: float = math.nan
    significant: bool = False

    @property
    def favours(self) -> str:
        """``quantum``, ``classical`` or ``neither`` (not significant)."""
        if not self.significant:
            return "neither"
        return "quantum" if self.advantage > 0 else "classical"


@dataclass(frozen=True)
class Verdict:
    """The outcome, its per-metric comparisons and what it was decided on."""

    outcome: str
    primary: str
    alpha: float
    comparisons: tuple[Comparison, ...]
    skipped: tuple[str, ...]
    conditions: tuple[str, ...]
    noise_floor: str = ""
    selection: str = ""


def _by_model(records: Sequence[MetricsRecord]) -> dict[str, dict[int, MetricsRecord]]:
    out: dict[str, dict[int, MetricsRecord]] = {}
    for record in records:
        out.setdefault(record.model, {})[int(record.seed or 0)] = record
    return out


def _values(group: Mapping[int, MetricsRecord], metric: str) -> dict[int, float]:
    return {
        seed: r.values[metric] for seed, r in group.items() if metric in r.values and not math.isnan(r.values[metric])
    }


def _best(groups: Mapping[str, Mapping[int, MetricsRecord]], metric: str) -> str | None:
    """The model whose mean over seeds is best on ``metric``, or None when no model reports it."""
    means = {model: float(np.mean(list(v.values()))) for model, g in groups.items() if (v := _values(g, metric))}
    if not means:
        return None
    pick = max if metric in HIGHER_IS_BETTER else min
    return pick(means, key=means.__getitem__)


def _selected(groups: Mapping[str, Mapping[int, MetricsRecord]]) -> str | None:
    """The model with the lowest mean validation score over seeds, or None when one of them has no score."""
    scores = {model: _values(g, SELECTION_METRIC) for model, g in groups.items()}
    if not scores or any(len(v) != len(groups[m]) for m, v in scores.items()):
        return None
    means = {model: float(np.mean(list(v.values()))) for model, v in scores.items()}
    return min(means, key=means.__getitem__)


def compare(
    metric: str, quantum: Mapping[int, MetricsRecord], classical: Mapping[int, MetricsRecord], names: tuple[str, str]
) -> Comparison:
    """The paired comparison of two models' per-seed values of ``metric`` (see the module docstring)."""
    q, c = _values(quantum, metric), _values(classical, metric)
    sign = 1.0 if metric in HIGHER_IS_BETTER else -1.0
    seeds = sorted(set(q) & set(c))
    common = dict(metric=metric, quantum=names[0], classical=names[1],
                  quantum_mean=float(np.mean(list(q.values()))), classical_mean=float(np.mean(list(c.values()))))
    if not seeds:
        return Comparison(**common, advantage=math.nan, stderr=math.nan, n_seeds=0, test="no common seeds", p=math.nan)
    diffs = sign * (np.array([q[s] for s in seeds]) - np.array([c[s] for s in seeds]))
    advantage = float(diffs.mean())
    if len(seeds) >= 2:
        stderr = float(diffs.std(ddof=1) / math.sqrt(len(seeds)))
        if stderr == 0.0:  # identical differences on every seed: a deterministic gap, or none
            p = 1.0 if advantage == 0.0 else 0.0
        else:
            p = float(stats.ttest_rel(sign * np.array([q[s] for s in seeds]), sign * np.array([c[s] for s in seeds])).pvalue)
        return Comparison(**common, advantage=advantage, stderr=stderr, n_seeds=len(seeds),
                          test=f"paired t ({len(seeds)} seeds)", p=p)
    seed = seeds[0]
    stderr = math.hypot(quantum[seed].stderrs.get(metric, math.nan), classical[seed].stderrs.get(metric, math.nan))
    if math.isnan(stderr) or stderr == 0.0:
        return Comparison(**common, advantage=advantage, stderr=stderr, n_seeds=1,
                          test="untested (one seed, no bootstrap error)", p=math.nan)
    p = float(2.0 * stats.norm.sf(abs(advantage) / stderr))
    return Comparison(**common, advantage=advantage, stderr=stderr, n_seeds=1, test="z on bootstrap errors (one seed)", p=p)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and do not count as tests)."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def _outcome(comparisons: Sequence[Comparison], primary: str) -> str:
    """Mixed on significant differences both ways; else the primary metric decides (untested: no difference)."""
    sides = {c.favours for c in comparisons} - {"neither"}
    if sides == {"quantum", "classical"}:
        return "mixed"
    decisive = next((c.favours for c in comparisons if c.metric == primary), "neither")
    return f"{decisive} better" if decisive != "neither" else "no significant difference"


def decide(
    records: Sequence[MetricsRecord], primary: str, metrics: Sequence[str], alpha: float = 0.05
) -> Verdict:
    """The verdict of one target's metrics records (every model and seed, references included).

    Args:
        records: the target's metrics records.
        primary: the declared primary metric; it is always tested, first.
        metrics: every further metric to test; those no quantum or no classical model
            reports are listed as skipped.
        alpha: family-wise significance level of the Holm-corrected tests.
    """
    groups = _by_model(records)
    roles = {model: model_role(next(iter(g.values())).model_kind) for model, g in groups.items()}
    side = {role: {m: g for m, g in groups.items() if roles[m] == role} for role in ("quantum", "classical")}
    chosen = {role: _selected(side[role]) for role in side}
    by_validation = all(chosen.values())
    tested, skipped = [], []
    for metric in dict.fromkeys([primary, *metrics]):
        if by_validation:
            q, c = (m if _values(groups[m], metric) else None for m in (chosen["quantum"], chosen["classical"]))
        else:
            q, c = _best(side["quantum"], metric), _best(side["classical"], metric)
        if q is None or c is None:
            skipped.append(metric)
            continue
        tested.append(compare(metric, groups[q], groups[c], (q, c)))
    adjusted = holm([c.p for c in tested])
    tested = [
        Comparison(**{**c.__dict__, "p_holm": float(a), "significant": bool(a <= alpha)})
        for c, a in zip(tested, adjusted)
    ]
    outcome = _outcome(tested, primary) if tested else "no comparison"
    selection = (
        f"one model per side, the lowest mean {SELECTION_METRIC} (its samples against the validation split; "
        "the test split scores only the chosen pair)"
        if by_validation
        else "the best mean on the test split per metric (no validation scores: selection shares the test noise)"
    )
    return Verdict(outcome, primary, alpha, tuple(tested), tuple(skipped), _conditions(groups, roles, tested),
                   _noise_floor(groups.get(DATA_REFERENCE, {}), primary), selection)


def _conditions(groups, roles, tested: Sequence[Comparison]) -> tuple[str, ...]:
    """What the outcome holds under: per compared model its data access, size, time and seeds."""
    lines = []
    for model in dict.fromkeys(name for c in tested for name in (c.quantum, c.classical)):
        group = list(groups[model].values())
        access = sorted({r.data_access for r in group if r.data_access}) or ["not recorded"]
        n_train = sorted({r.n_train_samples for r in group if r.n_train_samples})
        params = float(np.nanmean([r.n_params for r in group])) if group else math.nan
        seconds = float(np.nanmean([r.train_seconds for r in group])) if group else math.nan
        lines.append(
            f"{model} ({roles[model]}): learned from {'/'.join(access)}"
            f"{f' ({n_train[0]} training samples)' if len(n_train) == 1 else ''}, "
            f"{'?' if math.isnan(params) else int(params)} parameters, "
            f"{'?' if math.isnan(seconds) else f'{seconds:.3g}'} s training, "
            f"seeds {', '.join(str(s) for s in sorted(groups[model]))}{_tuning(group)}"
        )
    return tuple(lines)


def _tuning(group: Sequence[MetricsRecord]) -> str:
    """How a model was tuned, for its conditions line: nothing when the study did not tune it."""
    if not group or not (group[0].tuning_trials or group[0].tuning_override):
        return ""
    record = group[0]
    trials = f"{record.tuning_trials} trial{'s' if record.tuning_trials != 1 else ''}"
    told = f", tuned with {trials}" if record.tuning_trials else ", not tuned"
    if record.tuning_override:
        return f"{told} (override of the study's {record.tuning_study_trials})"
    return told


def _noise_floor(group: Mapping[int, MetricsRecord], metric: str) -> str:
    values = list(_values(group, metric).values())
    if not values:
        return ""
    spread = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return f"{float(np.mean(values)):.4g} +- {spread:.2g}" if not math.isnan(spread) else f"{values[0]:.4g}"


def _headline(v: Verdict) -> str:
    wins = {side: [c for c in v.comparisons if c.favours == side] for side in ("quantum", "classical")}
    if v.outcome in ("quantum better", "classical better"):
        side = v.outcome.split()[0]
        return (
            f"verdict: {v.outcome}: {getattr(v.comparisons[0], side)} is significantly better on the primary metric "
            f"{v.primary}, the best {side} models are significantly better on "
            f"{', '.join(c.metric for c in wins[side])} and significantly worse on none of the "
            f"{len(v.comparisons)} tested metrics"
        )
    if v.outcome == "mixed":
        return (
            f"verdict: mixed: quantum significantly better on {', '.join(c.metric for c in wins['quantum'])}; "
            f"classical significantly better on {', '.join(c.metric for c in wins['classical'])}: no winner"
        )
    if v.outcome == "no significant difference":
        testable = sum(not math.isnan(c.p) for c in v.comparisons)
        secondary = "".join(
            f"; secondary metrics alone favour {side}: {', '.join(c.metric for c in wins[side])} "
            "(a secondary metric never names a winner)"
            for side in ("quantum", "classical")
            if wins[side]
        )
        return (
            f"verdict: no significant difference on the primary metric {v.primary} "
            f"({testable} of {len(v.comparisons)} compared metrics could be tested){secondary}"
        )
    return "verdict: no comparison (the study needs at least one quantum and one classical model)"


def _trend(v: Verdict) -> str:
    """The uncorrected picture: where p < alpha before the Holm correction, and which way."""
    ahead = {
        side: [c.metric for c in v.comparisons if c.p < v.alpha and (c.advantage > 0) == (side == "quantum")]
        for side in ("quantum", "classical")
    }
    if not ahead["quantum"] and not ahead["classical"]:
        return f"before the correction no metric has p < {v.alpha:g}"
    return (
        f"before the correction (p < {v.alpha:g}, not a finding): quantum ahead on {', '.join(ahead['quantum']) or 'none'}; "
        f"classical ahead on {', '.join(ahead['classical']) or 'none'}; more seeds would test these"
    )


def format_verdict(v: Verdict, n_samples: int | None = None) -> str:
    """The verdict as text: outcome, conditions, per-metric table."""
    budget = f"{n_samples} evaluation samples per side" if n_samples else "the configured sample budget"
    lines = [
        _headline(v),
        f"primary metric: {v.primary}; tests: paired across seeds, Holm-corrected at family-wise alpha = {v.alpha:g}; "
        f"compared models: {v.selection or 'the best mean on the test split per metric'}, at {budget}",
    ]
    if v.noise_floor:
        lines.append(f"noise floor ({v.primary} of the training data on test): {v.noise_floor}")
    lines.append(_trend(v))
    lines += ["conditions:", *(f"  {line}" for line in v.conditions)]
    header = f"{'metric':<28} {'best quantum':<28} {'best classical':<28} {'advantage(q)':>13} {'stderr':>9} {'p':>8} {'p_holm':>8}  favours"
    lines += ["per metric (advantage > 0 favours the quantum model):", header]
    for c in v.comparisons:
        lines.append(
            f"{c.metric:<28} {f'{c.quantum} = {c.quantum_mean:.4g}':<28} {f'{c.classical} = {c.classical_mean:.4g}':<28} "
            f"{c.advantage:>13.3g} {c.stderr:>9.2g} {c.p:>8.2g} {c.p_holm:>8.2g}  {c.favours}  [{c.test}]"
        )
    if v.skipped:
        lines.append(f"not compared (a side does not report them): {', '.join(v.skipped)}")
    return "\n".join(lines) + "\n"
