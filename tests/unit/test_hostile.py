"""Hostile input: every bad config, data file, artefact or CLI call ends in a clear error, never a wrong result.

Each case asserts its outcome: refused before any job with the offending key named
(``check-config``, the same checks the workflow runs at parse time), or a clear error
from the first reader of the bad file, with nothing previously written lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from qgenflow.cli import main
from qgenflow.errors import ArtefactError
from qgenflow.files import atomic_path, default_file_mode
from qgenflow.io import check_inputs, read_artefact, write_artefact

BASE = {
    "seeds": [0],
    "targets": {
        "t": {"kind": "uniform", "n_bits": 3, "n_samples": 100},
        "g": {"kind": "gaussian_mixture", "n_bits": 3},
    },
    "models": {"q": {"kind": "qcbm", "layers": 1, "optimizer": {"name": "adam", "lr": 0.1, "steps": 5}}},
    "studies": [{"targets": ["t"], "models": ["q"]}],
}


def _config(change) -> dict:
    config = json.loads(json.dumps(BASE))
    change(config)
    return config


def _set(path: str, value):
    """A change that sets the dotted ``path`` (list items by number) to ``value``."""

    def change(config):
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def _rename_target(name: str):
    def change(config):
        config["targets"][name] = config["targets"].pop("t")
        config["studies"][0]["targets"] = [name]

    return change


def _check(tmp_path: Path, capsys, text: str | bytes) -> tuple[int, str]:
    cfg = tmp_path / "study.yaml"
    cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["check-config", str(cfg), "--root", str(tmp_path)])
    captured = capsys.readouterr()
    return code, captured.err


def _file_target(path: str, **extra):
    def change(config):
        config["targets"]["f"] = {"kind": "file", "path": path, **extra}
        config["studies"][0]["targets"] = ["f"]

    return change


# (case id, change to the base config, text the single error line must contain)
CONFIG_CASES = [
    ("lr_nan", _set("models.q.optimizer.lr", float("nan")), "models.q.optimizer.lr: must be a finite number"),
    ("init_scale_inf", _set("models.q.init_scale", float("inf")), "models.q.init_scale: must be a finite number"),
    ("lr_minus_inf", _set("models.q.optimizer.lr", float("-inf")), "models.q.optimizer.lr"),
    (
        "gaussian_std_1e300",
        _set("targets.g.components", [{"mean": 0.5, "std": 1e300, "weight": 1}]),
        "targets.g.components[0].std",
    ),
    ("seed_2_pow_70", _set("seeds", [2**70]), "seeds[0]"),
    ("seed_above_uint32", _set("seeds", [2**33]), "seeds"),
    ("lr_too_large", _set("models.q.optimizer.lr", 1e13), "models.q.optimizer.lr"),
    ("sigma_nan", _set("evaluation", {"sigmas": [1.0, float("nan")]}), "evaluation.sigmas[1]"),
    ("name_240_chars", _rename_target("a" * 240), "targets"),
    ("name_periodic", _rename_target("x" + "ab" * 20), "targets.x" + "ab" * 20),
    ("name_with_dot", _rename_target("a.b"), "targets"),
    ("name_with_slash", _rename_target("a/b"), "targets"),
    ("name_leading_digit", _rename_target("1abc"), "targets"),
    ("name_with_space", _rename_target("a b"), "targets"),
    ("model_named_data", lambda c: (c["models"].__setitem__("data", c["models"].pop("q")),
                                    c["studies"][0].__setitem__("models", ["data"])), "models.data"),
    ("study_name_bad", _set("study", "my study!"), "study"),
    ("unknown_key", _set("models.q.lerning_rate", 0.1), "lerning_rate"),
    ("steps_fractional", _set("models.q.optimizer.steps", 2.5), "models.q.optimizer.steps"),
    ("lr_string", _set("models.q.optimizer.lr", "0.1"), "models.q.optimizer.lr"),
    ("lr_boolean", _set("models.q.optimizer.lr", True), "models.q.optimizer.lr"),
    ("n_samples_negative", _set("targets.t.n_samples", -5), "targets.t.n_samples"),
    ("unknown_study_target", _set("studies.0.targets", ["nope"]), "studies[0].targets"),
    ("unknown_kind", _set("targets.t.kind", "bogus"), "targets.t"),
    ("file_path_with_braces", _file_target("data/{seed}.csv"), "targets.f.path"),
    ("file_missing", _file_target("data/missing.csv"), "targets.f.path: sample file data/missing.csv not found"),
    ("file_40_bits_with_qcbm", _file_target("data/wide.csv"), "model 'q' simulates 40 qubits"),
    ("file_width_mismatch", _file_target("data/wide.csv", n_bits=8), "targets.f.n_bits"),
    ("file_not_utf8", _file_target("data/binary.csv"), "targets.f.path"),
    ("file_no_samples", _file_target("data/empty.csv"), "targets.f.path"),
    ("file_unknown_suffix", _file_target("data/wide.xyz"), "targets.f.format: cannot tell the format"),
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """User data files next to the config: a 40-bit file, a binary one and an empty one."""
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    (data / "wide.csv").write_text("\n".join("".join(map(str, row)) for row in rng.integers(0, 2, (5, 40))) + "\n")
    (data / "binary.csv").write_bytes(b"\xff\xfe\x00\x01")
    (data / "empty.csv").write_text("# only a comment\n\n")
    (data / "wide.xyz").write_text("0101\n")
    return tmp_path


@pytest.mark.parametrize("case, change, expected", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_is_refused_naming_the_key(data_dir, capsys, case, change, expected):
    """check-config (the workflow's own pre-flight checks) refuses the value in one line naming the key."""
    text = yaml.safe_dump(_config(change), sort_keys=False, allow_unicode=True)
    code, err = _check(data_dir, capsys, text)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err


YAML_CASES = [
    ("not_utf8", b"seeds: [0]\nname: \xff\xfe\n", "not UTF-8 text (byte 0xff"),
    ("python_tag", "seeds: !!python/object/apply:os.system ['echo hi']\n", "no !! tags"),
    ("python_name_tag", "seeds: !!python/name:os.system\n", "no !! tags"),
    ("binary_tag", yaml.safe_dump(BASE) + "study: !!binary aGVsbG8=\n", "study: a bytes value"),
    ("date_value", yaml.safe_dump(BASE) + "study: 2024-01-01\n", "study: a date value"),
    ("syntax_error", "targets: {t: [1, 2}\n", "not valid YAML: line 1"),
    ("tab_indentation", "targets:\n\tt: 1\n", "not valid YAML"),
    ("top_level_list", "- 1\n- 2\n", "a config is a YAML mapping"),
    ("empty_file", "", "got NoneType"),
    ("integer_key", yaml.safe_dump(BASE).replace("  t:", "  1:", 1), "keys must be strings"),
]


@pytest.mark.parametrize("case, text, expected", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_undecodable_or_tagged_yaml_is_one_line(tmp_path, capsys, case, text, expected):
    """Undecodable, tagged or malformed YAML gives one error line, never a traceback or a tag executed."""
    code, err = _check(tmp_path, capsys, text)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err


def test_check_config_on_missing_file_and_folder(tmp_path, capsys):
    """A missing config file, or a folder given as one, is one line each."""
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 1
    assert "config file not found" in capsys.readouterr().err
    assert main(["check-config", str(tmp_path)]) == 1
    assert "is not a file" in capsys.readouterr().err


def test_valid_base_config_passes(tmp_path, capsys):
    """The base of every case above is itself valid, so each case fails for its own reason."""
    code, err = _check(tmp_path, capsys, yaml.safe_dump(BASE))
    assert code == 0, err


# --- artefacts -------------------------------------------------------------------------------


def _target(path: Path, n_bits: int = 2, seed: int = 0) -> Path:
    spec = {"kind": "uniform", "n_bits": n_bits}
    samples = np.random.default_rng(seed).integers(0, 2, (20, n_bits), dtype=np.uint8)
    return write_artefact(path, "target", {"samples": samples}, config=spec, seed=seed, attrs={"n_qubits": n_bits})


def _expect_target(n_bits: int = 2, seed: int = 0) -> dict:
    return {"kind": "target", "seed": seed, "config": {"kind": "uniform", "n_bits": n_bits}}


def test_swapped_artefact_names_both_sides(tmp_path):
    """Another target's file in this target's place is refused, naming what it holds and what was expected."""
    path = _target(tmp_path / "target.h5", n_bits=4)
    with pytest.raises(ArtefactError, match=r"n_bits: 4 in the file, expected 2"):
        check_inputs({str(path): _expect_target(n_bits=2)})


def test_artefact_of_another_seed_is_refused(tmp_path):
    """A target made for seed 1 is refused by a seed-0 job."""
    path = _target(tmp_path / "target.h5", seed=1)
    with pytest.raises(ArtefactError, match=r"seed: 1 in the file, expected 0"):
        check_inputs({str(path): _expect_target(seed=0)})


def test_artefact_of_another_kind_is_refused(tmp_path):
    """A metrics file where a target is expected is refused."""
    path = write_artefact(tmp_path / "m.h5", "metrics", {"x": np.float64(1)}, config={"kind": "uniform", "n_bits": 2}, seed=0)
    with pytest.raises(ArtefactError, match=r"kind: 'metrics' in the file, expected 'target'"):
        check_inputs({str(path): _expect_target()})


def test_metrics_of_another_model_are_refused(tmp_path):
    """A metrics file of model b in model a's place is refused by its recorded names."""
    path = write_artefact(tmp_path / "m.h5", "metrics", {"x": np.float64(1)}, config={}, seed=0,
                          attrs={"model_name": "b", "target_name": "t"})
    with pytest.raises(ArtefactError, match=r"model_name: 'b' in the file, expected 'a'"):
        check_inputs({str(path): {"kind": "metrics", "seed": 0, "config": {}, "attrs": {"model_name": "a"}}})


def test_stale_model_of_a_changed_target_is_refused(tmp_path):
    """A model made from an earlier version of its target is refused once the target changed."""
    target = _target(tmp_path / "target.h5")
    model = write_artefact(tmp_path / "model.h5", "model", {"p": np.ones(2)}, config={"kind": "product"}, seed=0,
                           inputs=[target])
    expect = {str(target): _expect_target(),
              str(model): {"kind": "model", "seed": 0, "config": {"kind": "product"}, "made_from": [str(target)]}}
    check_inputs(expect)
    # remade with other content under the same identity (as after an edit of the target code)
    write_artefact(target, "target", {"samples": np.ones((20, 2), np.uint8)}, config={"kind": "uniform", "n_bits": 2},
                   seed=0, attrs={"n_qubits": 2})
    with pytest.raises(ArtefactError, match="has changed since this file was made from it"):
        check_inputs(expect)


def test_target_of_a_replaced_data_file_is_refused(tmp_path, monkeypatch):
    """A user's data file replaced after its target was made (even with an older mtime) stops the reader."""
    monkeypatch.chdir(tmp_path)
    Path("data").mkdir()
    Path("data/x.csv").write_text("01\n10\n")
    target = write_artefact("t.h5", "target", {"samples": np.zeros((2, 2), np.uint8)}, config={"kind": "file"},
                            seed=0, inputs=["data/x.csv"])
    expect = {str(target): {"kind": "target", "seed": 0, "config": {"kind": "file"}, "made_from": ["data/x.csv"]}}
    check_inputs(expect)
    Path("data/x.csv").write_text("11\n11\n")
    os.utime("data/x.csv", (0, 0))
    with pytest.raises(ArtefactError, match="data/x.csv has changed since this file was made from it"):
        check_inputs(expect)


@pytest.mark.parametrize("where", ["dataset", "attribute", "dataset_attribute"])
def test_altered_artefact_is_detected_on_read(tmp_path, where):
    """Any edit after writing (a dataset, a root or a dataset attribute) fails the content digest."""
    path = write_artefact(tmp_path / "t.h5", "target", {"samples": np.zeros((4, 2), np.uint8)}, config={}, seed=0,
                          attrs={"n_qubits": 2}, dataset_attrs={"samples": {"note": "x"}})
    read_artefact(path)
    with h5py.File(path, "r+") as fh:
        if where == "dataset":
            fh["samples"][0, 0] = 1
        elif where == "attribute":
            fh.attrs["n_qubits"] = 3
        else:
            fh["samples"].attrs["note"] = "y"
    with pytest.raises(ArtefactError, match="altered after qgenflow wrote it"):
        read_artefact(path)


def test_truncated_artefact_is_refused(tmp_path):
    """A file cut short (a killed copy) is refused as unreadable."""
    path = _target(tmp_path / "t.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtefactError, match="cannot be read as HDF5"):
        read_artefact(path)
    with pytest.raises(ArtefactError, match="cannot be read as HDF5"):
        check_inputs({str(path): _expect_target()})


def test_artefact_of_an_older_schema_is_refused(tmp_path):
    """An artefact of schema 1 (before content digests) asks to be regenerated."""
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as fh:
        for key, value in {"qgenflow_version": "0.1.0", "schema_version": 1, "kind": "target",
                           "config_json": "{}", "seed": 0}.items():
            fh.attrs[key] = value
    with pytest.raises(ArtefactError, match="schema_version 1 is not supported.*regenerate it"):
        read_artefact(path)


def test_missing_artefact_is_named(tmp_path):
    """A missing input artefact is named, not a traceback from h5py."""
    with pytest.raises(ArtefactError, match="artefact not found"):
        check_inputs({str(tmp_path / "nope.h5"): _expect_target()})


def test_failed_write_keeps_the_previous_artefact(tmp_path):
    """A write that fails midway leaves the earlier file byte for byte, and no temporary file."""
    path = _target(tmp_path / "t.h5")
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_artefact(path, "target", {"bad": np.array([{"a": 1}], dtype=object)}, config={}, seed=0)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    """Artefacts and text files get 0666 less the umask, as files written by any other tool do."""
    old = os.umask(umask)
    try:
        assert default_file_mode() == mode
        art = _target(tmp_path / "t.h5")
        with atomic_path(tmp_path / "x.csv") as tmp:
            tmp.write_text("a\n")
    finally:
        os.umask(old)
    assert (art.stat().st_mode & 0o777, (tmp_path / "x.csv").stat().st_mode & 0o777) == (mode, mode)


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (["inspect", "{tmp}/nope.h5"], "artefact not found"),
        (["inspect", "{tmp}/text.h5"], "cannot be read as HDF5"),
        (["verify-manifest", "{tmp}/nope.json"], "manifest not found"),
        (["verify-manifest", "{tmp}/bad.json"], "not a JSON manifest"),
        (["verify-manifest", "{tmp}/list.json"], "not a qgenflow publish manifest"),
        (["check-config", "{tmp}/nope.yaml"], "config file not found"),
        (["config-docs", "--schema", "{tmp}/nope.yaml"], "schema not found"),
        (["config-docs", "-o", "{tmp}/text.h5/docs.md"], "error: "),
        (["inspect", "{tmp}"], "is a folder, not an artefact file"),
    ],
    ids=["inspect_missing", "inspect_not_hdf5", "manifest_missing", "manifest_malformed", "manifest_wrong_shape",
         "check_missing", "docs_missing_schema", "docs_unwritable_output", "inspect_folder"],
)
def test_cli_user_errors_are_one_line(tmp_path, capsys, args, expected):
    """Every user error of the CLI is one `error:` line and exit status 1."""
    (tmp_path / "text.h5").write_text("not hdf5")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    code = main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err


def test_cli_works_from_any_directory(tmp_path):
    """check-config and config-docs find the shipped schema when run outside the repository."""
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(BASE))
    cli = [sys.executable, "-m", "qgenflow.cli"]
    check = subprocess.run(cli + ["check-config", "study.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0 and "valid" in check.stdout, check.stderr
    docs = subprocess.run(cli + ["config-docs"], cwd=tmp_path, capture_output=True, text=True)
    assert docs.returncode == 0 and "models" in docs.stdout, docs.stderr
