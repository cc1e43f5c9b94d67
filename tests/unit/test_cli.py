"""The qgenflow command line."""

import numpy as np

from qgenflow.cli import main
from qgenflow.io import write_artefact


def test_inspect_prints_summary(tmp_path, capsys):
    """`qgenflow inspect` prints kind, attributes and datasets."""
    path = write_artefact(tmp_path / "t.h5", "target", {"probs": np.ones(2) / 2}, config={"kind": "x"}, seed=1)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "target artefact" in out and "/probs: float64 [2]" in out


def test_inspect_reports_bad_file(tmp_path, capsys):
    """A broken file gives a non-zero exit and a message, not a traceback."""
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    assert main(["inspect", str(bad)]) == 1
    assert "cannot be read as HDF5" in capsys.readouterr().err


def test_check_config_names_the_key(tmp_path, capsys):
    """check-config reports the path of an offending key."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "targets: {t: {kind: uniform, n_bits: 2}}\nmodels: {m: {kind: qcbm, layers: 0}}\n"
        "studies: [{targets: [t], models: [m]}]\n"
    )
    assert main(["check-config", str(cfg), "--schema", str(repo / "workflow/schemas/config.schema.yaml")]) == 1
    assert "models.m.layers" in capsys.readouterr().err
