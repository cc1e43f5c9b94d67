"""IQP Born machines through run_training: exact adjoint and the Z-string estimator."""

from __future__ import annotations

import numpy as np

from qgenflow.io import read_artefact
from qgenflow.kernels import mmd2_exact
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training

SIGMAS = [0.5, 1, 2, 4]


def test_iqp_model_learns_an_iqp_target_both_ways(tmp_path):
    """Exact (adjoint) and estimator training of an IQP QCBM both lower the MMD to an IQP target."""
    spec_t = {"kind": "iqp", "n_qubits": 6, "circuit_seed": 3, "n_samples": 4000}
    tpath = run_target(spec_t, 0, tmp_path / "t.h5")
    q = read_artefact(tpath)["probs"]
    base = {"kind": "qcbm", "ansatz": "iqp", "ansatz_options": {"max_weight": 2}, "n_samples": 500,
            "checkpoint_every": 0, "optimizer": {"name": "adam", "lr": 0.05, "steps": 60}}
    uniform = np.full(q.size, 1 / q.size)
    for method in ("exact", "estimator"):
        spec = {**base, "training": {"method": method, "n_ops": 500, "n_z": 500}}
        if method == "estimator":  # noisy gradients: more, larger steps
            spec["optimizer"] = {"name": "adam", "lr": 0.1, "steps": 150}
        model = read_artefact(run_training(spec, tpath, 0, tmp_path / f"{method}.h5"))
        assert mmd2_exact(model["probs"], q, SIGMAS) < 0.5 * mmd2_exact(uniform, q, SIGMAS), method
        assert model["samples"].shape == (500, 6) and model.attrs["ansatz"] == "iqp"
