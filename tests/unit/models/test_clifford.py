"""The Clifford ansatz: its gate set, its circuits, and sampling them on default.clifford at hundreds of qubits."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pennylane as qml
import pytest
from scipy.stats import chisquare

from qgenflow.bits import bits_to_index
from qgenflow.errors import InvalidConfigError
from qgenflow.metrics.audit import clifford_circuit, is_clifford_op
from qgenflow.models import make_ansatz
from qgenflow.models.clifford import SINGLE_QUBIT_CLIFFORDS, gate_indices
from qgenflow.train.clifford import sample_circuit

#: Agreement of two exact computations.
EXACT = 1e-10
#: Wall-time budget of sampling a 200-qubit circuit (the test's requirement).
LARGE_SAMPLING_SECONDS = 10.0
#: A chi-square p-value below this fails the test (a false alarm once in 10^4 seeds).
P_VALUE_FLOOR = 1e-4
CLIFFORD_DEVICE = {"name": "default.clifford"}
LETTERS = {"H": np.array([[1, 1], [1, -1]]) / np.sqrt(2), "S": np.diag([1, 1j])}


def word_matrix(word: str) -> np.ndarray:
    """The unitary of a word of H and S gates applied left to right."""
    u = np.eye(2, dtype=complex)
    for letter in word:
        u = LETTERS[letter] @ u
    return u


def same_up_to_phase(u: np.ndarray, v: np.ndarray) -> bool:
    """Whether two unitaries differ by a global phase only."""
    return abs(abs(np.trace(u.conj().T @ v)) - u.shape[0]) < 1e-9


def test_the_24_words_are_the_single_qubit_clifford_group():
    """24 distinct Cliffords (mod phase), identity first, closed under products: the whole group."""
    mats = [word_matrix(w) for w in SINGLE_QUBIT_CLIFFORDS]
    assert len(mats) == 24 and SINGLE_QUBIT_CLIFFORDS[0] == ""
    for u, v in itertools.combinations(mats, 2):
        assert not same_up_to_phase(u, v)
    for u in mats:
        assert is_clifford_op(qml.QubitUnitary(u, wires=0))
    for u, v in itertools.product(mats, repeat=2):
        assert any(same_up_to_phase(u @ v, w) for w in mats)


def test_ansatz_circuit_is_clifford_and_matches_its_gate_words(rng):
    """The ansatz's ops are all Clifford, one word per site and a CNOT chain per layer."""
    ansatz = make_ansatz("clifford", 5, 3)
    gates = ansatz.init_params(rng, 1.0)
    assert gates.shape == (3, 5) and ansatz.n_params == 15
    ops = ansatz.ops(gates)
    assert clifford_circuit(ops)
    letters = sum(len(SINGLE_QUBIT_CLIFFORDS[int(g)]) for g in gates.ravel())
    assert len(ops) == letters + 3 * 4
    assert sum(isinstance(op, qml.CNOT) for op in ops) == 12
    cz = make_ansatz("clifford", 5, 3, {"entangler": "cz"}).ops(gates)
    assert sum(isinstance(op, qml.CZ) for op in cz) == 12 and clifford_circuit(cz)


def test_bad_gate_indices_and_options_are_refused():
    """Gate indices must be integers in 0..23; the entangler must be known."""
    with pytest.raises(ValueError, match="integers in 0..23"):
        gate_indices(np.array([0.5]))
    with pytest.raises(ValueError, match="integers in 0..23"):
        gate_indices(np.array([24.0]))
    with pytest.raises(InvalidConfigError, match="ansatz_options.entangler"):
        make_ansatz("clifford", 3, 1, {"entangler": "swap"})


def test_two_hundred_qubits_sample_quickly_and_reproducibly(rng):
    """A 200-qubit, 4-layer Clifford circuit samples on default.clifford in seconds; the seed fixes the shots."""
    ansatz = make_ansatz("clifford", 200, 4)
    ops = ansatz.ops(ansatz.init_params(rng, 1.0))
    start = time.perf_counter()
    a = sample_circuit(ops, 200, 2000, CLIFFORD_DEVICE, seed=7, step=0, stream=0)
    assert time.perf_counter() - start < LARGE_SAMPLING_SECONDS
    assert a.shape == (2000, 200) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(a, sample_circuit(ops, 200, 2000, CLIFFORD_DEVICE, seed=7, step=0, stream=0))
    assert not np.array_equal(a, sample_circuit(ops, 200, 2000, CLIFFORD_DEVICE, seed=8, step=0, stream=0))
    assert 0.3 < a.mean() < 0.7  # random Cliffords on 200 qubits: not stuck in |0...0>


def test_small_circuit_samples_follow_the_statevector(rng):
    """At 6 qubits: exact probabilities (default.qubit) are uniform on their support, a stabiliser
    state's affine subspace, and default.clifford's samples pass a chi-square test against them."""
    n = 6
    ansatz = make_ansatz("clifford", n, 3)
    ops = ansatz.ops(ansatz.init_params(rng, 1.0))
    tape = qml.tape.QuantumScript(ops, [qml.probs(wires=range(n))])
    probs = np.asarray(qml.device("default.qubit", wires=n).execute(tape))
    support = np.flatnonzero(probs > EXACT)
    k = np.log2(support.size)
    assert k == int(k) and np.allclose(probs[support], 2.0**-k, atol=EXACT) and support.size > 1
    samples = sample_circuit(ops, n, 4000, CLIFFORD_DEVICE, seed=3, step=0, stream=0)
    counts = np.bincount(bits_to_index(samples), minlength=2**n)
    assert counts[probs <= EXACT].sum() == 0
    assert chisquare(counts[support], 4000 * probs[support]).pvalue > P_VALUE_FLOOR
