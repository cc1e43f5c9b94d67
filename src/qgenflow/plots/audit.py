"""The advantage audit figure: how classically easy each trained quantum model is.

Three panels from ``audit.h5``: the von Neumann entanglement entropy at every cut of
the chain of qubits (mean over seeds) against its maximum min(k, n-k) bits; the MPS
bond dimension that reproduces the state to 1e-6 at every cut (largest over seeds)
against the maximum 2^min(k, n-k); and each model's anticoncentration 2^n sum p^2
against 1 (uniform) and 2 (Porter-Thomas). The target's own state, where it has one,
is drawn dashed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import Artefact
from .style import DOUBLE_COLUMN_IN, HEIGHT_IN, TARGET_COLOUR, check_outputs, new_figure, paper_style, save_figure, series_colours

__all__ = ["plot_audit"]


def _per_seed(audit: Artefact, model: str, key: str) -> list[np.ndarray]:
    prefix = f"models/{model}/"
    return [
        np.asarray(audit[name])
        for name in sorted(audit.datasets)
        if name.startswith(prefix) and name.endswith(f"/{key}")
    ]


def _models(audit: Artefact) -> list[str]:
    models = audit.attrs.get("models_json", [])
    return json.loads(models) if isinstance(models, str) else list(models)


def plot_audit(
    audit: Artefact,
    outputs: Sequence[str | Path],
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
    dpi: float | None = None,
) -> None:
    """Entropy and bond dimension per cut, and anticoncentration, of every audited quantum model."""
    check_outputs(outputs)
    n = int(audit.attrs["n_qubits"])
    models = _models(audit)
    palette = series_colours(models, colours)
    cuts = np.arange(1, n)
    bound = np.minimum(cuts, n - cuts)
    with paper_style():
        fig = new_figure(DOUBLE_COLUMN_IN, HEIGHT_IN)
        ax_s, ax_chi, ax_ac = fig.subplots(1, 3)
        # Maxima and the target on top: a model often saturates the bound and would hide them.
        ax_s.plot(cuts, bound, color="black", lw=0.8, ls=":", label="maximum", zorder=4)
        ax_chi.plot(cuts, 2.0**bound, color="black", lw=0.8, ls=":", label="maximum", zorder=4)
        if "target/entropies" in audit:
            ax_s.plot(cuts, audit["target/entropies"], color=TARGET_COLOUR, ls="--", lw=1.0, label="target", zorder=3)
            ax_chi.plot(cuts, audit["target/bond_dimensions"], color=TARGET_COLOUR, ls="--", lw=1.0, label="target",
                        zorder=3)
        ac_values, ac_labels = [], []
        for model in models:
            entropies = _per_seed(audit, model, "entropies")
            if entropies:
                ax_s.plot(cuts, np.mean(entropies, axis=0), color=palette[model], marker="o", ms=2, lw=1.0, label=model)
                chi = np.max(_per_seed(audit, model, "bond_dimensions"), axis=0)
                ax_chi.plot(cuts, chi, color=palette[model], marker="o", ms=2, lw=1.0, label=model)
            ac = [float(v) for v in _per_seed(audit, model, "anticoncentration")]
            if ac:
                ac_values.append(ac)
                ac_labels.append(model)
        for i, (label, values) in enumerate(zip(ac_labels, ac_values)):
            ax_ac.scatter(np.full(len(values), i), values, color=palette[label], s=10, zorder=3)
        for level, text in ((1.0, "uniform"), (2.0, "Porter-Thomas")):
            ax_ac.axhline(level, color="black", lw=0.7, ls=":" if level == 1.0 else "--")
            ax_ac.annotate(text, (0.02, level), xycoords=("axes fraction", "data"), fontsize=5, va="bottom")
        ax_ac.set_xticks(range(len(ac_labels)), ac_labels, rotation=30, ha="right")
        ax_ac.set_xlim(-0.5, max(len(ac_labels), 1) - 0.5)
        ax_ac.set_yscale("log")
        ax_ac.set_ylabel("2ⁿ Σp²")
        ax_s.set_xlabel("cut k (qubits 0..k-1 | k..n-1)")
        ax_s.set_ylabel("entanglement entropy (bits)")
        ax_chi.set_xlabel("cut k")
        ax_chi.set_ylabel("MPS bond dimension (1e-6)")
        ax_chi.set_yscale("log", base=2)
        if title:
            fig.suptitle(title)
        handles, names = ax_chi.get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right upper", fontsize=6)
        save_figure(fig, outputs, dpi=dpi)
