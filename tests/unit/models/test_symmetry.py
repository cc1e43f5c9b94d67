"""Number-conserving ansatz: exact Hamming-weight sector, lattice pairs, gradients and training."""

import json

import numpy as np
import pytest

from qgenflow.devices import make_device
from qgenflow.errors import InvalidConfigError
from qgenflow.io import Artefact
from qgenflow.kernels import mmd2_exact
from qgenflow.models import QCBM, make_ansatz
from qgenflow.models.symmetry import lattice_pairs, neel_reference, sector_mass
from qgenflow.targets import make_target
from qgenflow.train import train
from qgenflow.circuits import CircuitRunner

SECTOR_TOL = 1e-12
FD_STEP = 1e-4
FD_TOL = 1e-7  # central differences: error ~ FD_STEP^2 times a third derivative of order one
TRAIN_REDUCTION = 10.0
HEIS4_REDUCTION = 20.0
SIGMAS = (0.5, 1, 2, 4)


def as_pairs(edges):
    """Edges as a sorted list of (i, j) tuples with i < j."""
    return sorted(tuple(sorted(map(int, e))) for e in edges)


def random_probs(ansatz, rng, scale=np.pi):
    """Born probabilities of the ansatz at uniformly random angles."""
    model = QCBM(ansatz)
    runner = CircuitRunner(make_device({}, ansatz.n_qubits), ansatz.n_qubits)
    return runner.probs(model.ops(model.init_params(rng, scale)))


@pytest.mark.parametrize("pairs", ["chain", "all"])
def test_chain_keeps_all_mass_in_reference_sector(rng, pairs):
    """At random angles on 6 qubits every bitstring has the reference's Hamming weight."""
    ansatz = make_ansatz("symmetry_preserving", 6, 3, {"pairs": pairs})
    p = random_probs(ansatz, rng)
    assert ansatz.weight == 3
    assert sector_mass(p, 3) == pytest.approx(1.0, abs=SECTOR_TOL)
    assert np.count_nonzero(p > SECTOR_TOL) > 1  # the angles did move mass around


def test_lattice_4x4_keeps_all_mass_in_sz0(rng):
    """One forward pass on the periodic 4x4 lattice: all mass in the 12,870 Sz = 0 strings."""
    ansatz = make_ansatz("symmetry_preserving", 16, 2, {"lattice": [4, 4], "pbc": True})
    p = random_probs(ansatz, rng)
    assert sector_mass(p, 8) == pytest.approx(1.0, abs=SECTOR_TOL)


def test_other_weight_and_block_reference(rng):
    """``weight`` and ``reference: block`` fix the sector and the occupied wires."""
    ansatz = make_ansatz("symmetry_preserving", 5, 2, {"weight": 2, "reference": "block"})
    assert ansatz.structure["reference"].tolist() == [1, 1, 0, 0, 0]
    assert sector_mass(random_probs(ansatz, rng), 2) == pytest.approx(1.0, abs=SECTOR_TOL)


def test_lattice_pairs_match_netket_grid():
    """Nearest-neighbour pairs equal the bonds of the spin targets' NetKet graph, site for site."""
    from qgenflow.targets.spin import build_graph

    for lattice, pbc in (([4, 4], True), ([2, 3], False), ([3, 4], True), ([6], True)):
        expected = as_pairs(build_graph({"lattice": lattice, "pbc": pbc}).edges())
        assert as_pairs(lattice_pairs(lattice, pbc)) == expected, (lattice, pbc)


def test_neel_reference_is_a_sublattice():
    """The default 4x4 reference is a checkerboard: weight 8, no two neighbours both 1."""
    bits = neel_reference(16, 8, [4, 4])
    assert bits.sum() == 8
    for i, j in lattice_pairs([4, 4], pbc=True):
        assert bits[i] != bits[j]
    assert neel_reference(6, 3).tolist() == [0, 1, 0, 1, 0, 1]


def test_adopts_target_lattice():
    """Without a ``lattice`` option the pairs follow the target artefact's lattice and boundary."""
    config = {"kind": "heisenberg", "lattice": [2, 3], "pbc": False, "method": "exact"}
    target = Artefact(path="t.h5", kind="target", attrs={"config_json": json.dumps(config), "n_qubits": 6})
    ansatz = make_ansatz("symmetry_preserving", 6, 1, target=target)
    assert as_pairs(ansatz.structure["pairs"]) == as_pairs(lattice_pairs([2, 3]))
    assert ansatz.shape == (1, 7, 2)
    plain = make_ansatz("symmetry_preserving", 6, 1, {"zz_phase": False})
    assert as_pairs(plain.structure["pairs"]) == [(i, i + 1) for i in range(5)] and plain.shape == (1, 5, 1)


def test_schema_defaults_equal_no_options():
    """Options spelled out at their schema defaults (nulls included) build the default circuit."""
    defaults = {"weight": None, "reference": "neel", "lattice": None, "pbc": None, "pairs": "auto", "zz_phase": True}
    spelled, bare = make_ansatz("symmetry_preserving", 6, 2, defaults), make_ansatz("symmetry_preserving", 6, 2)
    for key in ("reference", "pairs"):
        assert np.array_equal(spelled.structure[key], bare.structure[key])
    assert spelled.shape == bare.shape


@pytest.mark.parametrize(
    "options",
    [{"pairs": "lattice"}, {"bogus": 1}, {"weight": 7}, {"pairs": "ring"}, {"lattice": [2, 2]}, {"reference": "x"}],
)
def test_bad_options_are_rejected(options):
    """Unknown or inconsistent options raise InvalidConfigError."""
    with pytest.raises(InvalidConfigError):
        make_ansatz("symmetry_preserving", 6, 1, options)


def test_adjoint_gradient_matches_finite_differences(rng):
    """Adjoint derivatives of a diagonal observable equal central finite differences, for every angle."""
    ansatz = make_ansatz("symmetry_preserving", 4, 2, {"pairs": "all"})
    model = QCBM(ansatz)
    runner = CircuitRunner(make_device({}, 4), 4)
    params = model.init_params(rng, np.pi).ravel()
    diag = rng.normal(size=16)
    grad = runner.diagonal_grad(model.ops(params), diag)
    assert grad.size == params.size == ansatz.n_params

    def f(theta):
        return diag @ runner.probs(model.ops(theta))

    for k in range(params.size):
        step = np.zeros_like(params)
        step[k] = FD_STEP
        assert grad[k] == pytest.approx((f(params + step) - f(params - step)) / (2 * FD_STEP), abs=FD_TOL)


def test_training_heisenberg_2x3_lowers_mmd_in_sector():
    """A short run on the exact 2x3 Heisenberg ground state lowers the MMD tenfold and stays in Sz = 0."""
    target = make_target(
        {"kind": "heisenberg", "lattice": [2, 3], "pbc": False, "method": "exact", "n_samples": 100}, 0
    )
    spec = {
        "ansatz": "symmetry_preserving",
        "layers": 3,
        "ansatz_options": {"lattice": [2, 3]},
        "optimizer": {"name": "adam", "lr": 0.05, "steps": 60},
    }
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    result, probs = trained, trained.probs
    loss = result.history["loss"]
    assert loss[-1] < loss[0] / TRAIN_REDUCTION
    assert sector_mass(probs, 3) == pytest.approx(1.0, abs=SECTOR_TOL)


@pytest.mark.slow
def test_heisenberg_4x4_learns_in_sector():
    """On the periodic 4x4 Heisenberg ground state a few hundred steps cut the MMD twentyfold, all mass in Sz = 0."""
    spec_t = {"kind": "heisenberg", "lattice": [4, 4], "pbc": True, "method": "exact", "n_samples": 100}
    target = make_target(spec_t, 0)
    spec = {
        "ansatz": "symmetry_preserving",
        "layers": 4,
        "init_scale": 0.5,
        "ansatz_options": {"lattice": [4, 4], "pbc": True},
        "optimizer": {"name": "adam", "lr": 0.05, "steps": 300},
        "data_access": "probabilities",  # the loss is checked against the exact distribution
    }
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    result, probs = trained, trained.probs
    loss = result.history["loss"]
    fidelity = np.sum(np.sqrt(probs * target.probs)) ** 2
    print(f"4x4 Heisenberg: MMD^2 {loss[0]:.3e} -> {loss[-1]:.3e}, classical fidelity {fidelity:.4f}")
    assert loss[-1] == pytest.approx(mmd2_exact(probs, target.probs, SIGMAS))
    assert loss[-1] < loss[0] / HEIS4_REDUCTION
    assert sector_mass(probs, 8) == pytest.approx(1.0, abs=SECTOR_TOL)
