"""A 1D Gaussian mixture discretised on the 2^n points of an n-bit grid.

This is the continuous benchmark of Liu & Wang's quantum circuit Born machine
paper (Phys. Rev. A 98, 062324, 2018): two Gaussians centred at 2/7 and 5/7 of
the range with width 1/8 of the range. These are the defaults.

Units. Means and widths are fractions of the range: the interval [0, 1) is cut
into 2^n equal cells and grid point ``k`` is the cell [k, k+1) / 2^n, centred at
(k + 1/2) / 2^n. In grid units a component has mean ``mean * 2^n - 1/2`` and
width ``std * 2^n``, so ``mean: 0.5`` is the exact centre of the grid and a spec
describes the same shape at every ``n_bits``.

Probabilities. The mass of grid point ``k`` is the mixture's probability of its
cell, sum_c w_c [Phi_c((k+1)/2^n) - Phi_c(k/2^n)], renormalised over [0, 1), i.e.
the mixture truncated to the range. Integrating over cells (rather than
evaluating the density at the points) stays exact for widths below one cell.
The paper instead evaluates exp(-(k - mu)^2 / (2 sigma^2)) at k with
mu = mean * 2^n; at n = 10 with the defaults the two differ by a half-cell shift,
a total-variation distance of about 1e-3.

Encoding. Grid point ``k`` becomes the bitstring of an integer code, written
big-endian like every qgenflow bitstring: ``binary`` uses ``k`` itself, ``gray``
uses the reflected Gray code ``k XOR (k >> 1)``, in which neighbouring grid
points differ in exactly one bit. The probability vector holds the mass of
grid point ``k`` at index ``code(k)``; ``/grid_probs`` keeps it in grid order.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from scipy.special import ndtr

from ..bits import sample_from_probs
from ..errors import InvalidConfigError
from ..schema import load_schema, with_defaults
from .base import Target

__all__ = [
    "DEFAULT_COMPONENTS",
    "ENCODINGS",
    "cell_mass",
    "grid_codes",
    "grid_probabilities",
    "make_gaussian_mixture",
]

ENCODINGS = ("binary", "gray")
_COMPONENTS = load_schema()["$defs"]["target_gaussian_mixture"]["properties"]["components"]
#: Liu & Wang's two Gaussians, as the schema's default; a component's weight defaults as the schema says.
DEFAULT_COMPONENTS: tuple[dict[str, float], ...] = tuple(_COMPONENTS["default"])
_DEFAULT_WEIGHT = float(_COMPONENTS["items"]["properties"]["weight"]["default"])


def grid_codes(n_bits: int, encoding: str = "binary") -> np.ndarray:
    """Big-endian bitstring index of every grid point 0 .. 2^n - 1 under ``encoding``."""
    if encoding not in ENCODINGS:
        raise InvalidConfigError("encoding", f"must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    k = np.arange(2**n_bits, dtype=np.int64)
    return k if encoding == "binary" else k ^ (k >> 1)


def _check_components(components: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(components, Sequence) or isinstance(components, str) or len(components) == 0:
        raise InvalidConfigError("components", "must be a non-empty list of {mean, std, weight}")
    means, stds, weights = [], [], []
    for i, comp in enumerate(components):
        if not isinstance(comp, Mapping):
            raise InvalidConfigError(f"components[{i}]", f"must be a mapping with mean, std, weight; got {comp!r}")
        unknown = sorted(set(comp) - {"mean", "std", "weight"})
        if unknown:
            raise InvalidConfigError(f"components[{i}]", f"unknown keys {unknown}; allowed: mean, std, weight")
        for key in ("mean", "std"):
            if key not in comp:
                raise InvalidConfigError(f"components[{i}].{key}", "is required")
        mean, std, weight = float(comp["mean"]), float(comp["std"]), float(comp.get("weight", _DEFAULT_WEIGHT))
        if not 0.0 <= mean <= 1.0:
            raise InvalidConfigError(
                f"components[{i}].mean", f"must lie in [0, 1] (a fraction of the range), got {mean}"
            )
        if not (np.isfinite(std) and std > 0.0):
            raise InvalidConfigError(f"components[{i}].std", f"must be > 0 (a fraction of the range), got {std}")
        if not (np.isfinite(weight) and weight > 0.0):
            raise InvalidConfigError(f"components[{i}].weight", f"must be > 0, got {weight}")
        means.append(mean)
        stds.append(std)
        weights.append(weight)
    w = np.asarray(weights)
    return np.asarray(means), np.asarray(stds), w / w.sum()


def cell_mass(lo: np.ndarray, hi: np.ndarray, mean: float | np.ndarray, std: float) -> np.ndarray:
    """P(lo <= X < hi) for X ~ N(mean, std^2), accurate in both tails."""
    a, b = (lo - mean) / std, (hi - mean) / std
    right = a > 0  # cells right of the mean: difference of upper tails avoids 1 - 1 cancellation
    return np.where(right, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))


def grid_probabilities(n_bits: int, components: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Mass of each grid point 0 .. 2^n - 1 (the mixture truncated to [0, 1), integrated per cell).

    Args:
        n_bits: grid has 2^n_bits points.
        components: ``{mean, std, weight}`` each, mean and std as fractions of the
            range; weights need not sum to one.

    Returns:
        float64 vector of length 2^n_bits summing to one.
    """
    means, stds, weights = _check_components(components)
    edges = np.arange(2**n_bits + 1, dtype=np.float64) / 2**n_bits
    lo, hi = edges[:-1], edges[1:]
    mass = np.zeros(2**n_bits)
    for mean, std, weight in zip(means, stds, weights):
        mass += weight * cell_mass(lo, hi, mean, std)
    return mass / mass.sum()


def make_gaussian_mixture(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Discretised Gaussian mixture on ``n_bits`` bits.

    ``spec`` has ``n_bits``, ``n_samples``, ``components`` (list of ``{mean, std,
    weight}`` as fractions of the range; default: Liu & Wang's two Gaussians) and
    ``encoding`` (``binary`` or ``gray``; default ``binary``).
    """
    spec = with_defaults("targets", {**spec, "kind": "gaussian_mixture"})
    n = int(spec["n_bits"])
    if n < 1:
        raise InvalidConfigError("n_bits", f"must be >= 1, got {n}")
    encoding = spec["encoding"]
    codes = grid_codes(n, encoding)
    components = spec["components"]
    grid_probs = grid_probabilities(n, components)
    probs = np.empty_like(grid_probs)
    probs[codes] = grid_probs
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    return Target(
        n_qubits=n,
        samples=samples,
        probs=probs,
        extra={"grid_probs": grid_probs},
        attrs={"encoding": encoding, "n_components": len(components)},
    )
