"""Bit conventions: big-endian indexing as qml.probs uses it."""

import numpy as np

from qgenflow.bits import all_bitstrings, bits_to_index, empirical_probs, index_to_bits, sample_from_probs


def test_wire_zero_is_most_significant():
    """Bit 0 (wire 0) carries the highest weight of the index."""
    assert bits_to_index(np.array([[1, 0, 0]], dtype=np.uint8))[0] == 4
    assert index_to_bits(1, 3).tolist() == [0, 0, 1]


def test_round_trip_all_bitstrings():
    """Indices and bitstrings are inverse maps."""
    bits = all_bitstrings(5)
    assert np.array_equal(bits_to_index(bits), np.arange(32))


def test_matches_pennylane_probs_order():
    """X on wire 0 puts all probability on index 2^(n-1), as qml.probs reports it."""
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=3)

    @qml.qnode(dev)
    def circuit():
        qml.PauliX(0)
        return qml.probs(wires=range(3))

    p = circuit()
    assert np.argmax(p) == bits_to_index(np.array([[1, 0, 0]], dtype=np.uint8))[0]


def test_sampling_is_seeded_and_follows_probs(rng):
    """Same seed, same samples; histogram close to the probabilities."""
    p = np.array([0.1, 0.2, 0.3, 0.4])
    a = sample_from_probs(p, 50_000, np.random.default_rng(1))
    b = sample_from_probs(p, 50_000, np.random.default_rng(1))
    assert a.dtype == np.uint8 and np.array_equal(a, b)
    assert np.allclose(empirical_probs(a), p, atol=0.01)
