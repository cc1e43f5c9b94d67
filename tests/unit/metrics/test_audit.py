"""The advantage audit: Schmidt spectra, Clifford gates, the IQP flip analogue and the per-model record."""

from __future__ import annotations

import math

import numpy as np
import pennylane as qml
import pytest
from pennylane.transforms.decompositions.clifford_t_transform import _check_clifford_op
from scipy.stats import unitary_group

from qgenflow.bits import empirical_probs
from qgenflow.errors import ArtefactError
from qgenflow.io import read_artefact
from qgenflow.metrics.audit import (
    anticoncentration,
    audit_model,
    bond_dimensions,
    clifford_circuit,
    entanglement_entropies,
    iqp_flip_probs,
    iqp_flip_samples,
    is_clifford_op,
    model_circuit,
    model_state,
    schmidt_spectra,
    shots_to_resolve,
    training_method,
)
from qgenflow.metrics.distances import mmd2_probs
from qgenflow.metrics.evaluate import reference_model
from qgenflow.models import make_ansatz
from qgenflow.models.iqp import IQPAnsatz
from qgenflow.models.result import TrainedModel
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training, write_trained_model

#: Agreement of two exact computations of the same quantity.
EXACT = 1e-10
SIGMAS = [0.5, 1.0, 2.0]
BAS_2X2 = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 200}


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random n-qubit statevector (normalised complex Gaussian)."""
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return psi / np.linalg.norm(psi)


def page_entropy_bits(n_a: int, n_b: int) -> float:
    """Page's mean entanglement entropy (bits) of a Haar state of n_a + n_b qubits, n_a <= n_b."""
    m, big = 2**n_a, 2**n_b
    nats = sum(1.0 / k for k in range(big + 1, m * big + 1)) - (m - 1) / (2 * big)
    return nats / math.log(2)


# ---------------------------------------------------------------------- Schmidt spectra
def test_product_state_has_bond_dimension_one_and_no_entropy(rng):
    """A product of random one-qubit states: one Schmidt coefficient at every cut."""
    n = 7
    psi = np.ones(1)
    for _ in range(n):
        psi = np.kron(psi, random_state(1, rng))
    spectra = schmidt_spectra(psi, n)
    assert len(spectra) == n - 1
    np.testing.assert_allclose(entanglement_entropies(spectra), 0.0, atol=EXACT)
    assert bond_dimensions(spectra).tolist() == [1] * (n - 1)


def test_ghz_state_has_bond_dimension_two_and_one_bit(rng):
    """GHZ: two equal Schmidt coefficients at every cut."""
    n = 8
    psi = np.zeros(2**n)
    psi[0] = psi[-1] = 1 / math.sqrt(2)
    spectra = schmidt_spectra(psi, n)
    np.testing.assert_allclose(entanglement_entropies(spectra), 1.0, atol=EXACT)
    assert bond_dimensions(spectra).tolist() == [2] * (n - 1)


def test_haar_states_reach_page_entropy(rng):
    """The mean half-cut entropy of Haar-random 8-qubit states is Page's value (~ n/2 - 1/(2 ln 2))."""
    n = 8
    entropies = [entanglement_entropies(schmidt_spectra(random_state(n, rng), n))[n // 2 - 1] for _ in range(30)]
    page = page_entropy_bits(n // 2, n // 2)
    assert page == pytest.approx(n / 2 - 1 / (2 * math.log(2)), abs=0.01)
    assert np.mean(entropies) == pytest.approx(page, abs=0.02)


def test_known_schmidt_decomposition(rng):
    """sum_i sqrt(l_i) |u_i>|v_i> on wires (0, 1 | 2, 3, 4) gives back l at cut 2, and its bond dimensions."""
    lam = np.array([0.5, 0.3, 0.15, 0.05])
    u = unitary_group.rvs(4, random_state=1)
    v = unitary_group.rvs(8, random_state=2)
    psi = sum(math.sqrt(l) * np.kron(u[:, i], v[:, i]) for i, l in enumerate(lam))
    spectra = schmidt_spectra(psi, 5)
    np.testing.assert_allclose(spectra[1], lam, atol=EXACT)
    assert bond_dimensions(spectra)[1] == 4
    assert bond_dimensions(spectra, tol=0.06)[1] == 3
    assert bond_dimensions(spectra, tol=0.21)[1] == 2
    assert entanglement_entropies(spectra)[1] == pytest.approx(-np.sum(lam * np.log2(lam)), abs=EXACT)


def test_cuts_follow_the_big_endian_wire_order():
    """A Bell pair on wires (1, 2) of 3 is cut at k = 2 only, from an array and from a PennyLane circuit."""
    bell = np.array([1, 0, 0, 1]) / math.sqrt(2)
    by_hand = np.kron([1, 0], bell)
    from_circuit = model_state([qml.Hadamard(1), qml.CNOT([1, 2])], 3)
    np.testing.assert_allclose(from_circuit, by_hand, atol=EXACT)
    for psi in (by_hand, from_circuit):
        np.testing.assert_allclose(entanglement_entropies(schmidt_spectra(psi, 3)), [0.0, 1.0], atol=EXACT)
    first = np.kron(bell, [1, 0])
    np.testing.assert_allclose(entanglement_entropies(schmidt_spectra(first, 3)), [1.0, 0.0], atol=EXACT)


def test_entropies_match_pennylane(rng):
    """Every cut's entropy equals PennyLane's von Neumann entropy of the reduced state."""
    n = 6
    psi = random_state(n, rng)
    rho = np.outer(psi, psi.conj())
    ours = entanglement_entropies(schmidt_spectra(psi, n))
    theirs = [qml.math.vn_entropy(rho, indices=list(range(k)), base=2) for k in range(1, n)]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_bad_statevectors_are_refused(rng):
    """A vector of the wrong length or norm is not a statevector."""
    with pytest.raises(ValueError, match="2\\^3"):
        schmidt_spectra(np.ones(4) / 2, 3)
    with pytest.raises(ValueError, match="not normalised"):
        schmidt_spectra(np.ones(8), 3)
    with pytest.raises(ValueError, match="up to"):
        model_state([], 40)


# ---------------------------------------------------------------------- Clifford
CLIFFORD = [
    qml.Hadamard(0), qml.S(0), qml.CNOT([0, 1]), qml.CZ([0, 1]), qml.SWAP([0, 1]), qml.RY(np.pi / 2, 0),
    qml.RZ(np.pi, 0), qml.IsingZZ(np.pi / 2, [0, 1]), qml.MultiRZ(np.pi / 2, [0, 1, 2]), qml.PauliY(2),
    qml.RX(-3 * np.pi / 2 + 1e-12, 0), qml.SingleExcitation(np.pi, [0, 1]), qml.CRZ(np.pi, [0, 1]),
]
NOT_CLIFFORD = [
    qml.T(0), qml.RY(0.3, 0), qml.Toffoli([0, 1, 2]), qml.RX(np.pi / 2 + 1e-6, 0),
    qml.SingleExcitation(np.pi / 2, [0, 1]), qml.IsingZZ(np.pi / 4, [0, 2]), qml.MultiRZ(np.pi / 4, [0, 1, 2]),
]


@pytest.mark.parametrize("op", CLIFFORD, ids=lambda op: op.name)
def test_clifford_gates_pass(op):
    """Clifford gates, rotations at multiples of pi/2 included, pass; PennyLane's own check agrees."""
    assert is_clifford_op(op)
    assert _check_clifford_op(op)


@pytest.mark.parametrize("op", NOT_CLIFFORD, ids=lambda op: op.name)
def test_non_clifford_gates_fail(op):
    """T, generic rotations and Toffoli fail; PennyLane's own check agrees."""
    assert not is_clifford_op(op)
    assert not _check_clifford_op(op)


def test_hardware_efficient_circuit_at_quarter_turns_is_clifford(rng):
    """A hardware-efficient QCBM with angles k pi/2 is Clifford; one generic angle breaks it."""
    ansatz = make_ansatz("hardware_efficient", 5, 3)
    theta = rng.integers(-4, 5, size=ansatz.shape) * np.pi / 2
    assert clifford_circuit(ansatz.ops(theta))
    theta[1, 2, 0] += 0.3
    assert not clifford_circuit(ansatz.ops(theta))
    assert not clifford_circuit(ansatz.ops(rng.uniform(-np.pi, np.pi, size=ansatz.shape)))


def test_large_gates_are_refused():
    """The dense-matrix test refuses a gate on too many wires rather than allocating it."""
    with pytest.raises(ValueError, match="MultiRZ acts on 11 wires"):
        is_clifford_op(qml.MultiRZ(0.1, wires=range(11)))


# ---------------------------------------------------------------------- anticoncentration
def test_anticoncentration_limits(rng):
    """1 for uniform, 2^n for a point mass, about 2 (Porter-Thomas) for a Haar state."""
    n = 12
    assert anticoncentration(np.full(2**n, 2.0**-n)) == pytest.approx(1.0)
    assert anticoncentration(np.eye(1, 2**n)[0]) == pytest.approx(2**n)
    p = np.abs(random_state(n, rng)) ** 2
    assert anticoncentration(p) == pytest.approx(2 * 2**n / (2**n + 1), abs=0.1)


# ---------------------------------------------------------------------- IQP flip analogue
def iqp_circuit_probs(generators: list[list[int]], theta: np.ndarray, n: int, symmetric: bool = False) -> np.ndarray:
    """Output distribution of the IQP Born machine's own circuit (MultiRZ(2 theta) gates) on lightning."""
    ansatz = IQPAnsatz(n_qubits=n, layers=1, options={"spin_flip_symmetric": symmetric},
                       structure={"generators": np.asarray([g + [-1] * (3 - len(g)) for g in generators])})
    return np.abs(model_state(ansatz.ops(theta), n)) ** 2


@pytest.mark.parametrize("generator", [[1], [0, 2], [0, 1, 3]])
@pytest.mark.parametrize("symmetric", [False, True])
def test_one_generator_flip_model_is_the_circuit(generator, symmetric):
    """For one generator the circuit flips its bits with probability sin^2(theta), exactly."""
    theta = np.array([0.37])
    circuit = iqp_circuit_probs([generator], theta, 4, symmetric)
    flips = iqp_flip_probs([generator], theta, 4, spin_flip_symmetric=symmetric)
    np.testing.assert_allclose(flips, circuit, atol=EXACT)
    if not symmetric:
        mask = sum(1 << (3 - q) for q in generator)
        assert circuit[mask] == pytest.approx(math.sin(0.37) ** 2, abs=EXACT)


def test_independent_generators_have_no_interference(rng):
    """Generators with GF(2)-independent masks (a chain) give the circuit's distribution exactly."""
    gens = [[0], [0, 1], [1, 2], [2, 3], [1, 3, 4]]  # five independent masks on five bits
    theta = rng.uniform(-np.pi, np.pi, size=len(gens))
    np.testing.assert_allclose(iqp_flip_probs(gens, theta, 5), iqp_circuit_probs(gens, theta, 5), atol=EXACT)


def test_dependent_generators_interfere():
    """A ring of four weight-2 generators XORs to zero: p(0000) = (c^4 + s^4)^2 in the circuit, c^8 + s^8 without interference."""
    gens = [[0, 1], [1, 2], [2, 3], [0, 3]]
    theta = np.full(4, 0.6)
    c, s = math.cos(0.6) ** 2, math.sin(0.6) ** 2
    circuit = iqp_circuit_probs(gens, theta, 4)
    flips = iqp_flip_probs(gens, theta, 4)
    assert circuit[0] == pytest.approx((c**2 + s**2) ** 2, abs=EXACT)
    assert flips[0] == pytest.approx(c**4 + s**4, abs=EXACT)
    assert circuit[0] - flips[0] == pytest.approx(2 * c**2 * s**2, abs=EXACT) and 2 * c**2 * s**2 > 0.05


def test_flip_samples_follow_flip_probs(rng):
    """Sampled flips reproduce the exact flip distribution, with either input."""
    gens = np.array([[0, -1, -1], [0, 1, -1], [1, 2, 3], [0, 3, -1]])
    theta = np.array([0.4, -1.1, 0.8, 2.0])
    for symmetric in (False, True):
        samples = iqp_flip_samples(gens, theta, 4, 200_000, rng, spin_flip_symmetric=symmetric)
        assert samples.dtype == np.uint8 and samples.shape == (200_000, 4)
        exact = iqp_flip_probs(gens, theta, 4, spin_flip_symmetric=symmetric)
        assert 0.5 * np.abs(empirical_probs(samples, 4) - exact).sum() < 0.01


def test_flip_samples_at_many_qubits_have_closed_form_marginals(rng):
    """On 300 bits (a chain plus fields): P(x_i = 1) = (1 - prod_{g contains i} (1 - 2 sin^2 theta_g)) / 2."""
    n = 300
    gens = [[i] for i in range(n)] + [[i, i + 1] for i in range(n - 1)]
    theta = rng.uniform(-1.5, 1.5, size=len(gens))
    samples = iqp_flip_samples(gens, theta, n, 4000, rng)
    q = np.sin(theta) ** 2
    factor = np.ones(n)
    for g, qj in zip(gens, q):
        factor[g] *= 1 - 2 * qj
    expected = (1 - factor) / 2
    stderr = np.sqrt(expected * (1 - expected) / 4000) + 1e-3
    assert np.all(np.abs(samples.mean(axis=0) - expected) < 5 * stderr)


def test_flip_samples_are_reproducible_and_checked():
    """Same generator, same samples; a generator outside the register is refused."""
    gens, theta = [[0, 1], [2]], np.array([0.3, 0.9])
    a = iqp_flip_samples(gens, theta, 3, 50, np.random.default_rng(5))
    b = iqp_flip_samples(gens, theta, 3, 50, np.random.default_rng(5))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="generator \\[3\\]"):
        iqp_flip_samples([[3]], [0.1], 3, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="2 generators but 1 angles"):
        iqp_flip_probs(gens, [0.1], 3)


# ---------------------------------------------------------------------- shots
def test_shots_to_resolve_scales_as_inverse_square():
    """N = n (2 se / |d|)^2: at N the scaled error is |d| / 2; halving d quadruples N."""
    n = shots_to_resolve(0.01, 0.002, 1000)
    assert n == pytest.approx(160.0)
    assert 0.002 * math.sqrt(1000 / n) == pytest.approx(0.01 / 2)
    assert shots_to_resolve(-0.005, 0.002, 1000) == pytest.approx(4 * n)
    assert shots_to_resolve(0.01, 0.004, 1000) == pytest.approx(4 * n)
    assert shots_to_resolve(0.01, 0.002, 2000) == pytest.approx(2 * n)
    assert shots_to_resolve(0.0, 0.002, 1000) == math.inf
    assert math.isnan(shots_to_resolve(0.01, math.nan, 1000))


# ---------------------------------------------------------------------- trained models
@pytest.fixture(scope="module")
def bas_target(tmp_path_factory):
    """A 2x2 bars-and-stripes target artefact (4 qubits)."""
    return run_target(BAS_2X2, 0, tmp_path_factory.mktemp("bas") / "target.h5")


def trained(spec: dict, target_path, path):
    """Train ``spec`` on the target and read back both artefacts."""
    model = read_artefact(run_training({"checkpoint_every": 0, "n_samples": 300, **spec}, target_path, 0, path))
    return model, read_artefact(target_path)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "qcbm", "layers": 2, "optimizer": {"steps": 5}},
        {"kind": "qcbm", "ansatz": "liu_wang", "layers": 1, "optimizer": {"steps": 5}},
        {"kind": "qcbm", "ansatz": "iqp", "ansatz_options": {"max_weight": 2}, "optimizer": {"steps": 5}},
        {"kind": "qgan", "flavor": "classical_discriminator", "layers": 1, "log_every": 2,
         "optimizer": {"steps": 3}},
    ],
    ids=["hardware_efficient", "liu_wang", "iqp", "qgan_classical"],
)
def test_rebuilt_circuit_reproduces_the_stored_probs(spec, bas_target, tmp_path):
    """The circuit rebuilt from model.h5 gives |amplitude|^2 equal to the model's /probs."""
    model, target = trained(spec, bas_target, tmp_path / "model.h5")
    ops, n = model_circuit(model, target)
    assert n == 4
    np.testing.assert_allclose(np.abs(model_state(ops, n)) ** 2, model["probs"], atol=EXACT)


def test_rebuilt_circuit_of_estimator_and_quantum_data_models(tmp_path):
    """The IQP estimator's model and a state-preparation generator rebuild to their /probs too."""
    iqp = run_target({"kind": "iqp", "n_qubits": 4, "circuit_seed": 1, "n_samples": 500}, 0, tmp_path / "iqp.h5")
    estimator = {"kind": "qcbm", "ansatz": "iqp", "training": {"method": "estimator", "n_ops": 50, "n_z": 50},
                 "optimizer": {"steps": 3}}
    heis = run_target({"kind": "heisenberg", "lattice": [2, 2], "pbc": False, "method": "exact", "n_samples": 100},
                      0, tmp_path / "heis.h5")
    state_prep = {"kind": "qgan", "flavor": "state_preparation", "layers": 1, "log_every": 1,
                  "optimizer": {"steps": 2}, "data_access": "probabilities"}  # it learns from the target's state
    for spec, target_path, name in ((estimator, iqp, "est.h5"), (state_prep, heis, "sp.h5")):
        model, target = trained(spec, target_path, tmp_path / name)
        ops, n = model_circuit(model, target)
        np.testing.assert_allclose(np.abs(model_state(ops, n)) ** 2, model["probs"], atol=EXACT)
    assert model.attrs["ansatz"] == "number_conserving"  # the default generator of a Neel-sector state


def test_audit_of_a_trained_qcbm(bas_target, tmp_path):
    """The record of a trained QCBM: method, cost, flags and per-cut arrays consistent with its state."""
    model, target = trained({"kind": "qcbm", "layers": 2, "optimizer": {"steps": 5}}, bas_target, tmp_path / "m.h5")
    record = audit_model(model, target, SIGMAS)
    assert record["model_kind"] == "qcbm" and record["ansatz"] == "hardware_efficient"
    assert record["n_qubits"] == 4 and record["n_params"] == 16 and record["statevector_bytes"] == 16 * 16
    assert record["method"] == "statevector (numba adjoint)"
    assert record["train_seconds"] == model.attrs["train_seconds"]
    assert record["clifford"] is False and record["state_built"] is True
    assert record["anticoncentration"] == pytest.approx(anticoncentration(model["probs"]))
    spectra = schmidt_spectra(model_state(*model_circuit(model, target)), 4)
    np.testing.assert_allclose(record["entropies"], entanglement_entropies(spectra))
    assert record["entropy_half"] == record["entropies"][1]
    assert record["max_bond_dimension"] == max(bond_dimensions(spectra)) <= 4
    assert "flip_mmd2_samples" not in record


def write_model(path, spec: dict, theta: np.ndarray, probs: np.ndarray, samples: np.ndarray, target_path, attrs,
                extra=None):
    """model.h5 of a hand-made quantum model, written by the training stage's writer."""
    result = TrainedModel(
        params={"theta": theta}, history={"step": np.arange(2), "loss": np.array([0.2, 0.1])}, probs=probs,
        samples=samples, n_params=theta.size, seconds=1.5, seconds_per_step=0.75, attrs=attrs, extra=extra or {},
    )
    return read_artefact(write_trained_model(result, path, spec, 0, target_path, 4))


def test_audit_flags_an_all_clifford_circuit(bas_target, tmp_path, rng):
    """A QCBM whose angles are all multiples of pi/2 is flagged Clifford; its stabiliser state has a flat spectrum."""
    spec = {"kind": "qcbm", "ansatz": "hardware_efficient", "layers": 2}
    ansatz = make_ansatz("hardware_efficient", 4, 2)
    theta = rng.integers(0, 4, size=ansatz.shape) * np.pi / 2
    probs = np.abs(model_state(ansatz.ops(theta), 4)) ** 2
    attrs = {"ansatz": "hardware_efficient", "gradient": "parameter_shift", "device": "lightning.qubit"}
    model = write_model(tmp_path / "m.h5", spec, theta, probs, rng.integers(0, 2, (50, 4)), bas_target, attrs)
    record = audit_model(model, read_artefact(bas_target), SIGMAS)
    assert record["clifford"] is True and record["method"] == "shots on lightning.qubit"
    # A stabiliser state's Schmidt coefficients at any cut are equal: 2^S of them, S an integer.
    np.testing.assert_allclose(record["entropies"], np.round(record["entropies"]), atol=1e-9)
    np.testing.assert_array_equal(record["bond_dimensions"], 2 ** np.round(record["entropies"]).astype(int))


def test_audit_of_iqp_models_scores_the_flip_analogue(tmp_path):
    """Weight-1 generators: the flip analogue is the model (equal exact MMD); a ring of weight-2 ones is not."""
    tpath = run_target({"kind": "iqp", "n_qubits": 4, "circuit_seed": 2, "n_samples": 2000}, 0, tmp_path / "t.h5")
    target = read_artefact(tpath)
    spec = {"kind": "qcbm", "ansatz": "iqp"}
    gens_1 = np.array([[0], [1], [2], [3]])
    gens_2 = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    results = {}
    for gens, name in ((gens_1, "w1"), (gens_2, "ring")):
        theta = np.array([0.3, -0.7, 1.1, 0.5])
        probs = iqp_circuit_probs(gens.tolist(), theta, 4)
        samples = np.random.default_rng(1).choice(16, size=2000, p=probs)
        bits = ((samples[:, None] >> np.arange(3, -1, -1)) & 1).astype(np.uint8)
        attrs = {"ansatz": "iqp", "gradient": "estimator", "gradient_engine": "estimator", "device": "lightning.qubit"}
        model = write_model(tmp_path / f"{name}.h5", spec, theta, probs, bits, tpath, attrs,
                            {"ansatz/generators": gens})
        results[name] = record = audit_model(model, target, SIGMAS, seed=3)
        assert record["method"] == "estimator (classical Z-string MMD, no statevector)"
        assert record["flip_n_samples"] == 2000
        assert record["model_mmd2_exact"] == pytest.approx(mmd2_probs(target["probs"], probs, SIGMAS))
        assert np.isfinite(record["flip_mmd2_samples"]) and np.isfinite(record["model_mmd2_samples"])
    w1, ring = results["w1"], results["ring"]
    assert w1["flip_mmd2_exact"] == pytest.approx(w1["model_mmd2_exact"], abs=EXACT)
    assert abs(ring["flip_mmd2_exact"] - ring["model_mmd2_exact"]) > 1e-4
    # Same distribution on both sides: the sample scores differ by noise only.
    assert abs(w1["flip_mmd2_samples"] - w1["model_mmd2_samples"]) < 0.01


def test_audit_refuses_classical_models(bas_target, tmp_path):
    """A classical model is not audited; the error names its kind."""
    model, target = trained({"kind": "product", "optimizer": {"steps": 2}}, bas_target, tmp_path / "p.h5")
    with pytest.raises(ValueError, match="'product'"):
        audit_model(model, target, SIGMAS)
    with pytest.raises(ValueError, match="'product'"):
        model_circuit(model, target)


def test_training_method_in_words():
    """Each training path has its words."""
    assert training_method({"gradient": "adjoint", "gradient_engine": "lightning", "device": "lightning.gpu"}) == (
        "statevector (adjoint on lightning.gpu)"
    )
    assert training_method({"gradient": "adjoint", "device": "lightning.qubit"}) == (
        "statevector (adjoint on lightning.qubit)"
    )
    assert training_method({"gradient": "parameter_shift", "device": "qiskit.aer"}) == "shots on qiskit.aer"


def test_audit_refuses_a_circuit_that_is_not_the_model(bas_target, tmp_path, rng):
    """Angles that do not produce the stored /probs are an error, not an audit of another circuit."""
    ansatz = make_ansatz("hardware_efficient", 4, 1)
    theta = rng.uniform(-1, 1, size=ansatz.shape)
    probs = np.abs(model_state(ansatz.ops(theta + 0.1), 4)) ** 2
    attrs = {"ansatz": "hardware_efficient", "gradient": "adjoint", "device": "lightning.qubit"}
    model = write_model(tmp_path / "m.h5", {"kind": "qcbm", "layers": 1}, theta, probs, rng.integers(0, 2, (9, 4)),
                        bas_target, attrs)
    with pytest.raises(ArtefactError, match="does not reproduce /probs"):
        audit_model(model, read_artefact(bas_target), SIGMAS)


def test_audit_beyond_the_dense_limit_skips_the_state(write_target, tmp_path, rng):
    """A 24-qubit IQP model: no state, NaN entropy and anticoncentration; the flip analogue is still scored."""
    n = 24
    tpath = write_target(rng.integers(0, 2, (300, n)), test=rng.integers(0, 2, (200, n)))
    gens = np.array([[i, (i + 1) % n] for i in range(n)])
    theta = rng.uniform(-1, 1, size=n)
    spec = {"kind": "qcbm", "ansatz": "iqp", "ansatz_options": {"pattern": "chain"}}
    attrs = {"ansatz": "iqp", "gradient": "estimator", "device": "lightning.qubit"}
    result = TrainedModel(params={"theta": theta}, history={"step": np.arange(1), "loss": np.zeros(1)}, probs=None,
                          samples=None, n_params=n, seconds=2.0, seconds_per_step=2.0, attrs=attrs,
                          extra={"ansatz/generators": gens})
    model = read_artefact(write_trained_model(result, tmp_path / "big.h5", spec, 0, tpath, n))
    record = audit_model(model, read_artefact(tpath), SIGMAS)
    assert record["state_built"] is False and record["max_bond_dimension"] == -1
    assert math.isnan(record["entropy_half"]) and math.isnan(record["anticoncentration"])
    assert record["entropies"].size == 0 and record["clifford"] is False
    assert record["flip_n_samples"] == 200 and np.isfinite(record["flip_mmd2_samples"])
    assert math.isnan(record["model_mmd2_samples"]) and math.isnan(record["flip_mmd2_exact"])


def test_audit_refuses_reference_rows(bas_target):
    """The data and uniform reference rows are not quantum models either."""
    target = read_artefact(bas_target)
    for reference in ("data", "uniform"):
        with pytest.raises(ValueError, match=f"'{reference}'"):
            audit_model(reference_model(target, reference, 0), target, SIGMAS)
