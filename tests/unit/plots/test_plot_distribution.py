"""Tests of the target-versus-model distribution figure and its numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from qgenflow.bits import bits_to_index, empirical_probs
from qgenflow.plots import plot_distribution, top_bitstrings
from qgenflow.plots.distribution import distribution_figsize, distribution_table

DPI = 300
ATOL = 1e-12


def test_top_bitstrings_other_mass():
    """The k most probable outcomes come first and 'other' is the exact mass of the rest."""
    probs = np.array([0.1, 0.4, 0.0, 0.05, 0.25, 0.0, 0.15, 0.05])
    top = top_bitstrings(probs, 3)
    np.testing.assert_array_equal(top.indices, [1, 4, 6])
    assert top.labels == ["001", "100", "110"]
    assert top.label_kind == "bitstring"
    assert top.other == pytest.approx(0.1 + 0.05 + 0.05, abs=ATOL)


def test_top_bitstrings_skips_zero_probability():
    """Outcomes of zero probability are never shown, so k may not be reached."""
    probs = np.array([0.0, 0.5, 0.0, 0.5])
    top = top_bitstrings(probs, 64)
    np.testing.assert_array_equal(top.indices, [1, 3])
    assert top.other == 0.0


def test_top_bitstrings_ties_are_deterministic():
    """Equal probabilities are ordered by index."""
    top = top_bitstrings(np.full(8, 0.125), 3)
    np.testing.assert_array_equal(top.indices, [0, 1, 2])
    assert top.other == pytest.approx(0.625, abs=ATOL)


def test_top_bitstrings_labels_many_bars_with_bitstrings(rng: np.random.Generator):
    """Many bars are still labelled by their bitstrings (qubit 0 leftmost), never by an integer index."""
    probs = rng.dirichlet(np.ones(2**6))
    top = top_bitstrings(probs, 40)
    assert top.label_kind == "bitstring"
    assert top.labels == [format(int(i), "06b") for i in top.indices]  # big-endian: qubit 0 is the leading bit
    assert top.other == pytest.approx(1.0 - probs[top.indices].sum(), abs=ATOL)


def test_sixteen_qubit_bars_carry_bitstrings():
    """A Néel-like 4x4 state: the bar of index 23130 reads '0101101001011010', and so does its tick."""
    n = 16
    probs = np.zeros(2**n)
    probs[[23130, 42405]] = [0.45, 0.35]
    probs[1:60] += 0.2 / 59
    top = top_bitstrings(probs, 64)
    assert top.labels[:2] == ["0101101001011010", "1010010110100101"]


def test_wide_registers_fall_back_to_rank():
    rows = np.zeros((3, 40), dtype=np.uint8)
    rows[1, 0] = rows[2, 1] = 1
    top = top_bitstrings(np.array([0.5, 0.3, 0.2]), 3, rows=rows)
    assert top.label_kind == "rank" and top.labels == ["1", "2", "3"]


def test_top_bitstrings_sparse_rows():
    """With rows, positions refer to the rows and labels to their bitstrings."""
    rows = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]], dtype=np.uint8)
    top = top_bitstrings(np.array([0.2, 0.5, 0.3]), 2, rows=rows)
    np.testing.assert_array_equal(top.indices, [1, 2])
    assert top.labels == ["001", "101"]
    assert top.other == pytest.approx(0.2, abs=ATOL)


def test_table_uses_exact_probs_and_samples(write_target, write_model):
    """Exact probs are used when present, sample frequencies otherwise; seeds share a label."""
    p = np.array([0.5, 0.3, 0.2, 0.0])
    target = write_target(np.array([[0, 0], [0, 1]]), p)
    q0 = np.array([0.4, 0.3, 0.1, 0.2])
    q1 = np.array([0.6, 0.1, 0.1, 0.2])
    samples = np.array([[0, 0], [0, 0], [1, 1], [1, 0]])
    models = [
        write_model("a", samples, q0, seed=0),
        write_model("a", samples, q1, seed=1),
        write_model("b", samples, None),
    ]
    table = distribution_table(target, models, ["a", "a", "b"], max_bitstrings=2)
    assert table.tick_labels == ["00", "01", "other"]
    np.testing.assert_allclose(table.target, [0.5, 0.3, 0.2], atol=ATOL)
    np.testing.assert_allclose(table.models["a"], [[0.4, 0.3, 0.3], [0.6, 0.1, 0.3]], atol=ATOL)
    np.testing.assert_allclose(table.models["b"], [[0.5, 0.0, 0.5]], atol=ATOL)


def test_table_counts_rows_beyond_dense_limit(rng: np.random.Generator, write_target, write_model):
    """Above 20 qubits, distinct sampled rows are counted instead of a dense histogram."""
    n = 22
    support = rng.integers(0, 2, (5, n), dtype=np.uint8)
    target = write_target(support[rng.integers(0, 5, 400)])
    model_samples = np.vstack([support[:2], 1 - support[:1]])  # one row outside the support
    model = write_model("m", model_samples)
    table = distribution_table(target, [model], ["m"], max_bitstrings=3)
    assert table.top.label_kind == "bitstring"
    assert table.top.labels == ["".join(map(str, row)) for row in table.top.bits]
    assert table.target.sum() == pytest.approx(1.0, abs=ATOL)
    shown = set(bits_to_index(table.top.bits).tolist())
    model_idx = bits_to_index(model_samples)
    expected_other = np.mean([i not in shown for i in model_idx])
    assert table.models["m"][0, -1] == pytest.approx(expected_other, abs=ATOL)
    assert table.models["m"][0].sum() == pytest.approx(1.0, abs=ATOL)


def test_writes_pdf_and_png(tmp_path: Path, small_study):
    """plot_distribution writes every requested format; the PNG is 300 dpi at the chosen size."""
    target, models, labels = small_study
    outputs = [tmp_path / "fig" / "dist.pdf", tmp_path / "fig" / "dist.png"]
    plot_distribution(target, models, labels, outputs, max_bitstrings=8, title="toy")
    for path in outputs:
        assert path.stat().st_size > 0
    assert sorted(p.name for p in outputs[0].parent.iterdir()) == ["dist.pdf", "dist.png"]
    width, height = distribution_figsize(8 + 1)
    assert imread(outputs[1]).shape[:2] == (round(height * DPI), round(width * DPI))


def test_many_bars_use_double_column(tmp_path: Path, small_study):
    """With many bitstrings the figure widens to double-column size."""
    target, models, labels = small_study
    plot_distribution(target, models, labels, [tmp_path / "dist.png"], max_bitstrings=64)
    width, height = distribution_figsize(16 + 1)
    assert width > distribution_figsize(4)[0]
    assert imread(tmp_path / "dist.png").shape[:2] == (round(height * DPI), round(width * DPI))


def test_qubit_mismatch_is_an_error(rng: np.random.Generator, write_target, write_model):
    """A model over a different number of qubits than the target is refused."""
    target = write_target(rng.integers(0, 2, (20, 3)))
    model = write_model("m", rng.integers(0, 2, (20, 4)))
    with pytest.raises(ValueError, match="qubits"):
        distribution_table(target, [model], ["m"])


def test_empirical_matches_bits_module(rng: np.random.Generator, write_target):
    """Without exact probs the target bars are the sample frequencies of qgenflow.bits."""
    samples = rng.integers(0, 2, (200, 3), dtype=np.uint8)
    table = distribution_table(write_target(samples), [], [], max_bitstrings=8)
    freq = empirical_probs(samples, 3)
    np.testing.assert_allclose(table.target[:-1], freq[table.top.indices], atol=ATOL)
