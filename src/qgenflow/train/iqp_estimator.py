"""Classical training of IQP Born machines from target samples: the Z-string MMD estimator.

For the IQP circuit ``H^n D(theta) H^n`` (conventions of :mod:`qgenflow.targets.iqp`,
``D = prod_j exp(-i theta_j Z_{g_j})``) the expectation of a Z-string ``Z_a`` is

    <Z_a> = E_z[cos(sum_j 2 theta_j (-1)^(g_j . z) [g_j . a odd])],    z uniform on {0,1}^n,

(REFERENCES.md; for the spin-flip-symmetric input, ``z`` is uniform on the even-weight
strings and ``<Z_a> = 0`` for odd ``|a|``). The Gaussian kernel of :mod:`qgenflow.kernels`
has the Z-string expansion

    MMD^2_sigma(p, q) = E_{a ~ Bernoulli(p_sigma)^n}[(<Z_a>_p - <Z_a>_q)^2],  p_sigma = (1 - exp(-1/(2 sigma^2))) / 2,

and our mixture kernel is the mean of the per-bandwidth kernels, so
``MMD^2 = mean_sigma MMD^2_sigma``. ``q`` is the empirical distribution of the target
samples (``<Z_a>_q`` = the sample mean of ``(-1)^(a . x)``), as when a QCBM is trained on
samples only; ``unbiased_data=True`` instead estimates the MMD to the population the
samples came from (this shifts the loss by a constant and leaves its gradient unchanged).

Monte Carlo, per step (:meth:`ZStringMMD.draw_batch` with the numpy generator
:func:`step_rng` ``(seed, step)``, so draws are reproducible and a resumed run repeats them):
``n_ops`` strings, split evenly between the bandwidths (stratified: every bandwidth gets
``n_ops // S`` or one more), and ``n_z`` samples ``z`` shared by all strings, all redrawn
every step. ``(<Z_a>_p)^2`` is estimated without bias by the U-statistic
``((sum_i c_i)^2 - sum_i c_i^2) / (n_z (n_z - 1))`` of the ``c_i = cos(...)``, so the
estimator's expectation is exactly ``mmd2_exact(p_model, q_empirical, sigmas)``.

Sparsity. String ``a`` only touches generators with odd overlap ``g_j . a``. Two paths:

* ``pairwise`` (generators of weight <= 2, the default when it applies). With
  ``s = (-1)^z``, ``A`` the positions of the ones of ``a``, ``h`` the weight-1 angles and
  ``Theta`` the symmetric matrix of weight-2 angles, the odd generators are ``{i}`` and
  ``{i, k}`` with ``i in A``, ``k not in A``, so the phase is

      2 [sum_{i in A} s_i (h_i + W_i) - sum_{i, k in A} Theta_ik s_i s_k],    W = Theta s,

  where ``W`` is shared by all strings and needed only on the batch's rows (the qubits
  some string touches, ~``n_ops E|a|``): for dense pair sets the product
  ``Theta[rows] @ S``, the rows gathered from the parameters and their gradient
  scattered back by numba on the host (:mod:`qgenflow.train.iqp_kernels`; ``Theta``
  is never built as an [n, n] matrix and the parameters never enter JAX), an edge-wise scatter for sparse
  patterns such as chains and lattices. The per-string sums run
  over the sparse incidences (string, position of a one) and (string, weight-2
  generator inside ``A``), gathered and reduced with ``segment_sum`` (the first as a
  product with the dense [strings, n] bit matrix while that is small); for bandwidths
  whose strings are heavy (padded weight > ``block_min_weight``) the second sum uses
  dense ``[|A|, |A|]`` blocks instead. Cost per step
  ``O(n^2 n_z + n_z sum_a |a|^2)``, against ``O(n_z sum_a |a| n)`` for a list of the
  odd generators (about ``2n`` per weight-2 string) and ``O(n_ops n_z G)`` dense.
* ``incidence`` (any weights): the (string, generator) pairs with odd overlap, found
  per step from the positions of each string's ones through a qubit -> generator
  index; the phase is a ``segment_sum`` over them of ``2 theta_j prod_{q in g_j} s_q``.

Both are jit-compiled JAX with ``jax.grad`` for the gradient. Incidence lists are padded
to lengths that only grow (by a quarter when exceeded), so a run compiles once or a few
times; ``z`` is processed in chunks (``lax.map`` with rematerialisation) when the
largest ``[rows, n_z]`` intermediate would exceed 2^24 elements. The cost grows with
``E|a|^2``, i.e. as the bandwidth shrinks: at ``n = 1000``, ``sigma = 1`` gives
``|a| ~ 200`` (and a kernel that sees little beyond ``x = y``), so bandwidths are best
scaled with ``sqrt(n)`` (:func:`sigmas_for_weights`).

Sampling the trained circuit (:func:`sample_iqp_model`) is exact up to
:data:`~qgenflow.limits.MAX_EXACT_QUBITS` qubits, ``lightning.qubit`` shots up to
:data:`~qgenflow.targets.iqp.MAX_SHOT_QUBITS`, and beyond that only on a configured
device: sampling IQP circuits is believed classically hard, which is the point of them.
"""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
from scipy.stats import binom

from ..bits import index_to_bits, sample_from_probs
from ..devices import make_device
from ..errors import QgenflowError
from ..fit.checkpoint import Checkpointer
from ..fit.loop import TrainResult, fit
from ..limits import MAX_EXACT_QUBITS, MAX_DENSE_QUBITS
from ..models.iqp import IQPAnsatz
from ..rng import make_rng
from ..targets.iqp import MAX_SHOT_QUBITS, iqp_phase, iqp_probs, walsh_hadamard
from .iqp_kernels import gather_rows, pm1_matmul, scatter_all_pairs, scatter_rows

__all__ = [
    "ClassicalSamplingError",
    "ZStringBatch",
    "ZStringMMD",
    "bandwidth_probability",
    "data_init",
    "estimator_sigmas",
    "fit_iqp_estimator",
    "initial_angles",
    "iqp_model_probs",
    "iqp_outputs",
    "sample_iqp_model",
    "sigmas_for_weights",
    "step_rng",
]

log = logging.getLogger(__name__)

PATHS = ("auto", "pairwise", "incidence")
# Probability that a step needs a larger padded string weight than the initial guess.
_PAD_OVERFLOW = 0.01
# Elements of the largest [rows, z-chunk] intermediate; z is processed in chunks beyond it.
_CHUNK_ELEMENTS = 1 << 24
# Bandwidths whose padded string weight exceeds this use dense [k, k] blocks for the pair term.
_BLOCK_MIN_K = 32
# Mean string weight above which a bandwidth gets a warning (cost ~ weight^2).
_HEAVY_WEIGHT = 64
# Strings x qubits up to which the strings' ones are summed by a dense matrix product.
_DENSE_STRINGS = 1 << 22
# Weight-2 generators above this fraction of all n^2 / 2 pairs use the dense Theta s product.
_DENSE_PAIR_FRACTION = 1 / 16
# A trained model's exact probabilities are stored up to this many qubits.


class ClassicalSamplingError(QgenflowError, RuntimeError):
    """The trained IQP circuit is too large to sample classically; use a configured (hardware) device."""


def bandwidth_probability(sigma: float) -> float:
    """``p_sigma = (1 - exp(-1 / (2 sigma^2))) / 2``: each bit of a Z-string is 1 with this probability."""
    if sigma <= 0:
        raise ValueError(f"kernel bandwidth must be > 0, got {sigma}")
    return float(-math.expm1(-1.0 / (2.0 * sigma**2)) / 2.0)


def sigmas_for_weights(n_qubits: int, mean_weights: Sequence[float]) -> list[float]:
    """Bandwidths whose Z-strings have the given mean weights ``n p_sigma`` on ``n_qubits`` bits.

    ``p_sigma = w / n`` gives ``sigma = 1 / sqrt(-2 log(1 - 2 w / n))`` (about ``sqrt(n / (4 w))``).
    """
    out = []
    for w in mean_weights:
        p = float(w) / n_qubits
        if not 0.0 < p < 0.5:
            raise ValueError(f"mean weight must be in (0, n/2), got {w} for n = {n_qubits}")
        out.append(float(1.0 / math.sqrt(-2.0 * math.log1p(-2.0 * p))))
    return out


class _Prefetcher:
    """Computes ``make(key)`` for the next key on a worker thread while the caller works on this one.

    ``take(key)`` returns the prefetched value when ``start(key)`` ran before it, else computes
    it here (after any outstanding prefetch has finished: ``make`` never runs twice at once).
    For pure ``make`` only: a prefetched value is exactly what a direct call would give.
    """

    def __init__(self, make: Callable[[int], Any]):
        self._make = make
        self._pending: tuple[int, Any] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self, key: int) -> None:
        if self._pending is not None:
            self._pending[1].result()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qgenflow-prefetch")
        self._pending = (key, self._executor.submit(self._make, key))

    def take(self, key: int) -> Any:
        pending, self._pending = self._pending, None
        if pending is not None:
            value = pending[1].result()
            if pending[0] == key:
                return value
        return self._make(key)


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The generator of step ``step``'s Z-strings and ``z`` samples under run seed ``seed``."""
    return make_rng(seed, "estimator_steps", step)


def _enable_x64() -> None:
    jax.config.update("jax_enable_x64", True)


def _canonical_generators(gens: np.ndarray, n: int) -> np.ndarray:
    """Rows sorted ascending with the -1 padding last; raises on repeated qubits or generators.

    Linear time for rows already in that form and listed in ``candidate_generators`` order
    (by weight, then lexicographically): their keys below increase strictly.
    """
    padded = np.where(gens >= 0, gens, n)
    in_order = gens.shape[1] == 1 or bool((padded[:, 1:] >= padded[:, :-1]).all())
    canonical = padded if in_order else np.sort(padded, axis=1)
    repeated_qubit = ((canonical[:, 1:] == canonical[:, :-1]) & (canonical[:, 1:] < n)).any()
    width = gens.shape[1]
    if (n + 1) ** (width + 1) < 2**62:  # weight-major lexicographic key of each row fits int64
        keys = (canonical < n).sum(axis=1, dtype=np.int64)
        for col in range(width):
            keys = keys * (n + 1) + canonical[:, col]
        distinct = bool((np.diff(keys) > 0).all()) or np.unique(keys).size == keys.size
    else:
        distinct = len(np.unique(canonical, axis=0)) == len(canonical)
    if repeated_qubit or not distinct:
        raise ValueError("generators must be distinct sets of distinct qubits")
    return np.where(canonical < n, canonical, -1)


def _resolve_path(path: str, max_weight: int) -> str:
    """The computation path: ``auto`` is ``pairwise`` when every generator has weight <= 2, else ``incidence``."""
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; allowed: {', '.join(PATHS)}")
    if path == "auto":
        path = "pairwise" if max_weight <= 2 else "incidence"
    if path == "pairwise" and max_weight > 2:
        raise ValueError("the pairwise path needs generators of weight <= 2; use path='incidence'")
    return path


def _round_up(k: int) -> int:
    """Padded size: exact up to 8, then a multiple of 8."""
    k = max(int(k), 1)
    return k if k <= 8 else 8 * math.ceil(k / 8)


def _positions(bits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ones of each row, padded to ``k`` with 0, and the 0/1 validity mask."""
    rows, cols = np.nonzero(bits)
    counts = np.bincount(rows, minlength=bits.shape[0])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(rows.size) - starts[rows]
    pos = np.zeros((bits.shape[0], k), dtype=np.int32)
    mask = np.zeros((bits.shape[0], k), dtype=bool)
    pos[rows, rank] = cols
    mask[rows, rank] = True
    return pos, mask


def _pack_rows(bits: np.ndarray) -> np.ndarray:
    """Rows of bits packed little-endian into uint32 words, [rows, ceil(n / 32)]."""
    bits = np.asarray(bits, dtype=np.uint8)
    n = bits.shape[1]
    width = 32 * math.ceil(n / 32)
    padded = np.zeros((bits.shape[0], width), dtype=np.uint8)
    padded[:, :n] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view(np.uint32)


def _write_signs(bits: np.ndarray, out: np.ndarray) -> None:
    """out <- 1 - 2 bits, in out's floating type (two vectorised passes; a lookup table is ~10x slower)."""
    np.multiply(bits, out.dtype.type(-2), out=out, casting="unsafe")
    out += 1


def _bernoulli_rows(rng: np.random.Generator, rows: int, n: int, p: float) -> np.ndarray:
    """[rows, n] bool rows of independent Bernoulli(p) bits.

    Rare ones (p < 1/64) are drawn as a Binomial(n, p) count per row and that many
    distinct uniform positions (the same law), not as n uniforms per row: at n = 10,000
    and strings of weight ~4 that is ~40x less to draw. A position that repeats one of
    its row's is redrawn until none does; the rule treats every position alike, so each
    row's set is uniform among the sets of its size.
    """
    if p >= 1.0 / 64:
        return rng.random((rows, n)) < p
    counts = rng.binomial(n, p, size=rows)
    owner = np.repeat(np.arange(rows, dtype=np.int64), counts)
    pos = rng.integers(0, n, size=owner.size)
    while True:
        key = owner * n + pos
        order = np.argsort(key, kind="stable")
        repeat = order[1:][key[order[1:]] == key[order[:-1]]]
        if repeat.size == 0:
            break
        pos[repeat] = rng.integers(0, n, size=repeat.size)
    bits = np.zeros((rows, n), dtype=bool)
    bits[owner, pos] = True
    return bits


@dataclass
class ZStringBatch:
    """One step's randomness: Z-strings per bandwidth and the shared ``z`` samples.

    Attributes:
        z: [n_z, n] uint8 samples (uniform, or uniform on even weights for spin-flip symmetry).
        strings: one [m_g, n] bool array of Z-strings per bandwidth.
        arrays: the device-side pytree the jitted loss consumes (built by :class:`ZStringMMD`).
        index: host copies of the parameter indices the dense weight-2 path gathers
            (``rows``, ``pair_idx``, one ``idx`` per dense block).
    """

    z: np.ndarray
    strings: list[np.ndarray]
    arrays: dict[str, Any] = field(default_factory=dict, repr=False)
    index: dict[str, Any] = field(default_factory=dict, repr=False)


def _sticky(current: int, needed: int) -> int:
    """A padded length that only grows: ``current`` if it suffices, else ``needed`` plus a quarter."""
    if needed <= current:
        return current
    return 256 * math.ceil((1.25 * needed + 1) / 256)


def _pairs_within_rows(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(t, u)``, ``t < u``, of every pair of entries in the same row (``rows`` sorted)."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ends = np.searchsorted(rows, rows, side="right")  # one past the last entry of each entry's row
    later = ends - np.arange(rows.size) - 1
    first = np.repeat(np.arange(rows.size), later)
    offsets = np.arange(first.size) - np.repeat(np.cumsum(later) - later, later)
    return first, first + 1 + offsets


class ZStringMMD:
    """Monte Carlo MMD^2 between an IQP model and target samples, with its gradient (see module docstring).

    Args:
        generators: int [G, w] qubit indices padded with -1 (``targets.iqp`` layout).
        n_qubits: number of qubits.
        target_samples: [N, n] uint8 target bits.
        sigmas: kernel bandwidths, mixed by averaging (as :mod:`qgenflow.kernels`).
        n_ops: Z-strings per step, split evenly between bandwidths.
        n_z: ``z`` samples per step.
        spin_flip_symmetric: the model has the ``(|0..0> + |1..1>)/sqrt 2`` input.
        path: ``auto`` (pairwise when all weights <= 2), ``pairwise`` or ``incidence``.
        dtype: floating type of the computation (``float32`` is ~2x faster; parameters
            and gradients stay float64).
        unbiased_data: estimate the MMD to the samples' population, not their empirical law.
        block_min_weight: bandwidths whose padded string weight exceeds this compute the
            pair term as dense [k, k] blocks per string instead of a list of pairs.
    """

    def __init__(
        self,
        generators: np.ndarray,
        n_qubits: int,
        target_samples: np.ndarray,
        sigmas: Sequence[float],
        *,
        n_ops: int,
        n_z: int,
        spin_flip_symmetric: bool = False,
        path: str = "auto",
        dtype: str = "float32",
        unbiased_data: bool = False,
        block_min_weight: int = _BLOCK_MIN_K,
    ):
        _enable_x64()
        self.n_qubits = n = int(n_qubits)
        gens = np.asarray(generators, dtype=np.int64)
        if gens.ndim != 2 or gens.shape[0] == 0 or not (gens[:, 0] >= 0).all() or gens.max() >= n:
            raise ValueError(f"generators must be an int [G, w] array of qubits in 0..{n - 1}, padded with -1")
        gens = _canonical_generators(gens, n)
        self.generators = gens
        self.n_params = int(gens.shape[0])
        weights = (gens >= 0).sum(axis=1)
        samples = np.asarray(target_samples, dtype=np.uint8)
        if samples.ndim != 2 or samples.shape[1] != n or samples.shape[0] < 2:
            raise ValueError(f"target_samples must be [N >= 2, {n}] bits, got shape {samples.shape}")
        self._set_draws(sigmas, n_ops, n_z)
        self.spin_flip_symmetric = bool(spin_flip_symmetric)
        self.path = _resolve_path(path, int(weights.max()))
        self.dtype = np.dtype(dtype)
        self._batch_lock = threading.Lock()
        self.unbiased_data = bool(unbiased_data)
        self._set_data(samples)
        self._set_padding(block_min_weight)

        self._struct: dict[str, Any] = {}
        if self.path == "pairwise":
            self._setup_pairwise(gens, weights)
        else:
            self._setup_incidence(gens)
        self._loss_jit = jax.jit(self._loss)
        self._value_and_grad_jit = jax.jit(jax.value_and_grad(self._loss))
        self._expvals_jit = jax.jit(self._model_expvals)
        self._data_jit = jax.jit(self._data_expvals, static_argnames=("n_ops", "popcount"))

    # ------------------------------------------------------------------ structure
    def _set_draws(self, sigmas: Sequence[float], n_ops: int, n_z: int) -> None:
        """Bandwidths, their string probabilities and the per-step draw sizes (strings stratified over bandwidths)."""
        self.sigmas = [float(s) for s in sigmas]
        if not self.sigmas:
            raise ValueError("need at least one kernel bandwidth")
        self.probs = [bandwidth_probability(s) for s in self.sigmas]
        if n_ops < len(self.sigmas) or n_z < 2:
            raise ValueError(f"need n_ops >= number of bandwidths ({len(self.sigmas)}) and n_z >= 2")
        self.n_ops, self.n_z = int(n_ops), int(n_z)
        n_groups = len(self.sigmas)
        self.group_sizes = [self.n_ops // n_groups + (g < self.n_ops % n_groups) for g in range(n_groups)]

    def _set_data(self, samples: np.ndarray) -> None:
        """Target samples: distinct rows with their weights, as bits per qubit and as packed words."""
        uniq, counts = np.unique(samples, axis=0, return_counts=True)
        self.n_samples = int(samples.shape[0])
        self._data = {
            "bits_t": jnp.asarray(uniq.T.copy()),  # [n, U] uint8
            "packed": jnp.asarray(_pack_rows(uniq)),  # [U, words] uint32
            "weights": jnp.asarray(counts.astype(np.float64) / self.n_samples),
        }
        self._words = int(self._data["packed"].shape[1])

    def _set_padding(self, block_min_weight: int) -> None:
        """Initial padded sizes, which only grow.

        Per bandwidth: the largest string weight (a high quantile of Binomial(n, p) to start
        with); bandwidths with heavy strings use dense [k, k] blocks.
        """
        n = self.n_qubits
        self._k = [_round_up(binom.ppf(1.0 - _PAD_OVERFLOW / m, n, p)) for m, p in zip(self.group_sizes, self.probs)]
        self._block = [self.path == "pairwise" and k > block_min_weight for k in self._k]
        for sigma, p in zip(self.sigmas, self.probs):
            if n * p > _HEAVY_WEIGHT:
                log.warning(
                    "bandwidth %.3g on %d qubits draws Z-strings of mean weight %.0f: the cost grows as the weight "
                    "squared and the kernel barely sees beyond x = y; bandwidths scaled with sqrt(n) "
                    "(sigmas_for_weights) are cheaper and more informative",
                    sigma,
                    n,
                    n * p,
                )
        # Rows (qubits some string touches): the mean union size plus 6 standard deviations (it only grows).
        untouched = math.prod((1.0 - p) ** m for m, p in zip(self.group_sizes, self.probs))
        mean_rows = n * (1.0 - untouched)
        self._sizes = {"singles": 0, "pairs": 0, "odd": 0, "rows": 64 * math.ceil((mean_rows + 6 * mean_rows**0.5 + 1) / 64)}

    def _setup_pairwise(self, gens: np.ndarray, weights: np.ndarray) -> None:
        n = self.n_qubits
        one = np.flatnonzero(weights == 1)
        two = np.flatnonzero(weights == 2)
        second = gens[:, 1] if gens.shape[1] > 1 else np.full(len(gens), -1)
        self._has_pairs = bool(two.size)
        self._dense_pairs = two.size > _DENSE_PAIR_FRACTION * n * n / 2
        # Index arrays are jit arguments, not constants: XLA would constant-fold checks over them.
        self._struct = {
            "w1_idx": jnp.asarray(one.astype(np.int32)),
            "w1_q": jnp.asarray(gens[one, 0].astype(np.int32)),
            "w2_idx": jnp.asarray(two.astype(np.int32)),
            "w2_i": jnp.asarray(gens[two, 0].astype(np.int32)),
            "w2_k": jnp.asarray(second[two].astype(np.int32)),
        }
        i = np.minimum(gens[two, 0], second[two]).astype(np.int64)
        k = np.maximum(gens[two, 0], second[two]).astype(np.int64)
        if self._dense_pairs:
            self._setup_dense_tables(gens, one, two, i, k)
        else:
            keys = i * n + k
            order = np.argsort(keys, kind="stable")
            self._pair_keys, self._pair_idx = keys[order], two[order].astype(np.int32)

    def _setup_dense_tables(self, gens: np.ndarray, one: np.ndarray, two: np.ndarray, i, k) -> None:
        """Parameter index of generator {i, k} as an [n + 1, n + 1] table (G where none) and of {i}, [n + 1]."""
        n, n_params = self.n_qubits, self.n_params
        if n_params >= np.iinfo(np.int32).max:
            raise ValueError(f"{n_params} generators do not fit int32 indices")
        table = np.full((n + 1, n + 1), n_params, dtype=np.int32)
        table[i, k] = two
        table[k, i] = two
        h_tab = np.full(n + 1, n_params, dtype=np.int32)
        h_tab[gens[one, 0]] = one
        # Host arrays: the rows of Theta are gathered, and their gradient scattered, by numba (iqp_kernels).
        self._pair_table, self._h_table = table, h_tab
        # Every pair {i < k}, in order, as one block of parameters: the gradient is written in one pass.
        self._all_pairs_base = None
        if two.size == n * (n - 1) // 2 and np.array_equal(two, np.arange(two[0], two[0] + two.size)):
            if bool((np.diff(i * n + k) > 0).all()):
                self._all_pairs_base = int(two[0])

    def _pair_lookup(self, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Parameter index of the weight-2 generator on qubits ``(q1, q2)`` (any order), -1 where none."""
        if not self._has_pairs:
            return np.full(np.shape(q1), -1, dtype=np.int32)
        if self._dense_pairs:
            found = self._pair_table[q1, q2]
            return np.where(found < self.n_params, found, -1).astype(np.int32)
        n = self.n_qubits
        keys = np.minimum(q1, q2).astype(np.int64) * n + np.maximum(q1, q2)
        at = np.searchsorted(self._pair_keys, keys).clip(max=self._pair_keys.size - 1)
        return np.where(self._pair_keys[at] == keys, self._pair_idx[at], -1).astype(np.int32)

    def _setup_incidence(self, gens: np.ndarray) -> None:
        n = self.n_qubits
        qubits = gens.ravel()
        owner = np.repeat(np.arange(gens.shape[0]), gens.shape[1])
        keep = qubits >= 0
        qubits, owner = qubits[keep], owner[keep]
        order = np.argsort(qubits, kind="stable")
        self._q_gen = owner[order].astype(np.int64)
        self._q_ptr = np.concatenate(([0], np.cumsum(np.bincount(qubits, minlength=n))))
        # Padding -1 -> n: a row of ones appended to the signs.
        self._struct = {"gen_qubits": jnp.asarray(np.where(gens >= 0, gens, n).astype(np.int32))}

    # ------------------------------------------------------------------ batches
    def draw_batch(self, rng: np.random.Generator) -> ZStringBatch:
        """Fresh Z-strings (``n_ops``, stratified over bandwidths) and ``n_z`` samples ``z``."""
        n = self.n_qubits
        strings = [_bernoulli_rows(rng, m, n, p) for m, p in zip(self.group_sizes, self.probs)]
        z_t = rng.integers(0, 2, size=(n, self.n_z), dtype=np.uint8)  # qubit-major, as the signs are laid out
        if self.spin_flip_symmetric:
            z_t[0] ^= (z_t.sum(axis=0) % 2).astype(np.uint8)  # uniform on even-weight strings
        return self.make_batch(strings, z_t.T)

    def make_batch(self, strings: Sequence[np.ndarray], z: np.ndarray) -> ZStringBatch:
        """A batch from given Z-strings (one [m_g, n] bit array per bandwidth) and ``z`` [n_z, n] bits.

        For fixed randomness (tests, finite differences) or exact sums over all ``z``. One batch
        is built at a time (``step_objective`` builds the next one on a worker thread): the
        padded sizes it grows are shared.
        """
        with self._batch_lock:
            return self._build_batch(strings, z)

    def _build_batch(self, strings: Sequence[np.ndarray], z: np.ndarray) -> ZStringBatch:
        if len(strings) != len(self.sigmas):
            raise ValueError(f"need one string array per bandwidth ({len(self.sigmas)}), got {len(strings)}")
        strings = [np.asarray(s, dtype=bool).reshape(-1, self.n_qubits) for s in strings]
        z = np.asarray(z, dtype=np.uint8)
        if z.shape[0] < 2 or z.shape[1] != self.n_qubits:
            raise ValueError(f"z must be [n_z >= 2, {self.n_qubits}] bits, got shape {z.shape}")
        bits = np.concatenate(strings)
        n_ops = bits.shape[0]
        host, blocks = self._host_columns(strings, bits)
        signs, signs_t, zmask = self._z_chunks(z, n_ops, blocks)
        arrays = {
            "struct": self._struct,
            "signs": jnp.asarray(signs),
            "signs_t": None if signs_t is None else jnp.asarray(signs_t),
            "zmask": jnp.asarray(zmask),
            "host": {key: jnp.asarray(v) for key, v in host.items()},
            "blocks": [{key: jnp.asarray(v) for key, v in b.items()} for b in blocks],
        }
        popcount = self._sizes["singles"] > n_ops * self._words
        packed = jnp.asarray(_pack_rows(bits)) if popcount else None
        arrays["host"]["data"] = self._data_jit(self._data, arrays["host"], packed, n_ops=n_ops, popcount=popcount)
        index = {}
        if self.path == "pairwise" and self._dense_pairs:
            index = {"rows": host["rows"], "pos": host["pos"], "pair_idx": host["pair_idx"],
                     "blocks": [b["idx"] for b in blocks]}
        return ZStringBatch(z=z, strings=strings, arrays=arrays, index=index)

    def _host_columns(self, strings: list[np.ndarray], bits: np.ndarray) -> tuple[dict[str, Any], list[dict]]:
        """Host arrays of a batch's strings (weights, parities, padded incidences) and its dense pair blocks."""
        n_ops = bits.shape[0]
        sizes = [s.shape[0] for s in strings]
        group = np.repeat(np.arange(len(strings)), sizes)
        weight = np.concatenate([np.full(m, 1.0 / (m * len(strings))) for m in sizes])
        ones = bits.sum(axis=1)

        rows, cols = np.nonzero(bits)
        self._sizes["singles"] = _sticky(self._sizes["singles"], rows.size)
        host: dict[str, Any] = {
            "weight": weight,
            "even": (ones % 2 == 0).astype(self.dtype),
            **self._padded({"one_str": rows, "one_q": cols}, self._sizes["singles"]),
        }
        if self.path != "pairwise":
            seg, gid = self._odd_incidences(rows, cols)
            self._sizes["odd"] = _sticky(self._sizes["odd"], seg.size)
            host.update(self._padded({"odd_str": seg, "odd_gid": gid}, self._sizes["odd"], prefix="odd"))
            return host, []
        host.update(self._row_columns(rows, cols, n_ops))
        host.update(self._pair_columns(rows, cols, group))
        return host, self._pair_blocks(strings)

    def _row_columns(self, rows: np.ndarray, cols: np.ndarray, n_ops: int) -> dict[str, np.ndarray]:
        """The batch's rows (qubits some string touches, padded with n), each qubit's row, each one's row.

        Fields and signs are only needed on these rows; the per-string sums run over them.
        """
        n = self.n_qubits
        qubits = np.unique(cols)
        self._sizes["rows"] = _sticky(self._sizes["rows"], qubits.size)
        m = self._sizes["rows"]
        pos = np.full(n, m, dtype=np.int32)
        pos[qubits] = np.arange(qubits.size, dtype=np.int32)
        out = {"rows": self._pad(qubits, m, fill=n), "pos": pos, "one_row": self._pad(pos[cols], self._sizes["singles"])}
        if n_ops * m <= _DENSE_STRINGS:
            # The sum over each string's ones as one matrix product: faster than gather + segment_sum here.
            dense = np.zeros((n_ops, m), dtype=self.dtype)
            dense[rows, pos[cols]] = 1
            out["dense_strings"] = dense
        return out

    def _pair_columns(self, rows: np.ndarray, cols: np.ndarray, group: np.ndarray) -> dict[str, np.ndarray]:
        """Padded (string, weight-2 generator inside it) incidences of the bandwidths whose pairs are listed."""
        listed = ~np.asarray(self._block)[group[rows]]  # ones of strings whose pairs are listed
        sel_rows, sel_cols = rows[listed], cols[listed]
        first, second = _pairs_within_rows(sel_rows, sel_cols)
        idx = self._pair_lookup(sel_cols[first], sel_cols[second])
        keep = idx >= 0
        self._sizes["pairs"] = _sticky(self._sizes["pairs"], int(keep.sum()))
        out = self._padded(
            {"pair_str": sel_rows[first][keep], "pair_idx": idx[keep]}, self._sizes["pairs"], prefix="pair"
        )
        out["pair_q1"] = self._pad(sel_cols[first][keep], self._sizes["pairs"])
        out["pair_q2"] = self._pad(sel_cols[second][keep], self._sizes["pairs"])
        return out

    def _pair_blocks(self, strings: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Dense [k, k] blocks (positions of each string's ones) of the bandwidths with heavy strings."""
        blocks = []
        start = 0
        for g, s in enumerate(strings):
            if self._block[g]:
                self._k[g] = max(self._k[g], _round_up(int(s.sum(axis=1).max(initial=0))))
                pos, mask = _positions(s, self._k[g])
                block = {"rows": np.arange(start, start + s.shape[0], dtype=np.int32), "pos": pos}
                block["mask"] = mask.astype(self.dtype)
                block["idx"] = np.where(
                    mask[:, :, None] & mask[:, None, :], self._pair_lookup(pos[:, :, None], pos[:, None, :]), -1
                ).astype(np.int32)
                blocks.append(block)
            start += s.shape[0]
        return blocks

    def _z_chunks(self, z: np.ndarray, n_ops: int, blocks: list[dict]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Signs ``1 - 2 z`` [chunks, n + 1, chunk] (row n all +1), on the dense weight-2 path also as
        [chunks, chunk, n + 1] (row-major ``S^T``, see :func:`~qgenflow.train.iqp_kernels.pm1_matmul`),
        and the 0/1 mask of real ``z`` [chunks, chunk].

        The chunk size bounds the largest [rows, chunk] intermediate.
        """
        n, n_z = self.n_qubits, z.shape[0]
        widest = max(self._sizes["singles"], self._sizes["pairs"], self._sizes["odd"], n + 1, n_ops)
        widest = max([widest] + [b["pos"].size for b in blocks])
        n_chunks = max(1, math.ceil(widest * n_z / _CHUNK_ELEMENTS))
        chunk = math.ceil(n_z / n_chunks)
        signs = np.ones((n + 1, n_chunks * chunk), dtype=self.dtype)  # row n: all +1
        _write_signs(z.T, signs[:n, :n_z])
        signs_t = None
        if self.path == "pairwise" and self._dense_pairs:
            signs_t = np.ones((n_chunks * chunk, n + 1), dtype=self.dtype)
            _write_signs(np.ascontiguousarray(z), signs_t[:n_z, :n])  # a uint8 transpose is 4x less to move
            signs_t = signs_t.reshape(n_chunks, chunk, n + 1)
        zmask = np.zeros(n_chunks * chunk, dtype=self.dtype)
        zmask[:n_z] = 1
        return signs.reshape(-1, n_chunks, chunk).transpose(1, 0, 2), signs_t, zmask.reshape(n_chunks, chunk)

    @staticmethod
    def _pad(values: np.ndarray, size: int, fill: int = 0) -> np.ndarray:
        out = np.full(size, fill, dtype=np.int32)
        out[: values.size] = values
        return out

    def _padded(self, columns: Mapping[str, np.ndarray], size: int, prefix: str = "one") -> dict[str, np.ndarray]:
        """Integer columns padded to ``size`` (with index 0) and a ``{prefix}_valid`` 0/1 mask."""
        out = {key: self._pad(np.asarray(v), size) for key, v in columns.items()}
        valid = np.zeros(size, dtype=self.dtype)
        valid[: len(next(iter(columns.values())))] = 1
        out[f"{prefix}_valid"] = valid
        return out

    def _odd_incidences(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(string, generator) pairs with odd overlap, from the strings' ones via a qubit -> generator index."""
        starts, stops = self._q_ptr[cols], self._q_ptr[cols + 1]
        lengths = stops - starts
        rep_rows = np.repeat(rows, lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        gens = self._q_gen[np.repeat(starts, lengths) + offsets]
        keys, counts = np.unique(rep_rows.astype(np.int64) * self.n_params + gens, return_counts=True)
        keys = keys[counts % 2 == 1]
        return keys // self.n_params, keys % self.n_params

    # ------------------------------------------------------------------ jax kernels
    def _data_expvals(self, data, host, packed, n_ops, *, popcount):
        """Empirical ``<Z_a>`` of the target samples for every string: gather the ones, or AND + popcount."""
        if popcount:
            both = packed[:, None, :] & data["packed"][None, :, :]  # [n_ops, U, words]
            parity = jax.lax.population_count(both).sum(axis=-1, dtype=jnp.int32) & 1
        else:
            picked = data["bits_t"][host["one_q"]] * host["one_valid"].astype(jnp.uint8)[:, None]  # [T, U]
            # uint8 sums wrap mod 256, which keeps the parity.
            parity = jax.ops.segment_sum(picked, host["one_str"], num_segments=n_ops) & 1
        return (1 - 2 * parity.astype(jnp.int32)).astype(jnp.float64) @ data["weights"]

    def _theta_parts(self, theta, st, host, blocks):
        """What the phases need from theta, computed once for all z chunks (the dense path's come from the host)."""
        if self.path == "incidence":
            return {"th": theta.astype(self.dtype)}
        if self._dense_pairs:
            return theta  # already the parts: see _inputs
        th = theta.astype(self.dtype)
        parts = {"h": jnp.zeros(self.n_qubits + 1, self.dtype).at[st["w1_q"]].add(th[st["w1_idx"]])}
        if self._has_pairs:
            parts["t2"] = th[st["w2_idx"]]
            parts["pairs"] = jnp.where(host["pair_idx"] >= 0, th[host["pair_idx"]], 0.0)
            # Theta restricted to each heavy string's ones, [m, k, k]
            parts["blocks"] = [jnp.where(blk["idx"] >= 0, th[jnp.maximum(blk["idx"], 0)], 0.0) for blk in blocks]
        return parts

    def _inputs(self, theta: np.ndarray, batch: ZStringBatch):
        """What the jitted loss takes: theta (float64), or on the dense weight-2 path its parts, gathered on the host.

        There the parameter vector (n^2 / 2 entries) stays on the host: weight-1 angles and
        rows of Theta on the batch's rows, and the angles of the listed pairs and blocks.
        """
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        if not (self.path == "pairwise" and self._dense_pairs):
            return theta
        index = batch.index
        h_rows, theta_rows = gather_rows(theta, self._pair_table, self._h_table, index["rows"], self.dtype)

        def take(idx):  # -1: no such generator, reads 0
            return np.where(idx >= 0, theta[np.maximum(idx, 0)], 0.0).astype(self.dtype)

        return {"h_rows": h_rows, "theta_rows": theta_rows, "pairs": take(index["pair_idx"]),
                "blocks": [take(idx) for idx in index["blocks"]]}

    def _gradient(self, grad, batch: ZStringBatch) -> np.ndarray:
        """The float64 gradient [G] from the jitted one (of theta, or of the dense path's parts: scattered back)."""
        if not (self.path == "pairwise" and self._dense_pairs):
            return np.asarray(grad, dtype=np.float64)
        index = batch.index
        d_rows, d_h = np.asarray(grad["theta_rows"]), np.asarray(grad["h_rows"])
        if self._all_pairs_base is not None:
            out = np.empty(self.n_params, dtype=np.float64)
            scatter_all_pairs(d_rows, d_h, self._h_table, index["rows"], index["pos"], self._all_pairs_base, out)
        else:
            out = np.zeros(self.n_params, dtype=np.float64)
            scatter_rows(d_rows, d_h, self._pair_table, self._h_table, index["rows"], out)
        for idx, ct in zip([index["pair_idx"], *index["blocks"]], [grad["pairs"], *grad["blocks"]]):
            keep = idx >= 0
            np.add.at(out, idx[keep], np.asarray(ct, dtype=np.float64)[keep])
        return out

    def _field_rows(self, parts, st, host, signs, signs_t):
        """``h_i + W_i``, ``W = Theta s``, on the batch's rows: [m, chunk]."""
        if self._dense_pairs:
            return parts["h_rows"][:, None] + pm1_matmul(parts["theta_rows"], signs, signs_t)
        field_ = parts["h"][:, None]
        if self._has_pairs:
            t2 = parts["t2"][:, None]
            field_ = field_ + jnp.zeros_like(signs).at[st["w2_i"]].add(t2 * signs[st["w2_k"]]).at[st["w2_k"]].add(
                t2 * signs[st["w2_i"]]
            )
        return field_[host["rows"]]

    def _chunk_phases(self, parts, st, host, blocks, signs, signs_t, n_ops):
        """Phases [n_ops, chunk] of every string for one chunk of z (signs [n + 1, chunk], row n = 1)."""
        if self.path == "incidence":
            th = parts["th"]
            coef = 2.0 * th[host["odd_gid"]] * host["odd_valid"]
            prod = jnp.prod(signs[st["gen_qubits"][host["odd_gid"]]], axis=1)  # [T, chunk]
            return jax.ops.segment_sum(coef[:, None] * prod, host["odd_str"], num_segments=n_ops)
        # sum_{i in A} s_i (h_i + W_i) for every string, over the batch's rows
        term = signs[host["rows"]] * self._field_rows(parts, st, host, signs, signs_t)
        if "dense_strings" in host:
            phase = host["dense_strings"] @ term
        else:
            term = term[host["one_row"]] * host["one_valid"][:, None]
            phase = jax.ops.segment_sum(term, host["one_str"], num_segments=n_ops)
        if not self._has_pairs:
            return 2.0 * phase
        coef = 2.0 * parts["pairs"] * host["pair_valid"]
        pair_term = coef[:, None] * signs[host["pair_q1"]] * signs[host["pair_q2"]]
        # sum over ordered pairs in A of Theta_ik s_i s_k = 2 x the unordered sum.
        phase = phase - jax.ops.segment_sum(pair_term, host["pair_str"], num_segments=n_ops)
        for blk, theta_aa in zip(blocks, parts["blocks"]):
            s_a = signs[blk["pos"]] * blk["mask"][:, :, None]  # [m, k, chunk]
            quad = jnp.sum(s_a * jnp.einsum("mkl,mlz->mkz", theta_aa, s_a), axis=1)
            phase = phase.at[blk["rows"]].add(-quad)
        return 2.0 * phase

    def _cos_sums(self, theta, arrays):
        """Per string: sum over z of c = cos(phase) and of c^2 (c = 0 for odd strings under spin-flip symmetry)."""
        st, host, blocks = arrays["struct"], arrays["host"], arrays["blocks"]
        n_ops = host["weight"].shape[0]
        parts = self._theta_parts(theta, st, host, blocks)

        def one(signs, signs_t, zmask):
            c = jnp.cos(self._chunk_phases(parts, st, host, blocks, signs, signs_t, n_ops)) * zmask[None, :]
            if self.spin_flip_symmetric:
                c = c * host["even"][:, None]
            return c.sum(axis=1, dtype=jnp.float64), jnp.sum(jnp.square(c), axis=1, dtype=jnp.float64)

        signs_t = arrays["signs_t"]  # [chunks, chunk, n + 1] row-major, or None (dense weight-2 path only)
        if arrays["signs"].shape[0] == 1:
            return one(arrays["signs"][0], None if signs_t is None else signs_t[0], arrays["zmask"][0])
        xs = (arrays["signs"], signs_t, arrays["zmask"])
        sums, squares = jax.lax.map(lambda xs: jax.checkpoint(one)(*xs), xs)
        return sums.sum(axis=0), squares.sum(axis=0)

    def _model_expvals(self, theta, arrays):
        sums, _ = self._cos_sums(theta, arrays)
        return sums / arrays["zmask"].sum(dtype="float64")

    def _loss(self, theta, arrays):
        host = arrays["host"]
        n_z = arrays["zmask"].sum(dtype=jnp.float64)
        sums, squares = self._cos_sums(theta, arrays)
        model_sq = (sums**2 - squares) / (n_z * (n_z - 1.0))  # unbiased (<Z_a>_p)^2
        d = host["data"]
        data_sq = (self.n_samples * d**2 - 1.0) / (self.n_samples - 1.0) if self.unbiased_data else d**2
        return jnp.sum(host["weight"] * (model_sq - 2.0 * (sums / n_z) * d + data_sq))

    # ------------------------------------------------------------------ public evaluation
    def loss(self, theta: np.ndarray, batch: ZStringBatch) -> float:
        """MMD^2 estimate for ``theta`` on ``batch``."""
        return float(self._loss_jit(self._inputs(theta, batch), batch.arrays))

    def value_and_grad(self, theta: np.ndarray, batch: ZStringBatch) -> tuple[float, np.ndarray]:
        """MMD^2 estimate and its gradient with respect to ``theta`` (float64, shape (G,))."""
        value, grad = self._value_and_grad_jit(self._inputs(theta, batch), batch.arrays)
        return float(value), self._gradient(grad, batch)

    def step_objective(self, seed: int) -> Callable[[np.ndarray, int], tuple[float, np.ndarray]]:
        """``(params, step) -> (loss, gradient)`` on the batch drawn from :func:`step_rng` ``(seed, step)``.

        The ``value_and_grad`` that :func:`qgenflow.fit.loop.fit` takes: every step's draws
        depend only on ``(seed, step)``, so a resumed run repeats them exactly.
        """

        draws = _Prefetcher(lambda step: self.draw_batch(step_rng(seed, step)))

        def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
            batch = draws.take(step)
            draws.start(step + 1)  # drawn while this step's products run: the draws depend on (seed, step) only
            return self.value_and_grad(params, batch)

        return value_and_grad

    def model_expvals(self, theta: np.ndarray, batch: ZStringBatch) -> list[np.ndarray]:
        """Estimated model ``<Z_a>`` (mean over the batch's ``z``), one array per bandwidth."""
        out = np.asarray(self._expvals_jit(self._inputs(theta, batch), batch.arrays), dtype=np.float64)
        return np.split(out, np.cumsum([s.shape[0] for s in batch.strings])[:-1])

    def data_expvals(self, batch: ZStringBatch) -> list[np.ndarray]:
        """Empirical ``<Z_a>`` of the target samples, one array per bandwidth."""
        out = np.asarray(batch.arrays["host"]["data"], dtype=np.float64)
        return np.split(out, np.cumsum([s.shape[0] for s in batch.strings])[:-1])


# ---------------------------------------------------------------------- initialisation and training
def data_init(generators: np.ndarray, target_samples: np.ndarray) -> np.ndarray:
    """Weight-1 angles that reproduce the target's single-bit marginals, 0 elsewhere.

    ``H RZ(2 theta) H |0>`` gives ``P(x_i = 0) = cos^2(theta)``, so ``theta_i = arccos(sqrt(P_i(0)))``.
    """
    gens = np.asarray(generators)
    p0 = 1.0 - np.asarray(target_samples, dtype=np.float64).mean(axis=0)
    theta = np.zeros(gens.shape[0])
    single = (gens >= 0).sum(axis=1) == 1
    theta[single] = np.arccos(np.sqrt(np.clip(p0[gens[single, 0]], 0.0, 1.0)))
    return theta


def initial_angles(
    generators: np.ndarray, target_samples: np.ndarray, seed: int, *, init: str = "data", noise: float = 0.05
) -> np.ndarray:
    """Initial angles [G] of a run, from the named stream ``estimator_init`` of ``seed``.

    Args:
        init: ``data`` (weight-1 angles from the marginals, :func:`data_init`, plus normal
            noise of std ``noise`` on every angle: at zero weight-2 angles their gradient
            vanishes) or ``uniform`` (uniform in ``[-noise, noise]``).
    """
    rng = make_rng(seed, "estimator_init")
    size = (len(generators),)
    if init == "data":
        return data_init(generators, target_samples) + rng.normal(0.0, noise, size=size)
    if init == "uniform":
        return rng.uniform(-noise, noise, size=size)
    raise ValueError(f"unknown init {init!r}; allowed: data, uniform")


def estimator_sigmas(loss_spec: Mapping[str, Any], n_qubits: int) -> list[float]:
    """Kernel bandwidths of a ``loss`` config entry: ``sigma_weights`` (:func:`sigmas_for_weights`) or ``sigmas``."""
    if loss_spec.get("sigma_weights"):
        return sigmas_for_weights(n_qubits, loss_spec["sigma_weights"])
    return [float(s) for s in loss_spec["sigmas"]]


def fit_iqp_estimator(
    spec: Mapping[str, Any],
    ansatz: IQPAnsatz,
    target_samples: np.ndarray,
    seed: int,
    checkpointer: Checkpointer | None = None,
) -> TrainResult:
    """Train an IQP Born machine on target samples with the Z-string MMD estimator, through :func:`fit`.

    Args:
        spec: the model's config entry: ``loss`` (``sigmas`` or ``sigma_weights``),
            ``training`` (``n_ops``, ``n_z``, ``dtype``, ``init``, ``init_noise``) and
            ``optimizer`` (as :func:`~qgenflow.fit.loop.fit`).
        ansatz: the IQP circuit family (generators, qubit count, spin-flip option).
        target_samples: [N, n] uint8 bits.
        seed: seeds the initial angles (:func:`initial_angles`) and every step's draws (:func:`step_rng`).
        checkpointer: saves and restores the run every ``checkpointer.every`` steps.

    Returns:
        The :class:`~qgenflow.fit.loop.TrainResult`: float64 angles [G] and the loss history.
    """
    training = spec["training"]
    samples = np.asarray(target_samples, dtype=np.uint8)
    estimator = ZStringMMD(
        ansatz.generators,
        ansatz.n_qubits,
        samples,
        estimator_sigmas(spec["loss"], ansatz.n_qubits),
        n_ops=int(training["n_ops"]),
        n_z=int(training["n_z"]),
        spin_flip_symmetric=ansatz.spin_flip_symmetric,
        dtype=training["dtype"],
    )
    log.info(
        "iqp estimator: %d qubits, %d parameters, %d strings x %d z per step, path %s, sigmas %s",
        ansatz.n_qubits,
        estimator.n_params,
        estimator.n_ops,
        estimator.n_z,
        estimator.path,
        ", ".join(f"{s:.3g}" for s in estimator.sigmas),
    )
    init = initial_angles(
        ansatz.generators,
        samples,
        seed,
        init=training["init"],
        noise=float(training["init_noise"]),
    )
    return fit(estimator.step_objective(seed), init, spec["optimizer"], checkpointer)


def iqp_outputs(
    spec: Mapping[str, Any], ansatz: IQPAnsatz, theta: np.ndarray, seed: int
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """Exact probabilities (up to ``MAX_DENSE_QUBITS`` qubits) and samples of a trained IQP model.

    Samples come from :func:`sample_iqp_model`, on the configured device when it has
    shots; where the circuit is too large to sample classically they are ``None`` and the
    note says why.

    Returns:
        ``(probs or None, samples or None, note)``.
    """
    n, gens, symmetric = ansatz.n_qubits, ansatz.generators, ansatz.spin_flip_symmetric
    probs = iqp_model_probs(gens, theta, n, spin_flip_symmetric=symmetric) if n <= MAX_DENSE_QUBITS else None
    device = spec["device"] if spec["device"]["shots"] else None
    n_samples = int(spec["n_samples"])
    try:
        samples = sample_iqp_model(gens, theta, n, n_samples, seed, spin_flip_symmetric=symmetric, device=device)
    except ClassicalSamplingError as exc:
        log.warning("trained model not sampled: %s", exc)
        return probs, None, str(exc)
    return probs, samples, ""


# ---------------------------------------------------------------------- sampling the trained model
def iqp_model_probs(
    generators: np.ndarray, theta: np.ndarray, n_qubits: int, *, spin_flip_symmetric: bool = False
) -> np.ndarray:
    """Exact big-endian output probabilities of the IQP model (numpy; ``n <= MAX_EXACT_QUBITS``)."""
    if n_qubits > MAX_EXACT_QUBITS:
        raise ClassicalSamplingError(f"exact probabilities are limited to {MAX_EXACT_QUBITS} qubits, got {n_qubits}")
    if not spin_flip_symmetric:
        return iqp_probs(generators, theta, n_qubits)
    # H^n (|0..0> + |1..1>)/sqrt2 is uniform on even-weight z: amplitude 2^-(n-1)/2 there.
    phi = iqp_phase(generators, theta, n_qubits)
    parity = index_to_bits(np.arange(2**n_qubits, dtype=np.int64), n_qubits).sum(axis=1) % 2
    amp = np.where(parity == 0, np.exp(1j * phi), 0.0).astype(np.complex128)
    amp = walsh_hadamard(amp)
    probs = np.abs(amp) ** 2 / float(2**n_qubits * 2 ** (n_qubits - 1))
    return probs


def sample_iqp_model(
    generators: np.ndarray,
    theta: np.ndarray,
    n_qubits: int,
    n_samples: int,
    seed: int,
    *,
    spin_flip_symmetric: bool = False,
    device: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """[n_samples, n] uint8 samples of the trained IQP circuit.

    Without ``device``: exact sampling from :func:`iqp_model_probs` up to
    ``MAX_EXACT_QUBITS`` qubits, ``lightning.qubit`` shots up to ``MAX_SHOT_QUBITS``.
    With ``device`` (a ``devices.make_device`` spec, e.g. a hardware plugin) the circuit
    runs there with ``n_samples`` shots at any size.

    Raises:
        ClassicalSamplingError: more than ``MAX_SHOT_QUBITS`` qubits and no device: the
            model is trained, but sampling an IQP circuit this large is classically hard.
    """
    if device is None and n_qubits <= MAX_EXACT_QUBITS:
        probs = iqp_model_probs(generators, theta, n_qubits, spin_flip_symmetric=spin_flip_symmetric)
        return sample_from_probs(probs, int(n_samples), np.random.default_rng(int(seed)))
    if device is None and n_qubits > MAX_SHOT_QUBITS:
        raise ClassicalSamplingError(
            f"cannot sample a {n_qubits}-qubit IQP circuit classically (simulator limit {MAX_SHOT_QUBITS} qubits; "
            "sampling IQP circuits is believed classically hard): configure a device (hardware) to sample "
            "the trained circuit, or keep the model without samples"
        )
    ansatz = IQPAnsatz(
        n_qubits=n_qubits,
        layers=1,
        options={"spin_flip_symmetric": spin_flip_symmetric},
        structure={"generators": np.asarray(generators)},
    )
    dev = make_device(device or {"name": "lightning.qubit"}, n_qubits, seed=int(seed))
    tape = qml.tape.QuantumScript(
        ansatz.ops(np.asarray(theta, dtype=np.float64)), [qml.sample(wires=range(n_qubits))], shots=int(n_samples)
    )
    samples = np.asarray(dev.execute(tape))
    return samples.reshape(int(n_samples), n_qubits).astype(np.uint8)
