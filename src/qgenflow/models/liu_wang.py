"""Liu & Wang's Born-machine circuit: rotation layers and CNOTs on a Chow-Liu tree.

Liu & Wang, PRA 98, 062324 (2018), Sec. III and Fig. 2: a depth-``L`` circuit is
``L + 1`` layers of arbitrary single-qubit rotations ``Rz Rx Rz`` on every qubit,
with a CNOT entangler between consecutive rotation layers. The CNOTs act along
the edges of the Chow-Liu tree of the target: the maximum spanning tree of the
pairwise mutual information between bits, i.e. the best tree-shaped
approximation of the data's dependencies (Chow & Liu, IEEE Trans. Inf. Theory 14,
462 (1968)).

As in the authors' code, the first ``Rz`` of the first layer (it acts on |0> and
only adds a global phase) and the last ``Rz`` of the last layer (it commutes with
the computational-basis measurement) are left out: they cannot change p(x), so
they would only add flat directions to the loss. A depth-``L`` circuit on ``n``
qubits thus has ``3 n (L + 1) - 2 n`` angles, all trainable.

Angles are a flat vector in circuit order: rotation layer ``l = 0..L``, then
qubit ``q = 0..n-1``, then the gates ``Rz, Rx, Rz`` of that qubit that are
present (see :meth:`LiuWang.rotations`).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import numpy as np

from ..errors import InvalidConfigError
from .ansatz import Ansatz, register_ansatz

__all__ = ["LiuWang", "bit_moments", "chain_edges", "chow_liu_tree", "mutual_information"]

log = logging.getLogger(__name__)

ENTANGLERS = ("chow_liu", "chain")
# Mutual informations equal to this many decimals count as ties, so the tree does
# not depend on last-digit rounding (e.g. of symmetric targets like bars-and-stripes).
MI_DECIMALS = 12


def bit_moments(probs: np.ndarray | None = None, samples: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First and second moments of the bits: ``m_i = P(x_i = 1)``, ``M_ij = P(x_i = 1, x_j = 1)``.

    From an exact big-endian probability vector this costs ``O(n 2^n)`` (one
    slice-and-sum per bit, never a ``2^n x n`` bit table); from samples [N, n]
    it is their empirical moments.
    """
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float64)
        n = int(round(np.log2(probs.size)))
        if 2**n != probs.size:
            raise ValueError(f"probability vector length {probs.size} is not a power of two")
        second = np.zeros((n, n))
        for i in range(n):
            # Mass with bit i set, as a vector over bits i+1..n-1 (big-endian).
            rest = probs.reshape(2**i, 2, 2 ** (n - 1 - i))[:, 1, :].sum(axis=0)
            second[i, i] = rest.sum()
            second[i, i + 1 :] = _bit_means(rest, n - 1 - i)
        second = np.triu(second) + np.triu(second, 1).T
        return np.diag(second).copy(), second
    if samples is not None:
        bits = np.asarray(samples, dtype=np.float64)
        if bits.ndim != 2 or bits.shape[0] == 0:
            raise ValueError(f"samples must be a non-empty [N, n] array, got shape {bits.shape}")
        second = bits.T @ bits / bits.shape[0]
        return bits.mean(axis=0), second
    raise ValueError("bit_moments needs probs or samples")


def _bit_means(vec: np.ndarray, n: int) -> np.ndarray:
    """``sum_x vec[x] x_k`` for every bit ``k`` of a big-endian vector over ``n`` bits."""
    return np.array([vec.reshape(2**k, 2, 2 ** (n - 1 - k))[:, 1, :].sum() for k in range(n)])


def mutual_information(probs: np.ndarray | None = None, samples: np.ndarray | None = None) -> np.ndarray:
    """Symmetric [n, n] matrix of pairwise mutual information between bits, in nats (zero diagonal).

    Uses exact probabilities when given, else the empirical distribution of
    ``samples`` (whose estimate is biased upwards by about ``1 / (2 N)``).
    """
    m, second = bit_moments(probs, samples)
    mi_, mj_ = m[:, None], m[None, :]
    # Joint table of each pair (a, b) = (x_i, x_j), with its product of marginals.
    joint = np.stack([1.0 - mi_ - mj_ + second, mj_ - second, mi_ - second, second])
    product = np.stack([(1 - mi_) * (1 - mj_), (1 - mi_) * mj_, mi_ * (1 - mj_), mi_ * mj_])
    joint = np.clip(joint, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / product), 0.0)
    mi = np.clip(terms.sum(axis=0), 0.0, None)
    np.fill_diagonal(mi, 0.0)
    return (mi + mi.T) / 2


def chow_liu_tree(mi: np.ndarray) -> np.ndarray:
    """Edges [n-1, 2] (parent, child) of the maximum spanning tree of ``mi``, oriented from a root.

    The tree is built with Prim's algorithm; the root is the bit with the largest
    total mutual information, and edges are listed in breadth-first order from it,
    visiting children by increasing index. Ties (to :data:`MI_DECIMALS` decimals)
    go to the lowest index, so the result is deterministic.
    """
    weights = np.round(np.asarray(mi, dtype=np.float64), MI_DECIMALS)
    n = weights.shape[0]
    if weights.shape != (n, n):
        raise ValueError(f"mutual information must be a square matrix, got shape {weights.shape}")
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = weights[0].copy()
    attach = np.zeros(n, dtype=np.int64)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for _ in range(n - 1):
        candidates = np.where(in_tree, -np.inf, best)
        v = int(np.argmax(candidates))
        neighbours[v].append(int(attach[v]))
        neighbours[int(attach[v])].append(v)
        in_tree[v] = True
        better = ~in_tree & (weights[v] > best)
        best[better] = weights[v][better]
        attach[better] = v
    root = int(np.argmax(np.round(weights.sum(axis=1), MI_DECIMALS)))
    return _bfs_edges(neighbours, root)


def _bfs_edges(neighbours: list[list[int]], root: int) -> np.ndarray:
    seen = {root}
    queue = deque([root])
    edges = []
    while queue:
        u = queue.popleft()
        for v in sorted(neighbours[u]):
            if v not in seen:
                seen.add(v)
                edges.append((u, v))
                queue.append(v)
    return np.array(edges, dtype=np.int64).reshape(-1, 2)


def chain_edges(n: int) -> np.ndarray:
    """Edges [n-1, 2] of the chain 0 -> 1 -> ... -> n-1."""
    return np.array([(i, i + 1) for i in range(n - 1)], dtype=np.int64).reshape(-1, 2)


def _target_distribution(target: Any) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """(n_qubits, exact probs or None, samples or None) of a target Artefact or Target."""
    if hasattr(target, "datasets"):  # qgenflow.io.Artefact
        return int(target.attrs["n_qubits"]), target.get("probs"), target.get("samples")
    return int(target.n_qubits), getattr(target, "probs", None), getattr(target, "samples", None)


@register_ansatz("liu_wang")
class LiuWang(Ansatz):
    """Liu & Wang's circuit: ``layers + 1`` rotation layers, CNOTs on a tree between them.

    Options:
        entangler: ``chow_liu`` (default; the target's Chow-Liu tree, a chain
            without a target) or ``chain`` (CNOTs 0->1->...->n-1).

    Structure:
        tree_edges: int [n-1, 2], the (control, target) pairs of every entangler, in order.
    """

    def prepare(self, target: Any) -> None:
        """Fix the entangling tree, from the target's mutual information when asked."""
        unknown = set(self.options) - {"entangler"}
        if unknown:
            raise InvalidConfigError(
                "ansatz_options", f"unknown option(s) {', '.join(sorted(unknown))} for liu_wang; allowed: entangler"
            )
        entangler = self.options.get("entangler", "chow_liu")
        if entangler not in ENTANGLERS:
            raise InvalidConfigError(
                "ansatz_options.entangler", f"unknown entangler {entangler!r}; allowed: {', '.join(ENTANGLERS)}"
            )
        if entangler == "chain" or target is None:
            if target is None and entangler == "chow_liu":
                log.info("liu_wang: no target given, entangling along the chain 0-1-...-%d", self.n_qubits - 1)
            self.structure["tree_edges"] = chain_edges(self.n_qubits)
            return
        n, probs, samples = _target_distribution(target)
        if n != self.n_qubits:
            raise ValueError(f"target has {n} bits but the ansatz has {self.n_qubits} qubits")
        mi = mutual_information(probs=probs) if probs is not None else mutual_information(samples=samples)
        self.structure["tree_edges"] = chow_liu_tree(mi)
        log.info("liu_wang: Chow-Liu tree %s", self.structure["tree_edges"].tolist())

    @property
    def tree_edges(self) -> np.ndarray:
        if "tree_edges" not in self.structure:
            self.structure["tree_edges"] = chain_edges(self.n_qubits)
        return self.structure["tree_edges"]

    def _axes(self, layer: int) -> str:
        """Rotation axes applied to each qubit in rotation layer ``layer``."""
        axes = "zxz"
        if layer == self.layers:
            axes = axes[:-1]  # a final Rz commutes with the measurement
        if layer == 0:
            axes = axes[1:]  # a leading Rz on |0> is a global phase
        return axes

    def rotations(self) -> list[tuple[int, int, str]]:
        """(rotation layer, wire, axis ``"z"`` or ``"x"``) of every angle, in parameter order."""
        return [
            (layer, wire, axis)
            for layer in range(self.layers + 1)
            for wire in range(self.n_qubits)
            for axis in self._axes(layer)
        ]

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rotations()),)

    def ops(self, params: np.ndarray) -> list:
        import pennylane as qml  # heavy: ~3 s; classical-baseline jobs import the models package but build no circuit
        gate = {"z": qml.RZ, "x": qml.RX}
        angles = iter(np.asarray(params).reshape(self.shape))
        edges = [[int(c), int(t)] for c, t in self.tree_edges]
        ops = []
        for layer in range(self.layers + 1):
            for wire in range(self.n_qubits):
                ops.extend(gate[axis](next(angles), wires=wire) for axis in self._axes(layer))
            if layer < self.layers:
                ops.extend(qml.CNOT(wires=e) for e in edges)
        return ops
