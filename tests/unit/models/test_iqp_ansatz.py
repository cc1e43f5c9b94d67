"""The ``iqp`` ansatz: generators, circuit, spin-flip symmetry and adjoint gradients."""

import itertools

import numpy as np
import pytest

from qgenflow.devices import make_device
from qgenflow.errors import InvalidConfigError
from qgenflow.models import ANSATZE, QCBM, make_ansatz
from qgenflow.models.iqp import IQPAnsatz, pad_generators
from qgenflow.targets.iqp import candidate_generators, iqp_probs
from qgenflow.circuits import CircuitRunner, FastAdjointRunner
from qgenflow.train.iqp_estimator import iqp_model_probs

TOL_PROBS = 1e-12  # two exact simulations of the same circuit
TOL_GRAD = 1e-6  # adjoint derivative vs central finite difference with step FD_STEP
FD_STEP = 1e-5
MIN_ASYMMETRY = 1e-3  # a generic circuit without the symmetric input is visibly not flip-symmetric


@pytest.fixture
def runner4():
    """Probabilities and adjoint gradients on 4 qubits of lightning.qubit."""
    return CircuitRunner(make_device({"name": "lightning.qubit"}, 4), 4)


def test_registered_with_candidate_generators():
    """make_ansatz('iqp') stores the candidate generators and has one angle per generator; layers is ignored."""
    options = {"pattern": "square", "lattice": [2, 3], "max_weight": 3, "pbc": False}
    ansatz = make_ansatz("iqp", 6, 5, options)
    expected = pad_generators(candidate_generators(6, pattern="square", lattice=[2, 3], max_weight=3))
    assert ANSATZE["iqp"] is IQPAnsatz and isinstance(ansatz, IQPAnsatz)
    np.testing.assert_array_equal(ansatz.structure["generators"], expected)
    assert ansatz.shape == (len(expected),) == make_ansatz("iqp", 6, 1, options).shape


@pytest.mark.parametrize(
    "options,key",
    [({"colour": 1}, "ansatz_options.colour"), ({"pattern": "square"}, "ansatz_options.lattice")],
)
def test_bad_options(options, key):
    """Unknown or inconsistent options raise InvalidConfigError naming ansatz_options.*."""
    with pytest.raises(InvalidConfigError) as err:
        make_ansatz("iqp", 4, 1, options)
    assert err.value.key == key


def test_circuit_matches_target_convention(rng, runner4):
    """lightning probabilities of the ansatz equal targets.iqp.iqp_probs for the same generators and angles."""
    ansatz = make_ansatz("iqp", 4, 1, {"max_weight": 3})
    theta = rng.uniform(-np.pi, np.pi, size=ansatz.shape)
    expected = iqp_probs(ansatz.generators, theta, 4)
    np.testing.assert_allclose(runner4.probs(ansatz.ops(theta)), expected, rtol=0, atol=TOL_PROBS)


def test_spin_flip_symmetric(rng, runner4):
    """With spin_flip_symmetric, p(x) = p(~x) on lightning, and the numpy path agrees."""
    sym = make_ansatz("iqp", 4, 1, {"spin_flip_symmetric": True})
    plain = make_ansatz("iqp", 4, 1)
    theta = rng.uniform(-np.pi, np.pi, size=sym.shape)
    p_sym = runner4.probs(sym.ops(theta))
    p_plain = runner4.probs(plain.ops(theta))
    # Big-endian: the complement of index i is 2^n - 1 - i, i.e. the reversed vector.
    np.testing.assert_allclose(p_sym, p_sym[::-1], rtol=0, atol=TOL_PROBS)
    assert np.abs(p_plain - p_plain[::-1]).max() > MIN_ASYMMETRY
    exact = iqp_model_probs(sym.generators, theta, 4, spin_flip_symmetric=True)
    np.testing.assert_allclose(p_sym, exact, rtol=0, atol=TOL_PROBS)


def test_adjoint_gradient_times_gate_scale(rng, runner4):
    """CircuitRunner's adjoint gradient (w.r.t. gate angles 2 theta) times gate_angle_scale is dL/dtheta."""
    model = QCBM(make_ansatz("iqp", 4, 1, {"spin_flip_symmetric": True}))
    theta = rng.uniform(-1.0, 1.0, size=model.shape)
    diag = rng.normal(size=16)
    grad = runner4.diagonal_grad(model.ops(theta), diag) * model.ansatz.gate_angle_scale

    def loss(t):
        return diag @ iqp_model_probs(model.ansatz.generators, t, 4, spin_flip_symmetric=True)

    for j in range(model.n_params):
        step = np.zeros_like(theta)
        step[j] = FD_STEP
        fd = (loss(theta + step) - loss(theta - step)) / (2 * FD_STEP)
        assert grad[j] == pytest.approx(fd, abs=TOL_GRAD)


@pytest.mark.parametrize(
    "options,weights",
    [({"weights": [1, 4, 6]}, [1] * 6 + [4] * 15 + [6]), ({"max_weight": 6}, None),
     ({"pattern": "chain", "weights": [4], "pbc": True}, [4] * 6),
     ({"pattern": "square", "lattice": [2, 3], "weights": [4]}, None)],
)
def test_generators_of_any_weight(options, weights, rng):
    """Generators of weight 4-6 (weights list or max_weight): numba and lightning agree with the numpy phase path."""
    ansatz = make_ansatz("iqp", 6, 1, options)
    found = sorted((ansatz.generators >= 0).sum(axis=1))
    if weights is not None:
        assert found == weights
    if options.get("pattern") == "square":  # the connected 4-site sets of a 2x3 grid, by brute force
        brute = [g for g in itertools.combinations(range(6), 4) if _connected(g, [2, 3])]
        assert candidate_generators(6, pattern="square", lattice=[2, 3], weights=[4]) == brute and len(brute) == 10
    theta = rng.uniform(-np.pi, np.pi, size=ansatz.shape)
    ops = ansatz.ops(theta)
    expected = iqp_probs(ansatz.generators, theta, 6)
    lightning = CircuitRunner(make_device({"name": "lightning.qubit"}, 6), 6)
    np.testing.assert_allclose(lightning.probs(ops), expected, atol=TOL_PROBS)
    np.testing.assert_allclose(FastAdjointRunner(6).probs(ops), expected, atol=TOL_PROBS)


def _connected(sites, lattice):
    """Whether grid sites (qubit i * L1 + j) form a connected set (open boundaries)."""
    cols = lattice[1]
    seen, todo = {sites[0]}, [sites[0]]
    while todo:
        q = todo.pop()
        for r in sites:
            if r not in seen and abs(q // cols - r // cols) + abs(q % cols - r % cols) == 1:
                seen.add(r)
                todo.append(r)
    return len(seen) == len(sites)


@pytest.mark.parametrize(
    "options,key", [({"weights": [1, 7]}, "ansatz_options.weights"), ({"max_weight": 0}, "ansatz_options.max_weight")]
)
def test_bad_weights_are_refused(options, key):
    """A listed generator weight above n_qubits, or max_weight below 1, raises InvalidConfigError naming the option."""
    with pytest.raises(InvalidConfigError) as err:
        make_ansatz("iqp", 6, 1, options)
    assert err.value.key == key


@pytest.mark.parametrize(
    "options", [{"max_weight": 2}, {"max_weight": 1}, {"weights": [2]}, {"weights": [1, 2]}, {"max_weight": 5}]
)
def test_all_low_weight_generators_match_candidates(options):
    """The numpy build of pattern 'all' with weights <= 2 gives candidate_generators' rows in the same order."""
    for n in (2, 3, 7):
        expected = pad_generators(candidate_generators(n, **options))
        np.testing.assert_array_equal(make_ansatz("iqp", n, 1, options).generators, expected)
