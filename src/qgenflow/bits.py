"""Bitstring conventions shared by every stage.

A sample is a row of ``uint8`` bits; bit ``i`` is qubit/wire ``i`` and lattice
site ``i``. Bit value 0 is the state |0>, Z eigenvalue +1, spin up.
A probability vector over ``n`` bits has length ``2**n`` and is indexed
big-endian: wire 0 is the most significant bit, exactly as ``qml.probs``
returns it. These rules are restated in :mod:`qgenflow.io` and never change.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bits_to_index",
    "index_to_bits",
    "all_bitstrings",
    "sample_from_probs",
    "empirical_probs",
    "unique_counts",
]

MAX_DENSE_BITS = 30


def bits_to_index(bits: np.ndarray) -> np.ndarray:
    """Big-endian integer index of each row of ``bits`` (shape [N, n])."""
    bits = np.asarray(bits, dtype=np.uint8)
    n = bits.shape[-1]
    if n > 63:
        raise ValueError(f"cannot index {n}-bit strings with int64")
    weights = (1 << np.arange(n - 1, -1, -1, dtype=np.int64)).astype(np.int64)
    return bits.astype(np.int64) @ weights


def index_to_bits(index: np.ndarray | int, n: int) -> np.ndarray:
    """Rows of ``uint8`` bits (big-endian) for integer indices."""
    index = np.asarray(index, dtype=np.int64)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((index[..., None] >> shifts) & 1).astype(np.uint8)


def all_bitstrings(n: int) -> np.ndarray:
    """All ``2**n`` bitstrings as a [2^n, n] ``uint8`` array, in probability-vector order."""
    if n > MAX_DENSE_BITS:
        raise ValueError(f"refusing to enumerate 2^{n} bitstrings")
    return index_to_bits(np.arange(2**n, dtype=np.int64), n)


def sample_from_probs(probs: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_samples`` exact samples from a big-endian probability vector."""
    probs = np.asarray(probs, dtype=np.float64)
    n = int(round(np.log2(probs.size)))
    if 2**n != probs.size:
        raise ValueError(f"probability vector length {probs.size} is not a power of two")
    p = np.clip(probs, 0.0, None)
    p = p / p.sum()
    counts = rng.multinomial(n_samples, p)
    idx = np.repeat(np.arange(p.size, dtype=np.int64), counts)
    rng.shuffle(idx)
    return index_to_bits(idx, n)


def unique_counts(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``samples`` and how often each occurs."""
    samples = np.asarray(samples, dtype=np.uint8)
    uniq, counts = np.unique(samples, axis=0, return_counts=True)
    return uniq, counts


def empirical_probs(samples: np.ndarray, n: int | None = None) -> np.ndarray:
    """Histogram of samples as a big-endian probability vector of length ``2**n``."""
    samples = np.asarray(samples, dtype=np.uint8)
    n = samples.shape[1] if n is None else n
    if n > MAX_DENSE_BITS:
        raise ValueError(f"refusing a dense histogram over 2^{n} bitstrings")
    counts = np.bincount(bits_to_index(samples), minlength=2**n).astype(np.float64)
    return counts / max(samples.shape[0], 1)
