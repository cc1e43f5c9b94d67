"""Liu & Wang's Chow-Liu-tree ansatz: mutual information, the tree, the circuit and its training."""

import time

import numpy as np
import pytest

from qgenflow.bits import all_bitstrings, bits_to_index, sample_from_probs
from qgenflow.devices import make_device
from qgenflow.kernels import mmd2_exact
from qgenflow.models import QCBM, make_ansatz
from qgenflow.models.liu_wang import LiuWang, bit_moments, chain_edges, chow_liu_tree, mutual_information
from qgenflow.targets import bas_patterns, make_target
from qgenflow.train import train
from qgenflow.circuits import CircuitRunner

EXACT_TOL = 1e-12
MI_SAMPLE_TOL = 5e-3  # |MI(probs) - MI(200k samples)|: statistical error ~1e-3, bias ~1/(2N)
N_MI_SAMPLES = 200_000
PRODUCT_TOL = 1e-10
NORM_TOL = 1e-10
BAS2_REDUCTION = 10.0
BAS3_MMD_GOAL = 1e-5
BAS3_VALID_GOAL = 0.99
N_EVAL_SAMPLES = 20_000
# Liu & Wang's code uses exp(-d / (2 s)) with s in {0.5, 1, 2, 4}; our kernel is
# exp(-d / (2 sigma^2)), so their bandwidths are sigma = sqrt(s).
LIU_WANG_SIGMAS = [float(np.sqrt(s)) for s in (0.5, 1, 2, 4)]
PROJECT_SIGMAS = [0.5, 1, 2, 4]

# A Markov chain over 6 bits visited in a permuted order, with distinct flip rates so
# that no two mutual informations tie: its dependency tree is the chain itself.
CHAIN_ORDER = (3, 0, 5, 1, 4, 2)
FLIP_RATES = (0.05, 0.2, 0.1, 0.3, 0.15)


def markov_chain_probs(order, flips, first_one=0.4):
    """Exact big-endian probabilities of a binary Markov chain over the bits ``order[0] -> order[1] -> ...``."""
    bits = all_bitstrings(len(order)).astype(np.int64)
    head = bits[:, order[0]]
    p = np.where(head == 1, first_one, 1 - first_one)
    for k, eps in enumerate(flips):
        flipped = bits[:, order[k]] != bits[:, order[k + 1]]
        p = p * np.where(flipped, eps, 1 - eps)
    return p


def undirected(edges):
    """Edges as a set of sorted pairs."""
    return {tuple(sorted(map(int, e))) for e in edges}


def test_bit_moments_match_brute_force(rng):
    """Moments from the O(n 2^n) marginalisation equal sums over the full bit table."""
    n = 6
    p = rng.random(2**n)
    p /= p.sum()
    table = all_bitstrings(n).astype(np.float64)
    m, second = bit_moments(probs=p)
    assert np.allclose(m, p @ table, atol=EXACT_TOL)
    assert np.allclose(second, (table * p[:, None]).T @ table, atol=EXACT_TOL)


def test_mutual_information_of_independent_and_copied_bits():
    """Independent bits have zero MI; a copied fair bit has MI log 2."""
    p = np.zeros(8)
    # bit 1 copies bit 0 (fair); bit 2 is an independent biased coin.
    for b0 in (0, 1):
        for b2, w in ((0, 0.3), (1, 0.7)):
            p[bits_to_index(np.array([b0, b0, b2]))] = 0.5 * w
    mi = mutual_information(probs=p)
    assert mi[0, 1] == pytest.approx(np.log(2), abs=EXACT_TOL)
    assert abs(mi[0, 2]) < EXACT_TOL and abs(mi[1, 2]) < EXACT_TOL
    assert np.allclose(mi, mi.T) and np.all(np.diag(mi) == 0)


def test_mutual_information_from_samples_matches_probs(rng):
    """MI estimated from many samples agrees with MI from exact probabilities."""
    p = markov_chain_probs(CHAIN_ORDER, FLIP_RATES)
    samples = sample_from_probs(p, N_MI_SAMPLES, rng)
    assert np.abs(mutual_information(samples=samples) - mutual_information(probs=p)).max() < MI_SAMPLE_TOL


def test_chow_liu_recovers_markov_chain():
    """The Chow-Liu tree of a Markov chain in permuted bit order is that chain."""
    p = markov_chain_probs(CHAIN_ORDER, FLIP_RATES)
    edges = chow_liu_tree(mutual_information(probs=p))
    assert edges.shape == (len(CHAIN_ORDER) - 1, 2)
    assert undirected(edges) == undirected(zip(CHAIN_ORDER[:-1], CHAIN_ORDER[1:]))


def test_tree_is_oriented_breadth_first_from_root():
    """Edges run parent -> child from the bit of largest total MI, each child reached once."""
    p = markov_chain_probs(CHAIN_ORDER, FLIP_RATES)
    mi = mutual_information(probs=p)
    edges = chow_liu_tree(mi)
    root = int(np.argmax(mi.sum(axis=1)))
    assert edges[0, 0] == root
    reached = {root}
    for parent, child in edges:
        assert parent in reached and child not in reached
        reached.add(int(child))
    assert reached == set(range(len(CHAIN_ORDER)))


def test_prepare_uses_target_probs_else_samples_else_chain():
    """The tree comes from exact probs, or from samples when probs are absent, or is the chain without a target."""
    target = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 3, "n_samples": 5000}, 0)
    exact = make_ansatz("liu_wang", 6, 2, target=target)
    assert np.array_equal(exact.structure["tree_edges"], chow_liu_tree(mutual_information(probs=target.probs)))
    target.probs = None
    from_samples = make_ansatz("liu_wang", 6, 2, target=target)
    assert np.array_equal(
        from_samples.structure["tree_edges"], chow_liu_tree(mutual_information(samples=target.samples))
    )
    assert np.array_equal(make_ansatz("liu_wang", 6, 2).structure["tree_edges"], chain_edges(6))
    chain = make_ansatz("liu_wang", 6, 2, {"entangler": "chain"}, target=target)
    assert np.array_equal(chain.structure["tree_edges"], chain_edges(6))


def test_parameter_count_equals_rotations_applied():
    """3n(L+1) - 2n angles, one per rotation gate; L entanglers of n-1 CNOTs."""
    n, layers = 5, 3
    ansatz = make_ansatz("liu_wang", n, layers)
    ops = ansatz.ops(np.zeros(ansatz.shape))
    n_rot = sum(op.name in ("RX", "RZ") for op in ops)
    assert ansatz.n_params == 3 * n * (layers + 1) - 2 * n == n_rot
    assert sum(op.name == "CNOT" for op in ops) == layers * (n - 1)
    assert ops[0].name == "RX" and ops[-1].name == "RX"


def test_probs_are_normalised(rng):
    """Born probabilities of random angles sum to one."""
    target = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 10}, 0)
    model = QCBM(make_ansatz("liu_wang", 4, 3, target=target))
    p = CircuitRunner(make_device({}, 4), 4).probs(model.ops(model.init_params(rng, np.pi)))
    assert p.sum() == pytest.approx(1.0, abs=NORM_TOL) and p.min() >= -NORM_TOL


def test_represents_product_target_exactly():
    """Angles with RX(2 arcsin sqrt(q_i)) on each qubit and the rest zero give any product distribution."""
    n, layers = 4, 2
    q1 = np.array([0.1, 0.5, 0.8, 0.35])
    target_probs = np.prod(np.where(all_bitstrings(n) == 1, q1, 1 - q1), axis=1)
    ansatz = LiuWang(n_qubits=n, layers=layers)
    ansatz.prepare(None)
    params = np.zeros(ansatz.shape)
    # Only the last layer rotates; the CNOTs before it act on |0...0> and do nothing.
    for k, (layer, wire, axis) in enumerate(ansatz.rotations()):
        if layer == layers and axis == "x":
            params[k] = 2 * np.arcsin(np.sqrt(q1[wire]))
    p = CircuitRunner(make_device({}, n), n).probs(ansatz.ops(params))
    assert np.allclose(p, target_probs, atol=PRODUCT_TOL)


def test_training_bas2x2_lowers_mmd():
    """A short Adam run on bars-and-stripes 2x2 lowers the squared MMD more than tenfold."""
    target = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 10}, 0)
    spec = {"ansatz": "liu_wang", "layers": 3, "optimizer": {"name": "adam", "lr": 0.1, "steps": 100}}
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    result, probs = trained, trained.probs
    loss = result.history["loss"]
    assert trained.attrs["ansatz"] == "liu_wang"
    assert loss[-1] < loss[0] / BAS2_REDUCTION
    assert probs.sum() == pytest.approx(1.0, abs=NORM_TOL)


@pytest.mark.slow
def test_bas3x3_acceptance():
    """Liu & Wang's BAS 3x3 setup (depth 10, exact gradients, Adam) reaches MMD <= 1e-5 and >= 99 % valid samples."""
    target = make_target({"kind": "bars_and_stripes", "rows": 3, "cols": 3, "n_samples": 100}, 0)
    spec = {
        "ansatz": "liu_wang",
        "layers": 10,
        "loss": {"type": "mmd", "sigmas": LIU_WANG_SIGMAS},
        "optimizer": {"name": "adam", "lr": 0.1, "steps": 2000, "schedule": "cosine"},
        "device": {"name": "lightning.qubit", "shots": None},
        "data_access": "probabilities",  # Liu & Wang fit the exact distribution
    }
    start = time.perf_counter()
    trained = train({**spec, "kind": "qcbm"}, target, seed=0)
    probs = trained.probs
    seconds = time.perf_counter() - start
    samples = sample_from_probs(probs, N_EVAL_SAMPLES, np.random.default_rng(0))
    valid = np.isin(bits_to_index(samples), bits_to_index(bas_patterns(3, 3))).mean()
    mmd_lw = mmd2_exact(probs, target.probs, LIU_WANG_SIGMAS)
    mmd_ours = mmd2_exact(probs, target.probs, PROJECT_SIGMAS)
    print(
        f"BAS 3x3: {trained.n_params} angles, MMD^2 {mmd_lw:.3e} (their kernel) {mmd_ours:.3e} (ours), "
        f"valid {valid:.4f}, {seconds:.0f} s"
    )
    assert mmd_lw <= BAS3_MMD_GOAL and mmd_ours <= BAS3_MMD_GOAL
    assert valid >= BAS3_VALID_GOAL
