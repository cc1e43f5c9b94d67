"""Random circuit sampling targets: gate rules, coupling patterns, exact probabilities, Porter-Thomas."""

import jsonschema
import numpy as np
import pennylane as qml
import pytest

from qgenflow.catalog import PORTER_THOMAS_KINDS, TargetFacts, target_figure_names
from qgenflow.errors import InvalidConfigError
from qgenflow.schema import load_schema
from qgenflow.targets import REGISTRY, make_target
from qgenflow.targets.iqp import anticoncentration
from qgenflow.targets.random_circuit import (
    apply_gate,
    build_random_circuit,
    coupling_layers,
    entangler_matrix,
    make_random_circuit,
    random_circuit_probs,
    random_circuit_qubits,
    single_qubit_matrices,
)

TOL_PROBS = 1e-12  # two exact simulations of the same circuit
TOL_NORM = 1e-12  # sum of a float64 probability vector over <= 2^12 entries
TOL_MATRIX = 1e-14  # closed-form 2x2 / 4x4 gate identities
# Porter-Thomas acceptance: 2^n sum p^2 within 10 % of 2. Over 10 circuits at n = 12, depth 12,
# fsim, the chain gave mean 1.99 (sd 0.037, range [1.93, 2.05]), the 3x4 grid 2.00 (sd 0.034).
TOL_PORTER_THOMAS = 0.2
N_SIGMA = 5.0  # statistical tolerances are this many standard errors


def spec_of(n, **extra):
    """A random_circuit target spec with ``n`` qubits."""
    return {"kind": "random_circuit", "n_qubits": n, **extra}


@pytest.fixture
def seed() -> int:
    """The circuit seed of tests that need one fixed circuit."""
    return 5


def pennylane_ops(circuit, entangler, theta=np.pi / 2, phi=np.pi / 6):
    """The circuit as PennyLane gates, built independently of the module's matrices."""
    singles = {
        0: lambda q: [qml.RX(np.pi / 2, wires=q)],
        1: lambda q: [qml.RY(np.pi / 2, wires=q)],
        # exp(-i pi/4 W) = RZ(pi/4) RX(pi/2) RZ(-pi/4), since RZ(pi/4) X RZ(-pi/4) = (X + Y) / sqrt 2
        2: lambda q: [qml.RZ(-np.pi / 4, wires=q), qml.RX(np.pi / 2, wires=q), qml.RZ(np.pi / 4, wires=q)],
    }
    two = {
        "cz": lambda a, b: [qml.CZ(wires=[a, b])],
        "iswap": lambda a, b: [qml.ISWAP(wires=[a, b])],
        # fSim(theta, phi): IsingXY(-2 theta) on the {01, 10} block, then the phase exp(-i phi) on |11>
        "fsim": lambda a, b: [qml.IsingXY(-2 * theta, wires=[a, b]), qml.ControlledPhaseShift(-phi, wires=[a, b])],
    }[entangler]
    ops = []
    for k, row in enumerate(circuit.gates):
        for q, code in enumerate(row):
            ops += singles[int(code)](q)
        if k < len(circuit.layers):
            for a, b in circuit.layers[k]:
                ops += two(a, b)
    return ops


def pennylane_probs(ops, n):
    """``qml.probs`` of ``ops`` on default.qubit."""
    tape = qml.tape.QuantumScript(ops, [qml.probs(wires=range(n))])
    return np.asarray(qml.device("default.qubit", wires=n).execute(tape))


@pytest.mark.parametrize("entangler", ["cz", "fsim", "iswap"])
@pytest.mark.parametrize("layout", [{"layout": "chain"}, {"layout": "grid", "rows": 2, "cols": 3}])
def test_probs_equal_pennylane(entangler, layout, seed):
    """The tensor simulation equals default.qubit's qml.probs of the same gate list (big-endian, wire 0 first)."""
    n = 6 if layout["layout"] == "grid" else 5
    spec = spec_of(n, depth=6, entangler=entangler, **layout)
    circuit = build_random_circuit(spec, seed)
    ours = random_circuit_probs(circuit)
    ref = pennylane_probs(pennylane_ops(circuit, entangler), n)
    np.testing.assert_allclose(ours, ref, atol=TOL_PROBS)
    assert abs(ours.sum() - 1.0) < TOL_NORM


def test_fsim_angles_reach_the_circuit(seed):
    """Configured fSim angles are the ones simulated (default.qubit with the same angles)."""
    theta, phi = 0.7, 1.9
    spec = spec_of(5, depth=5, fsim={"theta": theta, "phi": phi})
    circuit = build_random_circuit(spec, seed)
    ref = pennylane_probs(pennylane_ops(circuit, "fsim", theta, phi), 5)
    np.testing.assert_allclose(random_circuit_probs(circuit), ref, atol=TOL_PROBS)


def test_gates_are_sycamore_gates():
    """sqrt(X), sqrt(Y), sqrt(W) square to X, Y, W up to the phase -i; fSim(pi/2, 0) is iSWAP^dagger."""
    x = np.array([[0, 1], [1, 0]])
    y = np.array([[0, -1j], [1j, 0]])
    for gate, pauli in zip(single_qubit_matrices(), (x, y, (x + y) / np.sqrt(2))):
        np.testing.assert_allclose(gate @ gate, -1j * pauli, atol=TOL_MATRIX)
    np.testing.assert_allclose(entangler_matrix("fsim", np.pi / 2, 0.0), entangler_matrix("iswap").conj().T,
                               atol=TOL_MATRIX)
    np.testing.assert_allclose(entangler_matrix("cz"), qml.CZ.compute_matrix(), atol=TOL_MATRIX)


def test_apply_gate_any_wire_order():
    """A gate on wires (b, a) with b > a acts as the swapped gate on (a, b) (checked with qml.matrix)."""
    rng = np.random.default_rng(3)
    n = 4
    state = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    gate = entangler_matrix("fsim", 0.3, 1.1) @ np.kron(single_qubit_matrices()[0], single_qubit_matrices()[2])
    ours = state.copy()
    apply_gate(ours, gate, (3, 1))
    full = qml.matrix(qml.QubitUnitary(gate, wires=[3, 1]), wire_order=range(n))
    np.testing.assert_allclose(ours, full @ state, atol=TOL_PROBS)


def test_no_gate_repeats_on_a_qubit(seed):
    """No qubit gets the same single-qubit gate in consecutive layers; each gate is used and the choice is fair."""
    depth = 400
    gates = build_random_circuit(spec_of(8, depth=depth), seed).gates
    assert gates.shape == (depth + 1, 8)
    assert np.all(gates[1:] != gates[:-1])
    # each later gate is one of the two others, uniformly: the +1 steps are Binomial(depth * n, 1/2)
    steps = (gates[1:].astype(int) - gates[:-1]) % 3
    m = steps.size
    assert abs(np.sum(steps == 1) - m / 2) < N_SIGMA * np.sqrt(m / 4)
    assert set(np.unique(gates)) == {0, 1, 2}


def test_seeded_determinism(seed):
    """The same circuit seed rebuilds the same circuit; another seed, or a null seed under another run, differs."""
    spec = spec_of(6, depth=8)
    a, b = build_random_circuit(spec, seed), build_random_circuit(spec, seed)
    np.testing.assert_array_equal(a.gates, b.gates)
    assert not np.array_equal(a.gates, build_random_circuit(spec, seed + 1).gates)
    t1 = make_target(spec, seed=0)
    t2 = make_target(spec, seed=0)
    np.testing.assert_array_equal(t1.samples, t2.samples)
    np.testing.assert_array_equal(t1.probs, t2.probs)
    t3 = make_target(spec, seed=1)
    assert t3.attrs["circuit_seed"] != t1.attrs["circuit_seed"]
    fixed = [make_target({**spec, "circuit_seed": 9}, seed=s) for s in (0, 1)]
    np.testing.assert_array_equal(fixed[0].probs, fixed[1].probs)


def test_chain_layers_alternate():
    """A chain alternates the even bonds (0,1),(2,3) and the odd bonds (1,2),(3,4)."""
    layers = coupling_layers(5, 4, "chain")
    assert layers == (((0, 1), (2, 3)), ((1, 2), (3, 4)), ((0, 1), (2, 3)), ((1, 2), (3, 4)))


def test_grid_layers_are_abcdcdab_matchings():
    """On a 3x4 grid each cycle is a matching, the four sets cover every bond once, in the order ABCDCDAB."""
    rows, cols = 3, 4
    layers = coupling_layers(rows * cols, 8, "grid", rows, cols)
    for layer in layers:
        qubits = [q for bond in layer for q in bond]
        assert len(qubits) == len(set(qubits))
    bonds = {(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)}
    bonds |= {(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)}
    distinct = set(layers[:4])
    assert len(distinct) == 4 and sorted(b for layer in distinct for b in layer) == sorted(bonds)
    assert [layers.index(layer) for layer in layers] == [0, 1, 2, 3, 2, 3, 0, 1]
    assert layers[0] == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11))  # A: horizontal, even columns


@pytest.mark.parametrize("layout", [{"layout": "chain"}, {"layout": "grid", "rows": 3, "cols": 4}])
def test_porter_thomas_at_12_qubits(layout):
    """Acceptance: n = 12, depth 12, 2^n sum p^2 within 10 % of the Porter-Thomas value 2."""
    target = make_target(spec_of(12, depth=12, circuit_seed=0, **layout), seed=0)
    assert abs(target.attrs["anticoncentration"] - 2.0) < TOL_PORTER_THOMAS
    assert abs(anticoncentration(target.probs) - target.attrs["anticoncentration"]) < TOL_NORM
    assert abs(target.probs.sum() - 1.0) < TOL_NORM


def test_shallow_circuit_is_not_porter_thomas():
    """The check can fail: one cycle on a chain leaves a product-like state far from Porter-Thomas."""
    target = make_target(spec_of(12, depth=1, circuit_seed=0, entangler="cz"), seed=0)
    assert abs(target.attrs["anticoncentration"] - 2.0) > TOL_PORTER_THOMAS


def test_target_artefact_contents(seed):
    """Samples, probabilities, stored circuit, XEB near 2^n sum p^2 - 1 and the attributes of the run."""
    spec = spec_of(8, depth=10, n_samples=20000, circuit_seed=seed)
    target = make_random_circuit(spec, np.random.default_rng(0))
    circuit = build_random_circuit(spec, seed)
    np.testing.assert_array_equal(target.extra["circuit/gates"], circuit.gates)
    couplers = target.extra["circuit/couplers"]
    assert couplers.shape == (sum(len(layer) for layer in circuit.layers), 3)
    assert target.samples.shape == (20000, 8) and target.samples.dtype == np.uint8
    # an exact sampler's XEB has mean 2^n sum p^2 - 1 and variance (2^n)^2 var(p(x)) / N
    p = target.probs
    var = (p.size**2) * (np.dot(p, p**2) - np.dot(p, p) ** 2) / 20000
    assert abs(target.attrs["xeb"] - (target.attrs["anticoncentration"] - 1.0)) < N_SIGMA * np.sqrt(var)
    assert target.attrs["circuit_seed"] == seed and target.attrs["entangler"] == "fsim"
    assert target.attrs["fsim_theta"] == pytest.approx(np.pi / 2) and target.attrs["fsim_phi"] == pytest.approx(np.pi / 6)


@pytest.mark.parametrize(
    "extra, key",
    [
        ({"entangler": "cnot"}, "entangler"),
        ({"layout": "ring"}, "layout"),
        ({"layout": "grid", "rows": 2, "cols": 2}, "rows"),
        ({"layout": "grid"}, "rows"),
        ({"rows": 2, "cols": 3}, "rows"),
        ({"depth": 0}, "depth"),
        ({"fsim": {"theta": 1.0, "chi": 2.0}}, "fsim.chi"),
        ({"circuit_seed": -1}, "circuit_seed"),
    ],
)
def test_bad_config_names_the_key(extra, key):
    """An unknown entangler or layout, a grid that does not hold n_qubits, ... name the offending key."""
    with pytest.raises(InvalidConfigError) as err:
        random_circuit_qubits(spec_of(6, **extra))
    assert err.value.key == key


def test_too_many_qubits_is_refused():
    """Above the statevector limit the width check refuses the entry."""
    with pytest.raises(InvalidConfigError, match="n_qubits"):
        random_circuit_qubits(spec_of(25))


def test_registered_with_sampling_class_and_porter_thomas_figure():
    """random_circuit is a registered sampling class, and its exact targets get the Porter-Thomas figure."""
    entry = REGISTRY["random_circuit"]
    assert "Boixo" in entry.sampling_class and "Arute" in entry.sampling_class
    assert entry.qubits(spec_of(12, layout="grid", rows=3, cols=4)) == 12
    assert all(REGISTRY[kind].sampling_class for kind in PORTER_THOMAS_KINDS)
    facts = TargetFacts(kind="random_circuit", quantum=False, has_probs=True, model_kinds=frozenset(), swept=False)
    assert "porter_thomas" in target_figure_names(facts)


def test_schema_example_is_valid():
    """The example entry in the schema's docs validates against the schema and builds a 12-qubit target."""
    example = {"kind": "random_circuit", "n_qubits": 12, "depth": 14, "layout": "grid", "rows": 3, "cols": 4,
               "entangler": "fsim"}
    jsonschema.validate({"targets": {"rc": example}}, {**load_schema(), "required": []})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"targets": {"rc": {**example, "entangler": "cnot"}}}, {**load_schema(), "required": []})
    assert make_target({**example, "n_samples": 100}, seed=0).probs.size == 2**12
