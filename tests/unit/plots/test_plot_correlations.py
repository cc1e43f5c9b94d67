"""Z moments, lattice distances, C(r) and the correlation figures."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from qgenflow.bits import index_to_bits, sample_from_probs
from qgenflow.io import Artefact, read_artefact, write_artefact
from qgenflow.plots import correlations
from qgenflow.plots.correlations import (
    Lattice,
    correlation_function,
    lattice_of,
    pair_distances,
    plot_correlation_function,
    plot_correlation_maps,
    z_moments,
)


def _artefact(datasets: dict, n: int) -> Artefact:
    return Artefact(path=Path("<test>"), kind="target", attrs={"n_qubits": n}, datasets=datasets)


def test_product_distribution_has_closed_form_moments():
    """Independent bits with P(b_i = 1) = q_i: <z_i> = 1 - 2 q_i and no connected correlation."""
    q = np.array([0.1, 0.5, 0.8])
    bits = index_to_bits(np.arange(8), 3)
    probs = np.prod(np.where(bits == 1, q, 1 - q), axis=1)
    m = z_moments(_artefact({"probs": probs}, 3))
    assert m.source == "exact"
    np.testing.assert_allclose(m.z, 1 - 2 * q, atol=1e-15)
    np.testing.assert_allclose(m.connected, np.diag(1 - (1 - 2 * q) ** 2), atol=1e-15)


def test_ghz_moments_exact_and_from_samples(rng: np.random.Generator):
    """p(000) = p(111) = 1/2: every <z_i z_j> is 1, every <z_i> is 0; samples agree within noise."""
    probs = np.zeros(8)
    probs[[0, 7]] = 0.5
    exact = z_moments(_artefact({"probs": probs}, 3))
    np.testing.assert_allclose(exact.zz, np.ones((3, 3)), atol=1e-15)
    np.testing.assert_allclose(exact.z, 0, atol=1e-15)
    sampled = z_moments(_artefact({"samples": sample_from_probs(probs, 4000, rng)}, 3))
    assert sampled.source == "samples"
    np.testing.assert_allclose(sampled.zz, 1.0)
    assert np.all(np.abs(sampled.z) < 4 / np.sqrt(4000))


def test_periodic_square_lattice_distances():
    """4x4 torus: four neighbours at 1, four at sqrt(2), and sqrt(8) is the largest distance."""
    x, y = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    lattice = Lattice(np.stack([x.ravel(), y.ravel()], axis=1), np.array([4, 4]), pbc=True)
    d = pair_distances(lattice)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert np.all(np.sum(np.isclose(d, 1.0), axis=1) == 4)
    assert np.all(np.sum(np.isclose(d, np.sqrt(2)), axis=1) == 4)
    assert np.isclose(d.max(), np.sqrt(8))
    open_d = pair_distances(Lattice(lattice.positions, lattice.extent, pbc=False))
    assert np.isclose(open_d.max(), np.sqrt(18))


def test_correlation_function_averages_pairs_per_distance():
    positions = np.array([[0, 0], [1, 0], [2, 0]])
    d = pair_distances(Lattice(positions, np.array([3, 1]), pbc=False))
    zz = np.array([[1.0, -0.5, 0.2], [-0.5, 1.0, -0.3], [0.2, -0.3, 1.0]])
    r, c = correlation_function(zz, d)
    np.testing.assert_allclose(r, [1.0, 2.0])
    np.testing.assert_allclose(c, [-0.4, 0.2])


def test_bars_and_stripes_lattice_is_row_major(tmp_path: Path):
    art = write_artefact(tmp_path / "t.h5", "target", {"samples": np.zeros((2, 6), np.uint8)},
                         config={"kind": "bars_and_stripes", "rows": 2, "cols": 3}, seed=0, attrs={"n_qubits": 6})
    lattice = lattice_of(read_artefact(art))
    assert lattice is not None and not lattice.pbc
    assert lattice.positions[4].tolist() == [1, 1]  # bit r * cols + c = 1 * 3 + 1 sits at column 1, row 1
    assert lattice.extent.tolist() == [3, 2]


@pytest.fixture(scope="module")
def heisenberg_ring(tmp_path_factory) -> Artefact:
    """An exact 8-site periodic Heisenberg ring target written by the real target code, read back."""
    from qgenflow.stages.target import run_target

    out = tmp_path_factory.mktemp("ring") / "target.h5"
    spec = {"kind": "heisenberg", "lattice": [8], "pbc": True, "J1": 1.0, "J2": 0.0, "method": "exact", "n_samples": 2000}
    return read_artefact(run_target(spec, 0, out), kind="target")


def test_nearest_neighbour_correlation_is_the_energy_per_bond(heisenberg_ring: Artefact):
    """SU(2) symmetry of the singlet ground state: <Z_i Z_i+1> = E0 / (3 * bonds)."""
    target = heisenberg_ring
    lattice = lattice_of(target)
    r, c = correlation_function(z_moments(target).zz, pair_distances(lattice))
    energy = float(target.attrs["energy"])
    assert r[0] == 1.0 and c[0] == pytest.approx(energy / (3 * 8), abs=1e-10)
    assert np.all(np.sign(c) == [(-1) ** int(round(x)) for x in r])  # antiferromagnetic: alternating sign


def test_correlation_figures_draw_without_clipping(
    tmp_path: Path, heisenberg_ring: Artefact, write_model, rng, caplog: pytest.LogCaptureFixture
):
    p = np.asarray(heisenberg_ring["probs"])
    models = [write_model("m", sample_from_probs(p, 500, rng), p, seed=s) for s in (0, 1)]
    models.append(write_model("noisy", rng.integers(0, 2, (500, 8)), None))
    labels = ["m", "m", "noisy"]
    with caplog.at_level(logging.WARNING):
        plot_correlation_maps(heisenberg_ring, models, labels, [tmp_path / "maps.png", tmp_path / "maps.pdf"], title="ring")
        plot_correlation_function(heisenberg_ring, models, labels, [tmp_path / "cr.png"], colours={"m": "#332288"})
    assert (tmp_path / "maps.png").stat().st_size > 5000 and (tmp_path / "maps.pdf").exists()
    assert (tmp_path / "cr.png").stat().st_size > 5000
    assert "cut off" not in caplog.text


def test_correlation_function_needs_a_lattice(tmp_path: Path, write_target, write_model, rng):
    target = write_target(rng.integers(0, 2, (50, 3)))
    model = write_model("m", rng.integers(0, 2, (50, 3)))
    with pytest.raises(ValueError, match="no lattice"):
        plot_correlation_function(target, [model], ["m"], [tmp_path / "x.png"])


def test_correlation_function_draws_unjoined_markers_by_role(
    tmp_path: Path, heisenberg_ring: Artefact, rng, monkeypatch
):
    """C(r) at discrete r: no line joins distances; a quantum model is a circle, a classical one a square."""
    p = np.asarray(heisenberg_ring["probs"])
    models = []
    for name, kind in (("qcbm", "qcbm"), ("rbm", "rbm")):
        path = write_artefact(tmp_path / f"{name}.h5", "model",
                              {"samples": sample_from_probs(p, 300, rng), "probs": p}, config={"kind": kind}, seed=0,
                              attrs={"n_qubits": 8, "model_kind": kind})
        models.append(read_artefact(path, kind="model"))
    drawn = []
    monkeypatch.setattr(correlations, "save_figure", lambda fig, outputs, dpi=None: drawn.append(fig))
    plot_correlation_function(heisenberg_ring, models, ["qcbm", "rbm"], [tmp_path / "cr.png"])
    (ax,) = drawn[0].get_axes()
    lines = {line.get_label(): line for line in ax.get_lines() if line.get_label() == "target"}
    lines.update({bars.get_label(): bars.lines[0] for bars in ax.containers})  # errorbar: (data line, caps, bars)
    assert set(lines) == {"target", "qcbm", "rbm"}
    assert all(line.get_linestyle() == "None" for line in lines.values())
    assert lines["qcbm"].get_marker() == "o" and lines["rbm"].get_marker() == "s"
