"""Classical benchmark targets: exact probabilities, seeded samples."""

import numpy as np
import pytest

from qgenflow.bits import bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.io import read_artefact
from qgenflow.stages.target import run_target
from qgenflow.targets import bas_patterns, make_target

TOL = 1e-12


@pytest.mark.parametrize("rows,cols", [(2, 2), (3, 3), (2, 4), (1, 3)])
def test_bas_pattern_count(rows, cols):
    """BAS(m, n) has 2^m + 2^n - 2 distinct patterns."""
    assert len(bas_patterns(rows, cols)) == 2**rows + 2**cols - 2


def test_bas_patterns_are_bars_or_stripes():
    """Every pattern has constant rows or constant columns."""
    for pat in bas_patterns(3, 3):
        grid = pat.reshape(3, 3)
        rows_const = all(len(set(r)) == 1 for r in grid)
        cols_const = all(len(set(c)) == 1 for c in grid.T)
        assert rows_const or cols_const


def test_bas_probs_and_samples():
    """BAS probabilities are uniform on the patterns and samples are valid."""
    t = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 500}, seed=0)
    assert t.probs.sum() == pytest.approx(1.0, abs=TOL)
    assert np.count_nonzero(t.probs) == 6
    assert np.all(t.probs[bits_to_index(t.samples)] > 0)


def test_uniform_target_is_seeded():
    """Same seed, same samples; different seed, different samples."""
    spec = {"kind": "uniform", "n_bits": 3, "n_samples": 200}
    a, b, c = make_target(spec, 0), make_target(spec, 0), make_target(spec, 1)
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    assert np.allclose(a.probs, 1 / 8, atol=TOL)


def test_unknown_kind():
    """An unknown kind names the allowed ones."""
    with pytest.raises(InvalidConfigError, match="allowed: bars_and_stripes, .*uniform"):
        make_target({"kind": "nope"}, 0)


def test_run_target_writes_artefact(tmp_path):
    """run_target writes samples, probs and n_qubits."""
    out = run_target({"kind": "uniform", "n_bits": 2, "n_samples": 10}, 3, tmp_path / "t.h5")
    art = read_artefact(out, kind="target")
    assert art.attrs["n_qubits"] == 2 and art["samples"].shape == (10, 2) and art["probs"].shape == (4,)
