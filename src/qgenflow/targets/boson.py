"""Boson sampling targets: Gaussian boson sampling with threshold detectors, and Fock-state boson sampling.

Both send light through a Haar-random ``m x m`` interferometer ``U`` (output mode ``i`` gets
``sum_j U[i, j]`` of input mode ``j``) and read ``m`` detectors; bit ``k`` of a sample is
mode ``k`` (wire ``k``, the most significant bit of a probability index, as everywhere in
qgenflow, see :mod:`qgenflow.bits`), and 1 means detector ``k`` saw light.

``kind: gbs`` (Hamilton et al. 2017; the Jiuzhang experiments, Zhong et al. 2020): single-mode
squeezed vacuum (squeezing ``r``, phase 0) in the first ``n_squeezed`` modes, vacuum in the
rest, then ``U``; threshold (click) detectors, so a sample is a click pattern. The state is
Gaussian with covariance ``hbar/2 S S^T``, ``S = interferometer(U) @ squeezing(r)``
(The Walrus's ``thewalrus.symplectic``, xxpp ordering: all x quadratures, then all p;
``hbar = 2``). ``method: exact`` gives every one of the ``2^m`` click probabilities from the
Torontonian, ``p(C) = Tor(O_C) / sqrt(det Q)`` with ``O = I - Q^-1`` (the formula of
``thewalrus.threshold_detection_prob``, with ``Q`` and ``O`` built once), for
``m <= MAX_GBS_EXACT_MODES``, and samples drawn from them; ``method: sampler`` draws click
patterns with ``thewalrus.samples.torontonian_sample_state`` (no probabilities). That sampler
splits each mode over ``fanout`` virtual detectors and truncates each one's photon number at
``cutoff``: it is approximate, with an error that grows with the photons per virtual detector
(a chi-square test against the exact probabilities rejects it at ``r = 1``, ``fanout = 10``,
``cutoff = 1`` with 4000 samples). It draws from NumPy's global generator, so it runs under a
seed drawn from the target stream, and the global state is put back afterwards.

``kind: boson_sampling`` (Aaronson and Arkhipov 2011): one photon in each of the first ``n``
modes; the probability of output pattern ``S`` (one photon in each of the ``n`` modes of ``S``)
is ``|Perm(U[S, :n])|^2`` (``thewalrus.perm``). Outputs with two or more photons in one mode
(collisions) have no bitstring; the target keeps the collision-free outcomes and renormalises
over them, i.e. it is boson sampling post-selected on no collisions. That renormalisation is a
choice; the mass it removes shows in the ``collision_free_mass`` attribute (the probability
that an ideal device gives a collision-free outcome, about ``exp(-n^2 / (2m))`` for ``m >> n``).

The interferometer is rebuilt from the ``interferometer_seed`` attribute by
:func:`haar_interferometer` (``scipy.stats.unitary_group``, since The Walrus's own
``random_interferometer`` draws from NumPy's global generator) and stored as
``interferometer/unitary``; GBS targets also store ``state/cov``.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..bits import all_bitstrings, sample_from_probs
from ..errors import InvalidConfigError
from ..limits import MAX_EXACT_QUBITS
from ..rng import make_rng
from ..schema import with_defaults
from .base import Target

__all__ = [
    "GBS_METHODS",
    "HBAR",
    "MAX_FOCK_MODES",
    "MAX_GBS_EXACT_MODES",
    "check_boson_spec",
    "fock_probs",
    "gbs_click_probs",
    "gbs_covariance",
    "gbs_sampler_samples",
    "haar_interferometer",
    "make_boson_sampling",
    "make_gbs",
    "squeezing_parameters",
]

log = logging.getLogger(__name__)

GBS_METHODS = ("exact", "sampler")
#: The ``hbar`` of The Walrus's default convention: vacuum covariance ``hbar/2 I = I``.
HBAR = 2.0
#: Largest GBS target with exact click probabilities: the Torontonian loop costs ~3^m
#: (measured 1.7 s at m = 12 and 15 s at m = 14 on one loaded core, ~2 min at 16).
MAX_GBS_EXACT_MODES = 14
#: Largest Fock-state boson sampling target: its dense probability vector has 2^m entries.
MAX_FOCK_MODES = MAX_EXACT_QUBITS
_BITS = "bit k = mode k (big-endian probability index, mode 0 most significant); 1 = light at detector k"


def haar_interferometer(n_modes: int, seed: int) -> np.ndarray:
    """The Haar-random ``n_modes x n_modes`` unitary of ``seed`` (stream ``boson_interferometer``)."""
    # heavy: scipy.stats takes seconds to import; targets is imported when Snakemake parses the workflow
    from scipy.stats import unitary_group

    unitary = unitary_group.rvs(int(n_modes), random_state=make_rng(seed, "boson_interferometer"))
    return np.asarray(unitary, dtype=np.complex128).reshape(n_modes, n_modes)


def gbs_covariance(unitary: np.ndarray, r: Sequence[float]) -> np.ndarray:
    """xxpp covariance (``hbar = 2``) of squeezed vacuum ``r`` (one value per mode, 0 = vacuum) after ``unitary``."""
    # heavy: thewalrus loads numba; targets is imported when Snakemake parses the workflow
    from thewalrus.symplectic import interferometer, squeezing

    r = np.asarray(r, dtype=np.float64)
    if unitary.shape != (r.size, r.size):
        raise ValueError(f"unitary of shape {unitary.shape} for {r.size} modes")
    symplectic = interferometer(unitary) @ squeezing(r)
    return HBAR / 2.0 * symplectic @ symplectic.T


def gbs_click_probs(cov: np.ndarray) -> np.ndarray:
    """Exact big-endian probabilities of all ``2^m`` click patterns of a zero-mean Gaussian state.

    ``p(C) = Tor(O[C, C]) / sqrt(det Q)``, ``Q = thewalrus.quantum.Qmat(cov)``, ``O = I - Q^-1``,
    where ``O[C, C]`` keeps the rows and columns of the clicked modes in both halves (the
    formula of ``thewalrus.threshold_detection_prob`` for an undisplaced state).
    """
    # heavy: thewalrus loads numba; targets is imported when Snakemake parses the workflow
    from thewalrus import tor
    from thewalrus.quantum import Qmat  # heavy: as above

    n_modes = cov.shape[0] // 2
    q_matrix = Qmat(cov, hbar=HBAR)
    o_matrix = np.eye(2 * n_modes) - np.linalg.inv(q_matrix)
    vacuum = 1.0 / np.sqrt(np.linalg.det(q_matrix).real)
    probs = np.empty(2**n_modes, dtype=np.float64)
    for index, pattern in enumerate(all_bitstrings(n_modes)):
        clicked = np.flatnonzero(np.concatenate([pattern, pattern]))
        probs[index] = vacuum * tor(o_matrix[np.ix_(clicked, clicked)]).real if clicked.size else vacuum
    return probs


def gbs_sampler_samples(cov: np.ndarray, n_samples: int, seed: int, *, fanout: int, cutoff: int) -> np.ndarray:
    """[n_samples, m] uint8 click patterns from ``thewalrus.samples.torontonian_sample_state``.

    The sampler draws from NumPy's global generator: it runs seeded by ``seed`` and the
    global state is restored afterwards. ``max_photons`` is set to ``m`` (its default 30
    would reject, and so bias against, patterns with more clicks).
    """
    # heavy: thewalrus loads numba; targets is imported when Snakemake parses the workflow
    from thewalrus.samples import torontonian_sample_state

    n_modes = cov.shape[0] // 2
    saved = np.random.get_state()
    try:
        np.random.seed(int(seed))
        samples = torontonian_sample_state(
            cov, int(n_samples), max_photons=n_modes, fanout=int(fanout), cutoff=int(cutoff)
        )
    finally:
        np.random.set_state(saved)
    return np.asarray(samples, dtype=np.uint8).reshape(int(n_samples), n_modes)


def fock_probs(unitary: np.ndarray, n_photons: int) -> tuple[np.ndarray, float]:
    """Collision-free output distribution of one photon in each of the first ``n_photons`` modes.

    Returns:
        ``(probs, mass)``: the big-endian probabilities ``|Perm(U[S, :n])|^2`` of the
        patterns with exactly ``n_photons`` ones, renormalised over them (zero elsewhere),
        and ``mass``, their total before renormalisation (the collision-free probability).
    """
    # heavy: thewalrus loads numba; targets is imported when Snakemake parses the workflow
    from thewalrus import perm

    n_modes = unitary.shape[0]
    columns = unitary[:, :n_photons]
    probs = np.zeros(2**n_modes, dtype=np.float64)
    for rows in itertools.combinations(range(n_modes), n_photons):
        index = sum(1 << (n_modes - 1 - k) for k in rows)
        probs[index] = abs(perm(np.ascontiguousarray(columns[list(rows)]))) ** 2
    mass = float(probs.sum())
    probs /= mass
    return probs, mass


def squeezing_parameters(spec: Mapping[str, Any]) -> np.ndarray:
    """Squeezing ``r`` of every mode of a ``gbs`` spec: its ``r`` on the first ``n_squeezed`` modes, 0 after."""
    n_modes = int(spec["n_modes"])
    n_squeezed = n_modes if spec.get("n_squeezed") is None else int(spec["n_squeezed"])
    if not 1 <= n_squeezed <= n_modes:
        raise InvalidConfigError("n_squeezed", f"must be 1 to n_modes = {n_modes}, got {n_squeezed}")
    given = spec["r"]
    values = [given] * n_squeezed if isinstance(given, (int, float)) else list(given)
    if len(values) != n_squeezed:
        raise InvalidConfigError(
            "r", f"one value or a list of n_squeezed = {n_squeezed} values (one per squeezed mode), got {len(values)}"
        )
    r = np.zeros(n_modes, dtype=np.float64)
    r[:n_squeezed] = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r < 0.0):
        raise InvalidConfigError("r", f"squeezing must be finite and >= 0, got {given!r}")
    if not np.any(r > 0.0):
        raise InvalidConfigError("r", "at least one mode must be squeezed (r > 0); all-vacuum light never clicks")
    return r


def _check_seed(spec: Mapping[str, Any]) -> None:
    seed = spec.get("interferometer_seed")
    if seed is not None and (isinstance(seed, bool) or int(seed) != seed or seed < 0):
        raise InvalidConfigError("interferometer_seed", f"must be a non-negative integer or null, got {seed!r}")


def _check_gbs(spec: Mapping[str, Any]) -> tuple[int, np.ndarray, str]:
    """Validated ``(n_modes, r, method)`` of a completed ``gbs`` spec."""
    n_modes = int(spec["n_modes"])
    if n_modes < 1:
        raise InvalidConfigError("n_modes", f"must be >= 1, got {n_modes}")
    method = spec["method"]
    if method not in GBS_METHODS:
        raise InvalidConfigError("method", f"unknown method {method!r}; allowed: {', '.join(GBS_METHODS)}")
    if method == "exact" and n_modes > MAX_GBS_EXACT_MODES:
        raise InvalidConfigError(
            "n_modes", f"exact click probabilities (Torontonians, ~3^m work) are limited to {MAX_GBS_EXACT_MODES} "
            f"modes, got {n_modes}; use method: sampler",
        )
    for key in ("fanout", "cutoff"):
        value = (spec.get("sampler") or {}).get(key)
        if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
            raise InvalidConfigError(f"sampler.{key}", f"must be an integer >= 1, got {value!r}")
    _check_seed(spec)
    return n_modes, squeezing_parameters(spec), method


def _check_fock(spec: Mapping[str, Any]) -> tuple[int, int]:
    """Validated ``(n_modes, n_photons)`` of a completed ``boson_sampling`` spec."""
    n_modes, n_photons = int(spec["n_modes"]), int(spec["n_photons"])
    if not 1 <= n_modes <= MAX_FOCK_MODES:
        raise InvalidConfigError("n_modes", f"must be 1 to {MAX_FOCK_MODES} (a dense 2^m distribution), got {n_modes}")
    if not 1 <= n_photons <= n_modes:
        raise InvalidConfigError("n_photons", f"must be 1 to n_modes = {n_modes}, got {n_photons}")
    _check_seed(spec)
    return n_modes, n_photons


def check_boson_spec(spec: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidConfigError` for what the schema cannot check (mode limits, ``r`` length).

    Cheap (nothing is simulated), so it can run before any job starts.
    """
    if spec.get("kind") == "gbs":
        _check_gbs(with_defaults("targets", spec))
    elif spec.get("kind") == "boson_sampling":
        _check_fock(with_defaults("targets", spec))
    else:
        raise InvalidConfigError("kind", f"expected gbs or boson_sampling, got {spec.get('kind')!r}")


def _interferometer_seed(spec: Mapping[str, Any], rng: np.random.Generator) -> int:
    """The interferometer seed of a spec, or one drawn from ``rng`` (in the schema's range, so it can be copied back)."""
    seed = spec.get("interferometer_seed")
    return int(rng.integers(0, 2**32)) if seed is None else int(seed)


def make_gbs(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Gaussian boson sampling target (click patterns) from its config entry, seeded by ``rng``.

    ``spec`` keys (the schema's ``target_gbs``): ``n_modes``, ``r``, ``n_squeezed``,
    ``interferometer_seed`` (null = drawn from ``rng``), ``method``, ``sampler``, ``n_samples``.
    """
    spec = with_defaults("targets", {**spec, "kind": "gbs"})
    n_modes, r, method = _check_gbs(spec)
    seed = _interferometer_seed(spec, rng)
    unitary = haar_interferometer(n_modes, seed)
    cov = gbs_covariance(unitary, r)
    n_samples = int(spec["n_samples"])
    attrs: dict[str, Any] = {
        "interferometer_seed": seed,
        "method": method,
        "squeezing": [float(x) for x in r],
        "n_squeezed": int(np.count_nonzero(r)),
        "mean_photon_number": float(np.sum(np.sinh(r) ** 2)),
        "covariance_convention": f"xxpp, hbar = {HBAR:g}; cov = hbar/2 S S^T, S = interferometer(U) @ squeezing(r)",
        "bit_convention": _BITS,
    }
    extra = {"interferometer/unitary": unitary, "state/cov": cov}
    if method == "exact":
        probs = gbs_click_probs(cov)
        samples = sample_from_probs(probs, n_samples, rng)
        attrs["mean_clicks"] = float(probs @ all_bitstrings(n_modes).sum(axis=1))
        log.info("gbs: %d modes, exact, mean clicks %.3f, sum p = %.12f", n_modes, attrs["mean_clicks"], probs.sum())
        return Target(n_qubits=n_modes, samples=samples, probs=probs, extra=extra, attrs=attrs)
    sampler = spec["sampler"]
    sampler_seed = int(rng.integers(0, 2**32 - 1))
    samples = gbs_sampler_samples(cov, n_samples, sampler_seed, fanout=sampler["fanout"], cutoff=sampler["cutoff"])
    attrs.update(sampler="thewalrus.samples.torontonian_sample_state", sampler_seed=sampler_seed,
                 sampler_fanout=int(sampler["fanout"]), sampler_cutoff=int(sampler["cutoff"]))
    log.info("gbs: %d modes, %d samples from The Walrus's threshold sampler", n_modes, n_samples)
    return Target(n_qubits=n_modes, samples=samples, probs=None, extra=extra, attrs=attrs)


def make_boson_sampling(spec: Mapping[str, Any], rng: np.random.Generator) -> Target:
    """Collision-free Fock-state boson sampling target from its config entry, seeded by ``rng``.

    ``spec`` keys (the schema's ``target_boson_sampling``): ``n_modes``, ``n_photons``,
    ``interferometer_seed`` (null = drawn from ``rng``), ``n_samples``. The probabilities are
    renormalised over collision-free outcomes; ``collision_free_mass`` records the mass kept.
    """
    spec = with_defaults("targets", {**spec, "kind": "boson_sampling"})
    n_modes, n_photons = _check_fock(spec)
    seed = _interferometer_seed(spec, rng)
    unitary = haar_interferometer(n_modes, seed)
    probs, mass = fock_probs(unitary, n_photons)
    samples = sample_from_probs(probs, int(spec["n_samples"]), rng)
    attrs: dict[str, Any] = {
        "interferometer_seed": seed,
        "n_photons": n_photons,
        "input_state": f"one photon in each of modes 0..{n_photons - 1}, vacuum elsewhere",
        "collision_free_mass": mass,
        "renormalised": True,
        "postselection": "collision-free outcomes only (at most one photon per mode), probabilities renormalised "
        "over them; collision_free_mass is their total before renormalisation",
        "n_outcomes": math.comb(n_modes, n_photons),
        "bit_convention": _BITS,
    }
    log.info("boson_sampling: %d photons in %d modes, collision-free mass %.4f", n_photons, n_modes, mass)
    return Target(n_qubits=n_modes, samples=samples, probs=probs, extra={"interferometer/unitary": unitary},
                  attrs=attrs)
