"""Shared pieces of the baseline benchmarks: targets, the training run and the scores.

Not a benchmark itself; imported by bench_rbm_netket.py and bench_made_netket.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

TARGETS = {
    "bas3x3": {"kind": "bars_and_stripes", "rows": 3, "cols": 3, "n_samples": 20000},
    "heis4x4": {"kind": "heisenberg", "lattice": [4, 4], "pbc": True, "J1": 1.0, "J2": 0.0, "method": "exact",
                "n_samples": 20000},
}
SIGMAS = (0.5, 1.0, 2.0, 4.0)


def load_targets(names):
    """{name: (training samples [N, n], exact probabilities [2^n])}, made with qgenflow's target stage, seed 0."""
    from qgenflow.io import read_artefact
    from qgenflow.stages.target import run_target

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            art = read_artefact(run_target(TARGETS[name], 0, Path(tmp) / f"{name}.h5"), kind="target")
            out[name] = (np.asarray(art["samples"]), np.asarray(art["probs"]))
    return out


def scores(q: np.ndarray, p: np.ndarray) -> dict:
    """Exact KL(p || q) in nats and exact MMD^2 (kernel mixture over SIGMAS) of model q against target p."""
    from qgenflow.kernels import mmd2_exact

    s = p > 0
    return {"kl": float(np.sum(p[s] * np.log(p[s] / np.maximum(q[s], 1e-300)))), "mmd2": float(mmd2_exact(q, p, SIGMAS))}


def train_flat(nll_and_grad, flat0, rows, weights, steps: int, lr: float):
    """qgenflow's fit loop (Adam) on a full-batch weighted NLL; returns (params, seconds per step, final loss)."""
    import jax.numpy as jnp

    from qgenflow.fit.loop import fit

    x, w = jnp.asarray(rows, dtype=jnp.float64), jnp.asarray(weights)
    nll_and_grad(jnp.asarray(flat0), x, w)[1].block_until_ready()  # compile outside the timing

    def value_and_grad(flat, step):
        loss, grad = nll_and_grad(jnp.asarray(flat), x, w)
        return float(loss), np.asarray(grad, dtype=np.float64)

    result = fit(value_and_grad, np.asarray(flat0, dtype=np.float64), {"name": "adam", "lr": lr, "steps": steps})
    return result.params, result.seconds_per_step, float(result.history["loss"][-1])


