"""A 2-D Gaussian discretised on a 2^bits_x x 2^bits_y grid: the QGAN literature's standard 2-D example.

Units and cells follow the 1-D :mod:`~qgenflow.targets.gaussian_mixture`: each axis is the
range [0, 1) cut into ``2^bits`` equal cells, grid point ``i`` being the cell
``[i, i + 1) / 2^bits``; means and standard deviations are fractions of the range, so a spec
describes the same shape at every resolution. The covariance is given either as ``std``
per axis with a ``correlation`` rho, or as a 2x2 ``covariance`` matrix (which then replaces
them).

Probabilities. Grid point ``(i, j)`` gets the Gaussian's probability of its cell, renormalised
over [0, 1)^2 (the Gaussian truncated to the square), as the 1-D target integrates over
cells. The cell mass factorises as ``P(X in cell i) * E[P(Y in cell j | X) | X in cell i]``:
the first factor and the conditional ``Y | X = x ~ N(mu_y + rho sigma_y (x - mu_x) / sigma_x,
sigma_y^2 (1 - rho^2))`` masses are normal CDF differences (the 1-D target's tail-safe
:func:`~qgenflow.targets.gaussian_mixture.cell_mass`), the conditional expectation over the
x cell a Gauss-Legendre rule (8 nodes per sub-interval, sub-intervals no wider than a
quarter of the scale on which the integrand varies) weighted by the density of X. With rho = 0 the masses are the
products of the 1-D ones.

Encoding. The x register is the leading (most significant) ``bits_x`` bits, the y register
the trailing ``bits_y``: grid point ``(i, j)`` is the bitstring of ``code(i) * 2^bits_y +
code(j)``, with ``code`` the binary or reflected Gray code of the 1-D target
(:func:`~qgenflow.targets.gaussian_mixture.grid_codes`). ``/grid_probs`` keeps the masses in
grid order, [2^bits_x, 2^bits_y].
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..bits import sample_from_probs
from ..errors import InvalidConfigError
from ..schema import with_defaults
from .base import Target
from .gaussian_mixture import cell_mass, grid_codes

__all__ = ["grid_covariance", "gaussian_grid_probabilities", "gaussian_grid_qubits", "make_gaussian_grid", "register_bits"]

#: Gauss-Legendre nodes per sub-interval of an x cell.
_NODES = 8
#: Most sub-intervals per x cell (a Gaussian far narrower than a cell).
_MAX_SUBINTERVALS = 256
#: Conditional masses evaluated per block of x cells (bounds the working memory to ~32 MiB).
_BLOCK_ENTRIES = 1 << 22


def register_bits(spec: Mapping[str, Any]) -> tuple[int, int]:
    """``(bits_x, bits_y)`` of a spec: ``bits_x`` defaults to half of ``n_bits`` (the larger half)."""
    n = int(spec["n_bits"])
    if n < 2:
        raise InvalidConfigError("n_bits", f"must be >= 2 (one bit per axis at least), got {n}")
    bits_x = spec.get("bits_x")
    bits_x = n - n // 2 if bits_x is None else int(bits_x)
    if not 1 <= bits_x <= n - 1:
        raise InvalidConfigError("bits_x", f"must be 1 to n_bits - 1 = {n - 1} (bits_y = n_bits - bits_x), got {bits_x}")
    return bits_x, n - bits_x


def grid_covariance(spec: Mapping[str, Any]) -> np.ndarray:
    """The 2x2 covariance (fractions of the range squared) of a spec, checked positive definite."""
    cov = spec.get("covariance")
    if cov is None:
        std = np.asarray(spec["std"], dtype=np.float64)
        rho = float(spec["correlation"])
        if std.shape != (2,) or not np.all(np.isfinite(std) & (std > 0)):
            raise InvalidConfigError("std", f"must be two numbers > 0 (fractions of the range), got {spec['std']!r}")
        if not -1.0 < rho < 1.0:
            raise InvalidConfigError("correlation", f"must lie in (-1, 1), got {rho}")
        return np.array([[std[0] ** 2, rho * std[0] * std[1]], [rho * std[0] * std[1], std[1] ** 2]])
    cov = np.asarray(cov, dtype=np.float64)
    if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or cov[0, 1] != cov[1, 0]:
        raise InvalidConfigError("covariance", f"must be a symmetric 2x2 matrix, got {spec['covariance']!r}")
    if not (cov[0, 0] > 0 and np.linalg.det(cov) > 0):
        raise InvalidConfigError("covariance", f"must be positive definite, got {cov.tolist()}")
    return cov


def _check_mean(spec: Mapping[str, Any]) -> np.ndarray:
    mean = np.asarray(spec["mean"], dtype=np.float64)
    if mean.shape != (2,) or not np.all((mean >= 0.0) & (mean <= 1.0)):
        raise InvalidConfigError("mean", f"must be two numbers in [0, 1] (fractions of the range), got {spec['mean']!r}")
    return mean


def _nodes(bits_x: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes [2^bits_x, K] over every x cell (sub-intervals no wider than scale / 4)."""
    width = 2.0**-bits_x
    parts = int(min(_MAX_SUBINTERVALS, max(1, math.ceil(4.0 * width / scale))))
    unit, weights = np.polynomial.legendre.leggauss(_NODES)  # on [-1, 1]
    starts = np.arange(parts) / parts  # sub-interval starts within a cell, in cells
    offsets = (starts[:, None] + (unit[None, :] + 1.0) / (2.0 * parts)).ravel()
    cells = np.arange(2**bits_x, dtype=np.float64)
    return (cells[:, None] + offsets[None, :]) * width, np.tile(weights, parts)


def gaussian_grid_probabilities(bits_x: int, bits_y: int, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Mass of every grid cell, [2^bits_x, 2^bits_y] in grid order, the Gaussian truncated to [0, 1)^2.

    Args:
        bits_x, bits_y: the grid has 2^bits_x x 2^bits_y points.
        mean: the two means, fractions of the range.
        cov: the 2x2 covariance, in fractions of the range squared (positive definite).

    Returns:
        float64 array summing to one.
    """
    sx, sy = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    rho = cov[0, 1] / (sx * sy)
    slope, sy_given_x = rho * sy / sx, sy * math.sqrt(1.0 - rho**2)
    x_edges = np.arange(2**bits_x + 1, dtype=np.float64) / 2**bits_x
    y_edges = np.arange(2**bits_y + 1, dtype=np.float64) / 2**bits_y
    x_mass = cell_mass(x_edges[:-1], x_edges[1:], mean[0], sx)
    if rho == 0.0:
        out = np.outer(x_mass, cell_mass(y_edges[:-1], y_edges[1:], mean[1], sy))
        return out / out.sum()
    # X's density and the conditional masses vary on the scales sigma_x and sigma_x sqrt(1 - rho^2) / |rho|
    nodes, weights = _nodes(bits_x, min(sx, sx * math.sqrt(1.0 - rho**2) / abs(rho)))
    log_density = -0.5 * ((nodes - mean[0]) / sx) ** 2
    w = weights * np.exp(log_density - log_density.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)  # the density of X within its cell, as quadrature weights
    out = np.empty((2**bits_x, 2**bits_y))
    block = max(1, _BLOCK_ENTRIES // (nodes.shape[1] * 2**bits_y))
    for start in range(0, 2**bits_x, block):
        centre = mean[1] + slope * (nodes[start : start + block, :, None] - mean[0])
        conditional = cell_mass(y_edges[:-1], y_edges[1:], centre, sy_given_x)  # [B, K, 2^bits_y]
        out[start : start + block] = x_mass[start : start + block, None] * np.einsum(
            "bk,bky->by", w[start : start + block], conditional
        )
    return out / out.sum()


def _settings(spec: Mapping[str, Any]) -> tuple[dict[str, Any], int, int, np.ndarray, np.ndarray]:
    spec = with_defaults("targets", {**spec, "kind": "gaussian_grid"})
    bits_x, bits_y = register_bits(spec)
    return spec, bits_x, bits_y, _check_mean(spec), grid_covariance(spec)


def gaussian_grid_qubits(spec: Mapping[str, Any]) -> int:
    """The width ``n_bits`` of a ``gaussian_grid`` entry, after checking registers, mean and covariance."""
    spec, bits_x, bits_y, _, _ = _settings(spec)
    grid_codes(1, spec["encoding"])
    return bits_x + bits_y


def make_gaussian_grid(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Discretised 2-D Gaussian on ``n_bits = bits_x + bits_y`` bits.

    ``spec`` keys (see the schema's ``target_gaussian_grid``): ``n_bits``, ``bits_x``,
    ``n_samples``, ``mean``, ``std`` and ``correlation`` or ``covariance``, ``encoding``.
    """
    spec, bits_x, bits_y, mean, cov = _settings(spec)
    encoding = spec["encoding"]
    grid_probs = gaussian_grid_probabilities(bits_x, bits_y, mean, cov)
    index = grid_codes(bits_x, encoding)[:, None] * 2**bits_y + grid_codes(bits_y, encoding)[None, :]
    probs = np.empty(grid_probs.size)
    probs[index.ravel()] = grid_probs.ravel()
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    return Target(
        n_qubits=bits_x + bits_y,
        samples=samples,
        probs=probs,
        extra={"grid_probs": grid_probs},
        attrs={"encoding": encoding, "bits_x": bits_x, "bits_y": bits_y, "mean": mean, "covariance": cov},
    )
