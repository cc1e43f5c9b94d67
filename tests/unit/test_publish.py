"""The publish folder: copies, checksums and provenance in the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from qgenflow.cli import main
from qgenflow.io import write_artefact
from qgenflow.stages.publish import publish, verify_manifest


@pytest.fixture
def drawn(tmp_path: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    art = write_artefact(tmp_path / "results/targets/t/seed0/target.h5", "target",
                         {"samples": np.zeros((3, 2), np.uint8)}, config={"kind": "uniform", "n_bits": 2}, seed=0,
                         attrs={"n_qubits": 2})
    fig = tmp_path / "results/figures/t_training.png"
    fig.parent.mkdir(parents=True)
    fig.write_bytes(b"\x89PNG not really")
    table = tmp_path / "results/tables/t.csv"
    table.parent.mkdir(parents=True)
    table.write_text("model,role\nqcbm,quantum\n")
    return {"figures/t_training.png": fig, "tables/t.csv": table}, {"figures/t_training.png": [art]}


def test_manifest_lists_checksums_and_provenance(tmp_path: Path, drawn):
    files, sources = drawn
    manifest_path = publish(files, sources, tmp_path / "publish")
    manifest = json.loads(manifest_path.read_text())
    assert [e["file"] for e in manifest["files"]] == ["figures/t_training.png", "tables/t.csv"]
    for entry in manifest["files"]:
        copied = (tmp_path / "publish" / entry["file"]).read_bytes()
        assert copied == Path(entry["source"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(copied).hexdigest() and entry["bytes"] == len(copied)
    (source,) = manifest["files"][0]["drawn_from"]
    prov = manifest["artefacts"][source]
    assert prov["kind"] == "target" and prov["seed"] == 0 and prov["config"] == {"kind": "uniform", "n_bits": 2}
    assert prov["sha256"] == hashlib.sha256(Path(source).read_bytes()).hexdigest()
    assert {"git_commit", "package_versions", "qgenflow_version", "created_utc"} <= prov.keys()
    assert verify_manifest(manifest_path) == []


def test_verify_finds_changed_and_missing_files(tmp_path: Path, drawn, capsys):
    files, sources = drawn
    manifest_path = publish(files, sources, tmp_path / "publish")
    assert main(["verify-manifest", str(manifest_path)]) == 0
    (tmp_path / "publish/tables/t.csv").write_text("edited\n")
    (tmp_path / "publish/figures/t_training.png").unlink()
    assert sorted(verify_manifest(manifest_path)) == [
        "figures/t_training.png: missing", "tables/t.csv: sha256 differs from the manifest"
    ]
    assert main(["verify-manifest", str(manifest_path)]) == 1
    assert "sha256 differs" in capsys.readouterr().err


def test_bad_requests_fail_before_writing(tmp_path: Path, drawn):
    files, sources = drawn
    with pytest.raises(ValueError, match="not published"):
        publish(files, {"figures/other.png": []}, tmp_path / "publish")
    with pytest.raises(ValueError, match="relative path"):
        publish({"../escape.png": files["tables/t.csv"]}, {}, tmp_path / "publish")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        publish({"x.png": tmp_path / "nope.png"}, {}, tmp_path / "publish")
    assert not (tmp_path / "publish").exists()
