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

Monte Carlo, per step (:meth:`ZStringMMD.draw_batch`, seeded by a ``numpy`` generator):
``n_ops`` strings, split evenly between the bandwidths (stratified: every bandwidth gets
``n_ops // S`` or one more), and ``n_z`` samples ``z`` shared by all strings, all redrawn
every step. ``(<Z_a>_p)^2`` is estimated without bias by the U-statistic
``(sum_i c_i)^2 - sum_i c_i^2) / (n_z (n_z - 1))`` of the ``c_i = cos(...)``, so the
estimator's expectation is exactly ``mmd2_exact(p_model, q_empirical, sigmas)``.

Sparsity. String ``a`` only touches generators with odd overlap ``g_j . a``. Two paths:

* ``pairwise`` (generators of weight <= 2, the default when it applies): with
  ``s = (-1)^z`` and ``A`` the positions of the ones of ``a``, the phase is
  ``2 [sum_{i in A} s_i (h_i + W_i) - sum_{i,k in A} Theta_ik s_i s_k]`` with
  ``h`` the weight-1 angles, ``Theta`` the symmetric matrix of weight-2 angles and
  ``W = Theta s`` computed once per step for all strings (one matrix product, or an
  edge-wise scatter for sparse patterns). Per string it gathers only the ``|A|`` rows
  at its positions (padded to a per-bandwidth maximum ``k``, so shapes are static):
  cost ``O(n^2 n_z + n_ops n_z E[k^2])`` instead of ``O(n_ops n_z n)`` for the odd
  generators or ``O(n_ops n_z G)`` dense.
* ``incidence`` (any weights): the (string, generator) pairs with odd overlap, found
  per step from the positions of each string's ones through a qubit -> generator
  index, padded to a maximum count; the phase is a ``segment_sum`` over them of
  ``2 theta_j prod_{q in g_j} s_q``, chunked over ``z`` to bound memory.

Both are jit-compiled JAX with ``jax.grad`` for the gradient; padded maxima only grow
(rounded up), so a run compiles once or a few times. Cost grows with ``E|a|^2``, i.e. as
the bandwidth shrinks: at ``n = 1000``, ``sigma = 1`` gives ``|a| ~ 200`` (and a kernel
that sees nothing but the diagonal), so bandwidths are best scaled with ``sqrt(n)``
(:func:`sigmas_for_weights`).

Sampling the trained circuit (:func:`sample_iqp_model`) is exact up to
:data:`~qgenflow.config.MAX_EXACT_QUBITS` qubits, ``lightning.qubit`` shots up to
:data:`~qgenflow.targets.iqp.MAX_SHOT_QUBITS`, and beyond that only on a configured
device: sampling IQP circuits is believed classically hard, which is the point of them.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import QgenflowError

__all__ = [
    "ClassicalSamplingError",
    "ZStringBatch",
    "ZStringMMD",
    "bandwidth_probability",
    "iqp_model_probs",
    "sample_iqp_model",
    "sigmas_for_weights",
    "train_iqp_estimator",
]

log = logging.getLogger(__name__)

PATHS = ("auto", "pairwise", "incidence")
# Second seed word of the estimator's generator, so its draws never reuse a run stream.
_ESTIMATOR_STREAM = 101
# Probability that a step needs a larger padded string weight than the initial guess.
_PAD_OVERFLOW = 0.01
# Elements of one [incidences, z-chunk] block in the incidence path.
_INCIDENCE_BLOCK = 1 << 22
# Weight-2 generators above this fraction of all n^2 / 2 pairs use the dense Theta s product.
_DENSE_PAIR_FRACTION = 1 / 16


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


def _enable_x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)


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


@dataclass
class ZStringBatch:
    """One step's randomness: Z-strings per bandwidth and the shared ``z`` samples.

    Attributes:
        z: [n_z, n] uint8 samples (uniform, or uniform on even weights for spin-flip symmetry).
        strings: one [m_g, n] bool array of Z-strings per bandwidth.
        arrays: the device-side pytree the jitted loss consumes (built by :class:`ZStringMMD`).
    """

    z: np.ndarray
    strings: list[np.ndarray]
    arrays: dict[str, Any] = field(default_factory=dict, repr=False)


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
    ):
        import jax

        _enable_x64()
        self.n_qubits = n = int(n_qubits)
        gens = np.asarray(generators, dtype=np.int64)
        if gens.ndim != 2 or gens.shape[0] == 0 or not (gens[:, 0] >= 0).all() or gens.max() >= n:
            raise ValueError(f"generators must be an int [G, w] array of qubits in 0..{n - 1}, padded with -1")
        self.generators = gens
        self.n_params = int(gens.shape[0])
        weights = (gens >= 0).sum(axis=1)
        samples = np.asarray(target_samples, dtype=np.uint8)
        if samples.ndim != 2 or samples.shape[1] != n or samples.shape[0] < 1:
            raise ValueError(f"target_samples must be [N, {n}] bits, got shape {samples.shape}")
        self.sigmas = [float(s) for s in sigmas]
        if not self.sigmas:
            raise ValueError("need at least one kernel bandwidth")
        self.probs = [bandwidth_probability(s) for s in self.sigmas]
        if n_ops < len(self.sigmas) or n_z < 2:
            raise ValueError(f"need n_ops >= number of bandwidths ({len(self.sigmas)}) and n_z >= 2")
        self.n_ops, self.n_z = int(n_ops), int(n_z)
        self.group_sizes = [
            self.n_ops // len(self.sigmas) + (g < self.n_ops % len(self.sigmas)) for g in range(len(self.sigmas))
        ]
        self.spin_flip_symmetric = bool(spin_flip_symmetric)
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; allowed: {', '.join(PATHS)}")
        if path == "auto":
            path = "pairwise" if weights.max() <= 2 else "incidence"
        if path == "pairwise" and weights.max() > 2:
            raise ValueError("the pairwise path needs generators of weight <= 2; use path='incidence'")
        self.path = path
        self.dtype = np.dtype(dtype)
        self.unbiased_data = bool(unbiased_data)

        # Target samples: distinct rows with their counts, both as bits per qubit and packed words.
        uniq, counts = np.unique(samples, axis=0, return_counts=True)
        self.n_samples = int(samples.shape[0])
        self._data_bits_t = jax.numpy.asarray(uniq.T.copy())  # [n, U] uint8
        self._data_packed = jax.numpy.asarray(_pack_rows(uniq))  # [U, words] uint32
        self._data_weights = jax.numpy.asarray(counts.astype(np.float64) / self.n_samples)
        # Parities of the data: gather the k bits of each string up to this k, else AND + popcount of words.
        self._gather_max_k = max(8, self._data_packed.shape[1])

        # Sticky padded sizes: string weight per bandwidth, incidences per bandwidth.
        from scipy.stats import binom

        self._k = [
            _round_up(binom.ppf(1.0 - _PAD_OVERFLOW / m, n, p)) for m, p in zip(self.group_sizes, self.probs)
        ]
        self._t: list[int] = [0] * len(self.sigmas)

        if self.path == "pairwise":
            self._setup_pairwise(gens, weights)
        else:
            self._setup_incidence(gens)
        self._loss_jit = jax.jit(self._loss)
        self._value_and_grad_jit = jax.jit(jax.value_and_grad(self._loss))
        self._expvals_jit = jax.jit(self._model_expvals)
        self._data_jit = jax.jit(self._data_expvals)

    # ------------------------------------------------------------------ structure
    def _setup_pairwise(self, gens: np.ndarray, weights: np.ndarray) -> None:
        import jax.numpy as jnp

        n = self.n_qubits
        one = np.flatnonzero(weights == 1)
        two = np.flatnonzero(weights == 2)
        self._has_pairs = bool(two.size)
        self._dense_pairs = two.size > _DENSE_PAIR_FRACTION * n * n / 2
        # Index arrays are jit arguments, not constants: XLA would constant-fold checks over them.
        self._struct = {
            "w1_idx": jnp.asarray(one.astype(np.int32)),
            "w1_q": jnp.asarray(gens[one, 0].astype(np.int32)),
            "w2_idx": jnp.asarray(two.astype(np.int32)),
            "w2_i": jnp.asarray(gens[two, 0].astype(np.int32)),
            "w2_k": jnp.asarray(gens[two, 1].astype(np.int32)),
        }
        if two.size and not self._dense_pairs:
            # Sorted keys i * n + k (both orders) -> parameter index, for Theta_AA lookups on the host.
            i, k = gens[two, 0].astype(np.int64), gens[two, 1].astype(np.int64)
            keys = np.concatenate([i * n + k, k * n + i])
            order = np.argsort(keys, kind="stable")
            self._pair_keys = keys[order]
            self._pair_idx = np.concatenate([two, two])[order].astype(np.int32)

    def _setup_incidence(self, gens: np.ndarray) -> None:
        import jax.numpy as jnp

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
        strings = [rng.random((m, n)) < p for m, p in zip(self.group_sizes, self.probs)]
        z = rng.integers(0, 2, size=(self.n_z, n), dtype=np.uint8)
        if self.spin_flip_symmetric:
            z[:, 0] ^= (z.sum(axis=1) % 2).astype(np.uint8)  # uniform on even-weight strings
        return self.make_batch(strings, z)

    def make_batch(self, strings: Sequence[np.ndarray], z: np.ndarray) -> ZStringBatch:
        """A batch from given Z-strings (one [m_g, n] bit array per bandwidth) and ``z`` [n_z, n] bits.

        For fixed randomness (tests, finite differences) or exact sums over all ``z``.
        """
        import jax.numpy as jnp

        if len(strings) != len(self.sigmas):
            raise ValueError(f"need one string array per bandwidth ({len(self.sigmas)}), got {len(strings)}")
        z = np.asarray(z, dtype=np.uint8)
        signs = (1 - 2 * z.T.astype(np.int8)).astype(self.dtype)  # [n, n_z]
        groups = []
        for g, bits in enumerate(strings):
            bits = np.asarray(bits, dtype=bool)
            self._k[g] = max(self._k[g], _round_up(int(bits.sum(axis=1).max(initial=0))))
            pos, mask = _positions(bits, self._k[g])
            weight = int(bits.shape[0]) * len(strings)
            group: dict[str, Any] = {
                "pos": pos,
                "mask": mask.astype(self.dtype),
                "bits_mask": mask,
                "packed": _pack_rows(bits),
                "weight": np.full(bits.shape[0], 1.0 / weight, dtype=np.float64),
                "even": (bits.sum(axis=1) % 2 == 0).astype(self.dtype),
            }
            if self.path == "pairwise" and self._has_pairs and not self._dense_pairs:
                group["pair_idx"] = self._pair_lookup(pos, mask)
            if self.path == "incidence":
                group.update(self._incidences(g, pos, mask))
            groups.append(group)
        arrays = {
            "struct": self._struct,
            "signs": jnp.asarray(signs),
            "groups": [{key: jnp.asarray(v) for key, v in grp.items()} for grp in groups],
        }
        data = self._data_jit(arrays["groups"])
        for grp, d in zip(arrays["groups"], data):
            grp["data"] = d
        return ZStringBatch(z=z, strings=[np.asarray(s, dtype=bool) for s in strings], arrays=arrays)

    def _pair_lookup(self, pos: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Parameter index of the weight-2 generator on each pair of positions, -1 where none."""
        n = self.n_qubits
        keys = pos[:, :, None].astype(np.int64) * n + pos[:, None, :]
        at = np.searchsorted(self._pair_keys, keys).clip(max=self._pair_keys.size - 1)
        found = (self._pair_keys[at] == keys) & mask[:, :, None] & mask[:, None, :]
        return np.where(found, self._pair_idx[at], -1).astype(np.int32)

    def _incidences(self, g: int, pos: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Flat (string, generator) pairs with odd overlap, padded to a sticky maximum."""
        rows, slots = np.nonzero(mask)
        qubits = pos[rows, slots]
        starts, stops = self._q_ptr[qubits], self._q_ptr[qubits + 1]
        lengths = stops - starts
        rep_rows = np.repeat(rows, lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        gens = self._q_gen[np.repeat(starts, lengths) + offsets]
        keys, counts = np.unique(rep_rows.astype(np.int64) * self.n_params + gens, return_counts=True)
        keys = keys[counts % 2 == 1]
        if keys.size > self._t[g]:
            self._t[g] = 1024 * math.ceil(1.25 * keys.size / 1024)
        t = self._t[g]
        seg = np.zeros(t, dtype=np.int32)
        gid = np.zeros(t, dtype=np.int32)
        valid = np.zeros(t, dtype=self.dtype)
        seg[: keys.size] = keys // self.n_params
        gid[: keys.size] = keys % self.n_params
        valid[: keys.size] = 1
        return {"seg": seg, "gid": gid, "valid": valid}

    # ------------------------------------------------------------------ jax kernels
    def _data_expvals(self, groups):
        """Empirical ``<Z_a>`` of the target samples for every string of every group."""
        import jax
        import jax.numpy as jnp

        out = []
        for grp in groups:
            k = grp["pos"].shape[1]
            if k <= self._gather_max_k:
                bits = jnp.where(grp["bits_mask"][:, :, None], self._data_bits_t[grp["pos"]], 0)  # [m, k, U]
                parity = bits.sum(axis=1, dtype=jnp.int32) & 1
            else:
                both = grp["packed"][:, None, :] & self._data_packed[None, :, :]  # [m, U, words]
                parity = jax.lax.population_count(both).sum(axis=-1, dtype=jnp.int32) & 1
            out.append((1 - 2 * parity).astype(jnp.float64) @ self._data_weights)
        return out

    def _phases_pairwise(self, theta, st, signs, grp):
        import jax.numpy as jnp

        n = self.n_qubits
        th = theta.astype(self.dtype)
        h = jnp.zeros(n, self.dtype).at[st["w1_q"]].add(th[st["w1_idx"]])
        pos, mask = grp["pos"], grp["mask"]
        s_a = signs[pos] * mask[:, :, None]  # [m, k, n_z]
        if not self._has_pairs:
            return 2.0 * jnp.einsum("mk,mkz->mz", h[pos], s_a)
        t2 = th[st["w2_idx"]]
        if self._dense_pairs:
            big = jnp.zeros((n, n), self.dtype).at[st["w2_i"], st["w2_k"]].add(t2)
            big = big + big.T
            field_ = big @ signs  # W = Theta s, [n, n_z]
            theta_aa = big[pos[:, :, None], pos[:, None, :]]  # [m, k, k]
        else:
            field_ = (
                jnp.zeros_like(signs)
                .at[st["w2_i"]]
                .add(t2[:, None] * signs[st["w2_k"]])
                .at[st["w2_k"]]
                .add(t2[:, None] * signs[st["w2_i"]])
            )
            idx = grp["pair_idx"]
            theta_aa = jnp.where(idx >= 0, th[jnp.maximum(idx, 0)], 0.0)
        linear = jnp.sum(s_a * (h[pos][:, :, None] + field_[pos]), axis=1)
        inner = jnp.einsum("mkl,mlz->mkz", theta_aa, s_a)
        quad = jnp.sum(s_a * inner, axis=1)
        return 2.0 * (linear - quad)

    def _phases_incidence(self, theta, st, signs, grp):
        import jax
        import jax.numpy as jnp

        n_z = signs.shape[1]
        m = grp["pos"].shape[0]
        t = grp["gid"].shape[0]
        chunk = max(1, min(n_z, _INCIDENCE_BLOCK // max(t, 1)))
        n_chunks = math.ceil(n_z / chunk)
        padded = jnp.concatenate([signs, jnp.ones((signs.shape[0], n_chunks * chunk - n_z), self.dtype)], axis=1)
        padded = jnp.concatenate([padded, jnp.ones((1, padded.shape[1]), self.dtype)], axis=0)  # row n = 1
        blocks = padded.reshape(padded.shape[0], n_chunks, chunk).transpose(1, 0, 2)
        coef = 2.0 * theta.astype(self.dtype)[grp["gid"]] * grp["valid"]
        qubits = st["gen_qubits"][grp["gid"]]  # [t, w]

        @jax.checkpoint
        def one(block):
            prod = jnp.prod(block[qubits], axis=1)  # [t, chunk]
            return jax.ops.segment_sum(coef[:, None] * prod, grp["seg"], num_segments=m)

        phases = jax.lax.map(one, blocks)  # [chunks, m, chunk]
        return phases.transpose(1, 0, 2).reshape(m, n_chunks * chunk)[:, :n_z]

    def _cosines(self, theta, arrays, grp):
        import jax.numpy as jnp

        phases_of = self._phases_pairwise if self.path == "pairwise" else self._phases_incidence
        c = jnp.cos(phases_of(theta, arrays["struct"], arrays["signs"], grp))
        if self.spin_flip_symmetric:
            c = c * grp["even"][:, None]
        return c

    def _model_expvals(self, theta, arrays):
        return [self._cosines(theta, arrays, grp).astype("float64").mean(axis=1) for grp in arrays["groups"]]

    def _loss(self, theta, arrays):
        import jax.numpy as jnp

        total = jnp.zeros((), jnp.float64)
        n_z = arrays["signs"].shape[1]
        for grp in arrays["groups"]:
            c = self._cosines(theta, arrays, grp)
            total_c = c.sum(axis=1, dtype=jnp.float64)
            sq_c = jnp.sum(jnp.square(c), axis=1, dtype=jnp.float64)
            model_sq = (total_c**2 - sq_c) / (n_z * (n_z - 1.0))  # unbiased (<Z_a>_p)^2
            d = grp["data"]
            data_sq = (self.n_samples * d**2 - 1.0) / (self.n_samples - 1.0) if self.unbiased_data else d**2
            total = total + jnp.sum(grp["weight"] * (model_sq - 2.0 * (total_c / n_z) * d + data_sq))
        return total

    # ------------------------------------------------------------------ public evaluation
    def loss(self, theta: np.ndarray, batch: ZStringBatch) -> float:
        """MMD^2 estimate for ``theta`` on ``batch``."""
        return float(self._loss_jit(np.asarray(theta, dtype=np.float64), batch.arrays))

    def value_and_grad(self, theta: np.ndarray, batch: ZStringBatch) -> tuple[float, np.ndarray]:
        """MMD^2 estimate and its gradient with respect to ``theta`` (float64, shape (G,))."""
        value, grad = self._value_and_grad_jit(np.asarray(theta, dtype=np.float64), batch.arrays)
        return float(value), np.asarray(grad, dtype=np.float64)

    def jax_value_and_grad(self, theta, batch: ZStringBatch):
        """As :meth:`value_and_grad`, but returns device arrays (no host copy), for jitted loops."""
        return self._value_and_grad_jit(theta, batch.arrays)

    def model_expvals(self, theta: np.ndarray, batch: ZStringBatch) -> list[np.ndarray]:
        """Estimated ``<Z_a>`` of the model for each string of each group (mean over the batch's ``z``)."""
        out = self._expvals_jit(np.asarray(theta, dtype=np.float64), batch.arrays)
        return [np.asarray(v, dtype=np.float64) for v in out]

    def data_expvals(self, batch: ZStringBatch) -> list[np.ndarray]:
        """Empirical ``<Z_a>`` of the target samples for each string of each group."""
        return [np.asarray(grp["data"], dtype=np.float64) for grp in batch.arrays["groups"]]


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


def train_iqp_estimator(
    ansatz_or_generators: Any,
    target_samples: np.ndarray,
    sigmas: Sequence[float],
    optimizer,
    steps: int,
    n_ops: int,
    n_z: int,
    seed: int,
    *,
    n_qubits: int | None = None,
    spin_flip_symmetric: bool | None = None,
    init: str | np.ndarray = "data",
    init_scale: float = 0.05,
    path: str = "auto",
    dtype: str = "float32",
    log_every: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Train an IQP Born machine on target samples with the Z-string MMD estimator.

    Args:
        ansatz_or_generators: an :class:`~qgenflow.models.iqp.IQPAnsatz` (its generators,
            qubit count and spin-flip option are used) or an int [G, w] generator array.
        target_samples: [N, n] uint8 bits.
        sigmas: kernel bandwidths (mixture = mean of kernels).
        optimizer: an ``optax.GradientTransformation``.
        steps: number of updates.
        n_ops, n_z: Z-strings and ``z`` samples per step (redrawn every step).
        seed: seeds the initial angles and every step's draws.
        n_qubits, spin_flip_symmetric: only with a generator array (defaults: the samples'
            width, false).
        init: ``data`` (weight-1 angles from the marginals, :func:`data_init`, plus
            normal noise of std ``init_scale`` on every angle: at zero weight-2 angles
            their gradient vanishes), ``uniform`` (uniform in ``[-init_scale, init_scale]``)
            or an explicit array.
        path, dtype: see :class:`ZStringMMD`.
        log_every: log progress every this many steps (default: about 20 lines a run).

    Returns:
        ``(params, history)``: float64 angles [G] and ``history`` with ``step`` [steps + 1],
        ``loss`` (the estimate before each update, then a final one on a fresh batch) and
        ``seconds`` (wall time since the start at each step).
    """
    import jax
    import optax

    _enable_x64()
    if hasattr(ansatz_or_generators, "generators"):
        generators = np.asarray(ansatz_or_generators.generators)
        n = int(ansatz_or_generators.n_qubits)
        symmetric = bool(getattr(ansatz_or_generators, "spin_flip_symmetric", False))
    else:
        generators = np.asarray(ansatz_or_generators)
        n = int(n_qubits if n_qubits is not None else np.shape(target_samples)[1])
        symmetric = bool(spin_flip_symmetric)
    estimator = ZStringMMD(
        generators,
        n,
        target_samples,
        sigmas,
        n_ops=n_ops,
        n_z=n_z,
        spin_flip_symmetric=symmetric,
        path=path,
        dtype=dtype,
    )
    rng = np.random.default_rng([int(seed), _ESTIMATOR_STREAM])
    if isinstance(init, str):
        if init == "data":
            theta0 = data_init(generators, target_samples) + rng.normal(0.0, init_scale, size=len(generators))
        elif init == "uniform":
            theta0 = rng.uniform(-init_scale, init_scale, size=len(generators))
        else:
            raise ValueError(f"unknown init {init!r}; allowed: data, uniform, or an array")
    else:
        theta0 = np.asarray(init, dtype=np.float64).reshape(len(generators))

    @jax.jit
    def update(grad, state, params):
        updates, state = optimizer.update(grad, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.numpy.asarray(theta0, dtype=jax.numpy.float64)
    state = optimizer.init(params)
    log_every = log_every or max(1, steps // 20)
    losses = np.empty(steps + 1)
    seconds = np.empty(steps + 1)
    log.info(
        "iqp estimator: %d qubits, %d parameters, %d strings x %d z per step, path %s, sigmas %s",
        n,
        len(generators),
        n_ops,
        n_z,
        estimator.path,
        ", ".join(f"{s:.3g}" for s in estimator.sigmas),
    )
    start = time.perf_counter()
    for step in range(steps):
        batch = estimator.draw_batch(rng)
        loss, grad = estimator.jax_value_and_grad(params, batch)
        params, state = update(grad, state, params)
        losses[step] = float(loss)
        seconds[step] = time.perf_counter() - start
        if (step + 1) % log_every == 0 or step == 0:
            eta = seconds[step] / (step + 1) * (steps - step - 1)
            log.info(
                "step %d/%d  loss %.3e  elapsed %.1fs  left ~%.1fs", step + 1, steps, losses[step], seconds[step], eta
            )
    params_np = np.asarray(params, dtype=np.float64)
    losses[steps] = estimator.loss(params_np, estimator.draw_batch(rng))
    seconds[steps] = time.perf_counter() - start
    log.info("final loss %.3e after %d steps in %.1fs", losses[steps], steps, seconds[steps])
    history = {"step": np.arange(steps + 1, dtype=np.int64), "loss": losses, "seconds": seconds}
    return params_np, history


# ---------------------------------------------------------------------- sampling the trained model
def iqp_model_probs(
    generators: np.ndarray, theta: np.ndarray, n_qubits: int, *, spin_flip_symmetric: bool = False
) -> np.ndarray:
    """Exact big-endian output probabilities of the IQP model (numpy; ``n <= MAX_EXACT_QUBITS``)."""
    from ..bits import index_to_bits
    from ..config import MAX_EXACT_QUBITS
    from ..targets.iqp import iqp_phase, iqp_probs, walsh_hadamard

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
    from ..bits import sample_from_probs
    from ..config import MAX_EXACT_QUBITS
    from ..targets.iqp import MAX_SHOT_QUBITS

    if device is None and n_qubits <= MAX_EXACT_QUBITS:
        probs = iqp_model_probs(generators, theta, n_qubits, spin_flip_symmetric=spin_flip_symmetric)
        return sample_from_probs(probs, int(n_samples), np.random.default_rng(int(seed)))
    if device is None and n_qubits > MAX_SHOT_QUBITS:
        raise ClassicalSamplingError(
            f"cannot sample a {n_qubits}-qubit IQP circuit classically (simulator limit {MAX_SHOT_QUBITS} qubits; "
            "sampling IQP circuits is believed classically hard): configure a device (hardware) to sample "
            "the trained circuit, or keep the model without samples"
        )
    import pennylane as qml

    from ..devices import make_device
    from ..models.iqp import IQPAnsatz

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
