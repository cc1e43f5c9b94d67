"""The trainability job end to end on a tiny target: planned, written with provenance, checked and drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from snakemake.utils import validate

from qgenflow.bits import sample_from_probs
from qgenflow.catalog import FIGURES
from qgenflow.io import check_inputs, read_artefact, write_artefact
from qgenflow.plan import SCHEMA_PATH, artefact_identity, target_figures, trainability_models, trainability_params
from qgenflow.stages.figure import draw_figure
from qgenflow.stages.trainability import run_trainability

N_BITS = 3
SEED = 7


def _config(enabled: bool) -> dict:
    config = {
        "seeds": [SEED],
        "targets": {"t": {"kind": "uniform", "n_bits": N_BITS, "n_samples": 500}},
        "models": {
            "hea": {"kind": "qcbm", "layers": 2},
            "tree": {"kind": "qcbm", "ansatz": "liu_wang", "layers": 1, "loss": {"type": "kl"}},
            "made": {"kind": "autoregressive"},
        },
        "studies": [{"targets": ["t"], "models": ["hea", "tree", "made"]}],
        "trainability": {"enabled": enabled, "layers": [1, 3], "initialisations": 5, "shots": [100, 400],
                         "repetitions": 4},
    }
    validate(config, str(SCHEMA_PATH))
    return config


def test_off_by_default_and_only_for_qcbms():
    """Without `enabled` no target is diagnosed; with it, every qcbm of a target (not the baselines) is."""
    off = _config(False)
    del off["trainability"]
    validate(off, str(SCHEMA_PATH))
    assert off["trainability"]["enabled"] is False
    assert trainability_models(off, "t") == [] and "trainability" not in target_figures(off, "t")
    on = _config(True)
    assert trainability_models(on, "t") == ["hea", "tree"]
    assert target_figures(on, "t")[-1] == "trainability" and FIGURES["trainability"].trainability


def test_the_job_writes_what_the_figure_job_expects_and_it_is_drawn(tmp_path, monkeypatch):
    """trainability.h5 carries the planned slice, seed and input; its slopes and skips are recorded; the figure draws."""
    monkeypatch.chdir(tmp_path)
    config = _config(True)
    rng = np.random.default_rng(SEED)
    target = write_artefact(f"results/targets/t/seed{SEED}/target.h5", "target",
                            {"samples": sample_from_probs(np.full(2**N_BITS, 2.0**-N_BITS), 500, rng)},
                            config=config["targets"]["t"], seed=SEED, attrs={"n_qubits": N_BITS})
    out = "results/trainability/t/trainability.h5"
    run_trainability(str(target), trainability_params(config, "t"), out, SEED, name="t")
    check_inputs({out: artefact_identity(config, out)})
    art = read_artefact(out, kind="trainability")
    assert art["models/hea/qubits"].tolist() == [1, 2, 3] and art["models/hea/var_mean"].shape == (3, 2)
    assert art["models/tree/grads/n3_l3"].shape[0] == 5  # one row per initialisation
    slopes = art.dataset_attrs["models/hea/var_mean"]["slope_log2"]
    assert len(slopes) == 2 and np.all(np.isfinite(slopes))
    summary = json.loads(art.attrs["summary_json"])
    assert summary["tree"]["loss"] == "kl" and summary["hea"]["methods"] == ["numba"]
    assert json.loads(art.attrs["skipped_json"]) == []
    assert art["models/hea/shot_noise/std"].shape == (2,)
    draw_figure("trainability", ["fig.png"], trainability=out, options={"title": "t", "colours": {"hea": "#332288"}})
    assert (tmp_path / "fig.png").stat().st_size > 5_000
    with pytest.raises(Exception, match="expected a trainability artefact"):
        draw_figure("trainability", ["fig2.png"], trainability=str(target))
