"""The qgenflow command line."""

import argparse

import numpy as np
import pytest

from qgenflow import __version__
from qgenflow.cli import build_parser, main
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


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qgenflow {__version__}"


def test_every_subcommand_and_option_has_help():
    parser = build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(subparsers) == 1
    commands = subparsers[0]
    helped = {choice.dest: choice.help for choice in commands._choices_actions}
    assert set(helped) == set(commands.choices) == {"inspect", "config-docs", "check-config", "verify-manifest"}
    assert all(text and text.strip() for text in helped.values())
    for name, sub in [("qgenflow", parser), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help and action.help.strip(), f"{name}: option {action.dest} has no help text"
        assert sub.format_help().strip()
