"""Advantage audit of a trained quantum model: how classically easy is what was done here?

Issue #14 item 5. For every trained quantum model (QCBM, IQP Born machine, QGAN
generator) the audit records the classical cost of its training (wall time, method,
the memory of a statevector of its size), and properties of its circuit and state
that bound any sampling advantage:

* **Clifford** (:func:`is_clifford_op`, :func:`clifford_circuit`): every gate maps
  Paulis to Paulis, so the circuit is simulable by Gottesman-Knill;
* **entanglement** (:func:`schmidt_spectra`, :func:`entanglement_entropies`,
  :func:`bond_dimensions`): the Schmidt spectrum at every cut of the chain
  ``0 .. n-1``, the half-system entropy, and the bond dimension of the MPS that
  reproduces the state to a discarded weight of 1e-6 (small: cheap for tensor networks);
* **anticoncentration** ``2^n sum p^2`` (1 uniform, 2 Porter-Thomas);
* for IQP models, the **classical correlated-bit-flip analogue**
  (:func:`iqp_flip_samples`, :func:`iqp_flip_probs`): the same parameters without
  interference, scored like the model;
* :func:`shots_to_resolve`: the device shots at which a metric difference is resolved at 2 sigma.

:func:`audit_model` gathers all of this for one ``model.h5``. States are built
(by ``lightning.qubit``) only up to :data:`~qgenflow.limits.MAX_DENSE_QUBITS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pennylane as qml
import scipy.sparse as sp

from ..bits import unique_counts
from ..circuits.mps import mps_state, simulate
from ..devices import make_device
from ..errors import ArtefactError
from ..io import Artefact
from ..limits import MAX_DENSE_QUBITS
from ..models import QCBM, make_ansatz
from ..models.ansatz import Ansatz
from ..models.qgan import setting
from ..models.qgan.state_prep import make_generator
from ..rng import make_rng
from ..schema import with_defaults
from ..targets.iqp import anticoncentration, generator_lists
from .distances import mmd2_from_counts, mmd2_probs
from .evaluate import TEST_SPLIT
from .tables import model_role

__all__ = [
    "state_profile",
    "BOND_TOL",
    "CLIFFORD_ATOL",
    "MAX_CLIFFORD_WIRES",
    "anticoncentration",
    "audit_model",
    "bond_dimensions",
    "clifford_circuit",
    "entanglement_entropies",
    "iqp_flip_probs",
    "iqp_flip_samples",
    "is_clifford_op",
    "model_ansatz",
    "model_circuit",
    "model_state",
    "schmidt_spectra",
    "shots_to_resolve",
    "training_method",
]

#: Discarded Schmidt weight up to which a truncated MPS counts as reproducing the state.
BOND_TOL = 1e-6
#: Entry-wise tolerance of the Clifford test (an angle this close to a multiple of pi/2 counts as on it).
CLIFFORD_ATOL = 1e-9
#: Largest gate (in wires) whose Clifford property is tested through its dense matrix.
MAX_CLIFFORD_WIRES = 10
# |<psi|psi> - 1| above this is not a normalised state.
_NORM_TOL = 1e-8
# A rebuilt circuit must reproduce the model's stored /probs to this (else the audit would describe another model).
_PROBS_TOL = 1e-8
# Bernoulli draws per chunk of iqp_flip_samples ([samples, generators] booleans).
_FLIP_CHUNK = 1 << 22
# QGAN flavours whose generator is built by make_generator (they may use its real-amplitude families).
_GENERATOR_FLAVORS = ("quantum_discriminator", "state_preparation")


# ---------------------------------------------------------------------- entanglement
def schmidt_spectra(state: np.ndarray, n: int) -> list[np.ndarray]:
    """Squared Schmidt coefficients at every cut of a normalised big-endian statevector.

    Cut ``k`` (``k = 1 .. n-1``) splits wires ``0 .. k-1`` (the ``k`` most significant
    bits, :mod:`qgenflow.bits`) from wires ``k .. n-1``. The coefficients are the
    eigenvalues of the reduced density matrix of the smaller side, ``A A^dagger`` for
    ``A`` the state reshaped to ``(2^k, 2^(n-k))`` (2 to 10x faster than an SVD of ``A``
    at n = 20; absolute error ~1e-16 on each squared coefficient).

    Args:
        state: ``2^n`` complex amplitudes, norm 1.
        n: number of qubits.

    Returns:
        ``n - 1`` arrays, entry ``k - 1`` of length ``2^min(k, n-k)``, sorted descending, summing to 1.

    Raises:
        ValueError: wrong length, or not normalised.
    """
    psi = np.asarray(state, dtype=np.complex128).reshape(-1)
    if n < 1 or psi.size != 2**n:
        raise ValueError(f"a statevector of {n} qubits has 2^{n} amplitudes, got {psi.size}")
    norm = float(np.vdot(psi, psi).real)
    if abs(norm - 1.0) > _NORM_TOL:
        raise ValueError(f"the statevector is not normalised: <psi|psi> = {norm}")
    spectra = []
    for k in range(1, n):
        a = psi.reshape(2**k, 2 ** (n - k))
        gram = a @ a.conj().T if k <= n - k else a.T @ a.conj()
        spectra.append(np.clip(np.linalg.eigvalsh(gram)[::-1], 0.0, None))
    return spectra


def entanglement_entropies(spectra: Sequence[np.ndarray]) -> np.ndarray:
    """Von Neumann entropy ``-sum l log2 l`` in bits of each cut's squared Schmidt coefficients."""
    out = np.zeros(len(spectra))
    for i, lam in enumerate(spectra):
        lam = np.asarray(lam, dtype=np.float64)
        lam = lam[lam > 0]
        out[i] = float(-np.sum(lam * np.log2(lam))) + 0.0
    return out


def bond_dimensions(spectra: Sequence[np.ndarray], tol: float = BOND_TOL) -> np.ndarray:
    """Per cut, the smallest ``chi`` whose discarded weight ``sum_{i >= chi} l_i`` is ``<= tol``.

    The MPS (in the wire order ``0 .. n-1``) that reproduces the state to ``tol`` needs
    bond dimension ``max`` of these over the cuts (1 for a product state, 2 for GHZ).

    Returns:
        int64 array, one entry per cut.
    """
    out = np.ones(len(spectra), dtype=np.int64)
    for i, lam in enumerate(spectra):
        lam = np.sort(np.asarray(lam, dtype=np.float64))[::-1]
        tail = np.cumsum(lam[::-1])[::-1]  # tail[j] = sum_{i >= j} lam_i, summed from the small end
        out[i] = 1 + int(np.count_nonzero(tail[1:] > tol))
    return out


# ---------------------------------------------------------------------- Clifford gates
def state_profile(state: np.ndarray, tol: float = BOND_TOL) -> dict[str, np.ndarray]:
    """Per-cut entanglement entropies (bits) and MPS bond dimensions of a normalised statevector."""
    state = np.asarray(state).ravel()
    n = int(state.size).bit_length() - 1
    spectra = schmidt_spectra(state, n)
    return {"entropies": entanglement_entropies(spectra), "bond_dimensions": bond_dimensions(spectra, tol)}


def _is_pauli_up_to_phase(m: np.ndarray, atol: float) -> bool:
    """Whether the ``d x d`` matrix ``m`` is ``c X^a Z^b`` for bit masks ``a``, ``b`` and a scalar ``|c| = 1``.

    ``(X^a Z^b)[r, c] = (-1)^(b . c) [r = c ^ a]``: ``a`` is read off row 0, the signs
    off the single-bit columns, and the whole matrix is compared with that Pauli string.
    """
    d = m.shape[0]
    a = int(np.argmax(np.abs(m[0])))
    cols = np.arange(d)
    values = m[cols ^ a, cols]  # m[c ^ a, c]
    phase = values[0]
    if abs(abs(phase) - 1.0) > atol:
        return False
    b = 0
    for bit in range(d.bit_length() - 1):
        if (values[1 << bit] / phase).real < 0:
            b |= 1 << bit
    signs = 1.0 - 2.0 * (np.bitwise_count(cols & b) % 2)
    expected = np.zeros_like(m)
    expected[cols ^ a, cols] = phase * signs
    return bool(np.max(np.abs(m - expected)) <= atol)


def is_clifford_op(op: qml.operation.Operator, atol: float = CLIFFORD_ATOL) -> bool:
    """Whether one PennyLane operation is a Clifford gate (Gottesman-Knill simulable).

    ``U`` is Clifford iff ``U P U^dagger`` is a Pauli string up to a phase for each
    single-qubit ``X`` and ``Z`` on its wires (they generate the Pauli group). Tested on
    the gate's matrix, so it holds for any gate: rotations at multiples of pi/2 (to
    ``atol``) pass, ``T`` and ``RY(0.3)`` fail. An operation without a matrix is Clifford
    if every gate of its decomposition is (a sufficient test only).

    Raises:
        ValueError: a gate on more than :data:`MAX_CLIFFORD_WIRES` wires, or one with
            neither a matrix nor a decomposition.
    """
    k = len(op.wires)
    if k == 0:  # a global phase
        return True
    if k > MAX_CLIFFORD_WIRES:
        raise ValueError(f"{op.name} acts on {k} wires; the Clifford test takes gates on <= {MAX_CLIFFORD_WIRES}")
    if not op.has_matrix:
        if op.has_decomposition:
            return all(is_clifford_op(sub, atol) for sub in op.decomposition())
        raise ValueError(f"{op.name} has neither a matrix nor a decomposition: cannot test whether it is Clifford")
    u = np.asarray(qml.matrix(op, wire_order=op.wires), dtype=np.complex128)
    u_dag = u.conj().T
    index = np.arange(2**k)
    for bit in range(k):
        mask = 1 << bit
        z_sign = 1.0 - 2.0 * ((index & mask) > 0)
        # U X U^dagger (X permutes columns: index -> index ^ mask) and U Z U^dagger.
        for conjugated in (u[:, index ^ mask] @ u_dag, (u * z_sign[None, :]) @ u_dag):
            if not _is_pauli_up_to_phase(conjugated, atol):
                return False
    return True


def _op_key(op: qml.operation.Operator) -> tuple:
    """What fixes a gate's matrix up to relabelling its wires (a gate's Clifford property is wire-independent)."""
    data = tuple(np.asarray(x, dtype=np.complex128).tobytes() for x in op.data)
    hyper = repr(sorted((k, v) for k, v in op.hyperparameters.items() if "wires" not in k))
    return type(op).__name__, len(op.wires), data, hyper


def clifford_circuit(ops: Sequence[qml.operation.Operator], atol: float = CLIFFORD_ATOL) -> bool:
    """Whether every operation of a circuit is Clifford (:func:`is_clifford_op`); repeated gates are tested once."""
    seen: dict[tuple, bool] = {}
    for op in ops:
        key = _op_key(op)
        if key not in seen:
            seen[key] = is_clifford_op(op, atol)
        if not seen[key]:
            return False
    return True


# ---------------------------------------------------------------------- IQP without interference
def _generator_masks(generators: np.ndarray | Sequence[Sequence[int]], n_qubits: int) -> np.ndarray:
    """uint8 [G, n] bit masks of IQP generators given as qubit lists or a ``-1``-padded index array."""
    rows = generator_lists(generators) if isinstance(generators, np.ndarray) else [list(g) for g in generators]
    masks = np.zeros((len(rows), n_qubits), dtype=np.uint8)
    for j, g in enumerate(rows):
        if not g or min(g) < 0 or max(g) >= n_qubits or len(set(g)) != len(g):
            raise ValueError(f"generator {g} is not a non-empty set of distinct qubits in 0..{n_qubits - 1}")
        masks[j, g] = 1
    return masks


def _flip_probabilities(theta: np.ndarray, n_generators: int) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    if theta.size != n_generators:
        raise ValueError(f"{n_generators} generators but {theta.size} angles")
    return np.sin(theta) ** 2


def iqp_flip_samples(
    generators: np.ndarray | Sequence[Sequence[int]],
    theta: np.ndarray,
    n_qubits: int,
    n_samples: int,
    rng: np.random.Generator,
    *,
    spin_flip_symmetric: bool = False,
) -> np.ndarray:
    """Samples of the classical analogue of an IQP Born machine: correlated bit flips, no interference.

    The circuit ``H^n prod_j exp(-i theta_j Z_{g_j}) H^n |0>`` (:mod:`qgenflow.models.iqp`)
    equals ``prod_j (cos theta_j - i sin theta_j X_{g_j}) |0>``: a sum over subsets of
    generators, each flipping the bits of its generators' XOR. Dropping the interference
    between subsets with the same XOR leaves independent flips: generator ``j`` flips
    the bits of ``g_j`` with probability ``sin^2 theta_j``. The two distributions agree
    exactly when the generators' bit masks are linearly independent over GF(2) (no two
    subsets share an XOR), e.g. for a single generator. ``spin_flip_symmetric`` starts
    from all zeros or all ones with probability 1/2 each (the model's input state).

    Args:
        generators: qubit lists, or an int [G, w] array padded with -1 (``ansatz/generators``).
        theta: [G] angles (the model's ``params/theta``).
        n_qubits: number of bits (any size: the work is a sparse product per chunk of samples).
        n_samples: rows to draw.
        rng: the generator of the flips.

    Returns:
        uint8 [n_samples, n_qubits].
    """
    masks = sp.csr_matrix(_generator_masks(generators, n_qubits).astype(np.int32))
    q = _flip_probabilities(theta, masks.shape[0])
    out = np.empty((int(n_samples), n_qubits), dtype=np.uint8)
    chunk = max(1, _FLIP_CHUNK // max(masks.shape[0], 1))
    for start in range(0, int(n_samples), chunk):
        rows = min(chunk, int(n_samples) - start)
        row, col = np.nonzero(rng.random((rows, masks.shape[0])) < q)  # row-major: already CSR order
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=rows))])
        chosen = sp.csr_matrix((np.ones(row.size, dtype=np.int32), col, indptr), shape=(rows, masks.shape[0]))
        out[start : start + rows] = np.asarray((chosen @ masks).toarray() & 1, dtype=np.uint8)
    if spin_flip_symmetric:
        out ^= rng.integers(0, 2, size=(int(n_samples), 1), dtype=np.uint8)
    return out


def iqp_flip_probs(
    generators: np.ndarray | Sequence[Sequence[int]],
    theta: np.ndarray,
    n_qubits: int,
    *,
    spin_flip_symmetric: bool = False,
) -> np.ndarray:
    """Exact big-endian distribution of :func:`iqp_flip_samples` (``n_qubits <= MAX_DENSE_QUBITS``)."""
    if n_qubits > MAX_DENSE_QUBITS:
        raise ValueError(f"exact flip-model probabilities are limited to {MAX_DENSE_QUBITS} qubits, got {n_qubits}")
    masks = _generator_masks(generators, n_qubits)
    q = _flip_probabilities(theta, masks.shape[0])
    weights = 1 << np.arange(n_qubits - 1, -1, -1, dtype=np.int64)  # wire 0 = most significant bit
    index = np.arange(2**n_qubits, dtype=np.int64)
    probs = np.zeros(2**n_qubits)
    probs[0] = 1.0
    if spin_flip_symmetric:
        probs[0] = probs[-1] = 0.5
    for mask, qj in zip(masks, q):
        probs = (1.0 - qj) * probs + qj * probs[index ^ int(mask @ weights)]
    return probs


# ---------------------------------------------------------------------- metric differences on a device
def shots_to_resolve(difference: float, stderr: float, n_samples: int) -> float:
    """Device shots at which a metric difference would be resolved at 2 sigma.

    A difference ``difference`` measured with standard error ``stderr`` from
    ``n_samples`` samples per side; assuming ``stderr ~ 1 / sqrt(N)``, it reaches
    ``|difference| = 2 stderr(N)`` at ``N = n_samples (2 stderr / |difference|)^2``.

    Returns:
        That ``N`` (a float; ``inf`` for a zero difference, ``nan`` when ``stderr`` or ``difference`` is nan).
    """
    difference, stderr = float(difference), float(stderr)
    if math.isnan(stderr) or math.isnan(difference):
        return math.nan
    if difference == 0.0:
        return math.inf
    return float(n_samples) * (2.0 * stderr / abs(difference)) ** 2


# ---------------------------------------------------------------------- the trained model's circuit
def _check_quantum(model_art: Artefact) -> str:
    """The model's kind (``model_kind`` attribute, else its config's); a ValueError naming it unless quantum."""
    kind = model_art.attrs.get("model_kind")
    if kind is None:
        kind = model_art.config.get("kind")
    if model_role(str(kind)) != "quantum":
        raise ValueError(f"the advantage audit covers quantum models (qcbm, qgan), not model kind {kind!r}")
    return str(kind)


def model_ansatz(model_art: Artefact, target_art: Artefact | None = None) -> tuple[Ansatz, np.ndarray]:
    """The circuit family and trained angles of a quantum model, rebuilt from its ``model.h5``.

    As the trainers build it (:mod:`qgenflow.train.qcbm`, :mod:`qgenflow.models.qgan`):
    the config slice completed with the schema's defaults, the family named by the
    model's ``ansatz`` attribute (the QGAN default generator is resolved at training
    time and stored there), ``layers`` and ``ansatz_options`` from the config; then
    the structure saved under ``/ansatz`` (Chow-Liu tree, IQP generators...) replaces
    whatever the family would derive, so the target only matters to families that
    adapt to it and saved nothing.

    Returns:
        ``(ansatz, theta)``, theta shaped as the ansatz's parameters.

    Raises:
        ValueError: not a quantum model (names its kind).
        ArtefactError: the stored angles do not fit the rebuilt circuit.
    """
    kind = _check_quantum(model_art)
    trained = model_art.attrs.get("trained_config")  # a tuned model: its entry with the chosen setting
    spec = with_defaults("models", json.loads(trained) if trained else model_art.config)
    n = int(model_art.attrs["n_qubits"])
    name = str(model_art.attrs.get("ansatz") or setting(spec, "ansatz", "hardware_efficient"))
    options, layers = spec.get("ansatz_options") or {}, int(spec["layers"])
    if kind == "qgan" and spec.get("flavor") in _GENERATOR_FLAVORS:
        ansatz = make_generator(name, n, layers, options, target=target_art)
    else:
        ansatz = make_ansatz(name, n, layers, options, target=target_art)
    for key, value in model_art.datasets.items():
        if key.startswith("ansatz/"):
            ansatz.structure[key.split("/", 1)[1]] = np.asarray(value)
    theta = np.asarray(model_art["params/theta"], dtype=np.float64)
    if theta.size != ansatz.n_params:
        raise ArtefactError(
            f"{model_art.path}: /params/theta has {theta.size} angles but the rebuilt {name} circuit "
            f"takes {ansatz.n_params}"
        )
    return ansatz, theta.reshape(ansatz.shape)


def model_circuit(model_art: Artefact, target_art: Artefact | None = None) -> tuple[list, int]:
    """``(ops, n_qubits)``: the PennyLane operations of a trained quantum model (:func:`model_ansatz`)."""
    ansatz, theta = model_ansatz(model_art, target_art)
    return QCBM(ansatz).ops(theta), ansatz.n_qubits


def model_state(ops: Sequence[qml.operation.Operator], n: int) -> np.ndarray:
    """Statevector (big-endian, ``2^n``) that ``ops`` prepare from ``|0...0>``, on ``lightning.qubit``.

    Raises:
        ValueError: ``n > MAX_DENSE_QUBITS``.
    """
    if n > MAX_DENSE_QUBITS:
        raise ValueError(f"statevectors are built up to {MAX_DENSE_QUBITS} qubits, got {n}")
    device = make_device({"name": "lightning.qubit"}, n)
    tape = qml.tape.QuantumScript(list(ops), [qml.state()])
    return np.asarray(device.execute(tape), dtype=np.complex128).reshape(-1)


# ---------------------------------------------------------------------- the audit record
def training_method(attrs: dict[str, Any]) -> str:
    """How a quantum model was trained, in words, from its ``gradient``, ``gradient_engine`` and ``device`` attributes.

    ``statevector (numba adjoint)``, ``statevector (adjoint on lightning.qubit)``,
    ``estimator (classical Z-string MMD, no statevector)`` or ``shots on <device>``.
    """
    gradient, device = attrs.get("gradient"), attrs.get("device", "unknown device")
    if gradient == "estimator":
        return "estimator (classical Z-string MMD, no statevector)"
    if gradient == "parameter_shift":
        return f"shots on {device}"
    if gradient == "search":
        return f"discrete search, shots on {device}"
    if gradient == "mps":
        return f"MPS simulation (bond dimension {attrs.get('bond_dimension')}, JAX gradient, no statevector)"
    if gradient == "adjoint":
        if attrs.get("gradient_engine") == "numba":
            return "statevector (numba adjoint)"
        return f"statevector (adjoint on {device})"
    return f"unknown (gradient {gradient!r})"


def _state_record(model_art: Artefact, ops: list, n: int, tol: float, state: np.ndarray | None = None) -> dict[str, Any]:
    """Anticoncentration, half-cut entropy, bond dimensions and per-cut arrays (NaN / empty beyond the dense limit).

    ``state``: the model's statevector where it is not the circuit's (a truncated MPS); else rebuilt from ``ops``.
    """
    probs = model_art.get("probs")
    record: dict[str, Any] = {
        "state_built": False,
        "entropy_half": math.nan,
        "max_bond_dimension": -1,
        "entropies": np.zeros(0),
        "bond_dimensions": np.zeros(0, dtype=np.int64),
    }
    if n <= MAX_DENSE_QUBITS:
        state = model_state(ops, n) if state is None else state
        p_state = np.abs(state) ** 2
        if probs is not None and np.max(np.abs(np.asarray(probs) - p_state)) > _PROBS_TOL:
            raise ArtefactError(
                f"{model_art.path}: the rebuilt circuit does not reproduce /probs "
                f"(max difference {np.max(np.abs(np.asarray(probs) - p_state)):.3g})"
            )
        probs = p_state if probs is None else probs
        spectra = schmidt_spectra(state, n)
        entropies = entanglement_entropies(spectra)
        bonds = bond_dimensions(spectra, tol)
        record.update(
            state_built=True,
            entropy_half=float(entropies[n // 2 - 1]) if n > 1 else 0.0,
            max_bond_dimension=int(bonds.max(initial=1)),
            entropies=entropies,
            bond_dimensions=bonds,
        )
    record["anticoncentration"] = math.nan if probs is None else anticoncentration(probs)
    return record


def _mmd2_mixture(x: np.ndarray, y: np.ndarray, sigmas: Sequence[float]) -> float:
    """Sample MMD^2 as the evaluation computes it: per-bandwidth U-statistics, then their mean."""
    x_rows, x_counts = unique_counts(x)
    y_rows, y_counts = unique_counts(y)
    per_sigma = np.atleast_2d(mmd2_from_counts(x_rows, x_counts, y_rows, y_counts, list(sigmas), per_sigma=True))
    return float(per_sigma.mean(axis=1)[0])


def _flip_record(
    model_art: Artefact, target_art: Artefact, ansatz: Ansatz, theta: np.ndarray, sigmas: Sequence[float],
    n_samples: int | None, seed: int,
) -> dict[str, Any]:
    """The IQP model against its correlated-bit-flip analogue, on the target's test split."""
    n, symmetric = ansatz.n_qubits, bool(ansatz.options.get("spin_flip_symmetric", False))
    test = np.asarray(target_art[TEST_SPLIT], dtype=np.uint8)[:n_samples]
    model_samples = model_art.get("samples")
    if model_samples is not None:
        model_samples = np.asarray(model_samples, dtype=np.uint8)[:n_samples]
    n_flip = int(n_samples or (len(model_samples) if model_samples is not None else len(test)))
    flips = iqp_flip_samples(ansatz.structure["generators"], theta, n, n_flip, make_rng(seed, "audit_flip"),
                             spin_flip_symmetric=symmetric)
    record = {
        "flip_n_samples": n_flip,
        "flip_mmd2_samples": _mmd2_mixture(flips, test, sigmas),
        "model_mmd2_samples": math.nan if model_samples is None else _mmd2_mixture(model_samples, test, sigmas),
        "flip_mmd2_exact": math.nan,
        "model_mmd2_exact": math.nan,
    }
    p_t, p_m = target_art.get("probs"), model_art.get("probs")
    if p_t is not None and n <= MAX_DENSE_QUBITS:
        p_flip = iqp_flip_probs(ansatz.structure["generators"], theta, n, spin_flip_symmetric=symmetric)
        record["flip_mmd2_exact"] = mmd2_probs(p_t, p_flip, list(sigmas))
        if p_m is not None:
            record["model_mmd2_exact"] = mmd2_probs(p_t, p_m, list(sigmas))
    return record


def audit_model(
    model_art: Artefact,
    target_art: Artefact,
    sigmas: Sequence[float],
    *,
    n_samples: int | None = None,
    seed: int = 0,
    tol: float = BOND_TOL,
) -> dict[str, Any]:
    """The advantage-audit record of one trained quantum model.

    Args:
        model_art: its ``model.h5`` (a QCBM, IQP or QGAN model).
        target_art: the target it was trained on (its ``/samples_test`` scores the IQP flip analogue).
        sigmas: the evaluation's kernel bandwidths (``evaluation.sigmas``).
        n_samples: use the first ``n_samples`` model and test samples, as the evaluation's
            ``n_samples`` does (all when None); also the number of flip-analogue samples.
        seed: seeds the flip analogue (stream ``audit_flip``).
        tol: discarded Schmidt weight of the bond dimensions.

    Returns:
        ``model_kind``, ``flavor``, ``ansatz``, ``n_qubits``, ``n_params``, ``n_gates``,
        ``method`` (:func:`training_method`), ``train_seconds``, ``seconds_per_step``,
        ``statevector_bytes`` (``16 * 2^n``, what a statevector simulation of this size holds),
        ``clifford``, ``anticoncentration`` (from ``/probs``, else the rebuilt state; NaN
        without either), ``state_built``, ``entropy_half`` (bits, cut ``n // 2``),
        ``max_bond_dimension`` (-1 when no state), per-cut ``entropies`` and
        ``bond_dimensions`` (empty when no state); for IQP models also ``flip_n_samples``,
        ``flip_mmd2_samples`` and ``model_mmd2_samples`` (mixture MMD^2 against the test
        split, computed alike), ``flip_mmd2_exact`` and ``model_mmd2_exact`` (against the
        target's ``/probs``; NaN where either side lacks exact probabilities); ``truncation_error``
        (an MPS Born machine's summed discarded weight, NaN for other models; its entanglement is its
        MPS's, and beyond the dense limit its ``max_bond_dimension`` is its bond dimension).

    Raises:
        ValueError: a classical model or reference (names its kind).
    """
    kind = _check_quantum(model_art)
    ansatz, theta = model_ansatz(model_art, target_art)
    ops, n = QCBM(ansatz).ops(theta), ansatz.n_qubits
    attrs = model_art.attrs
    record: dict[str, Any] = {
        "model_kind": kind,
        "flavor": str(attrs.get("flavor", "")),
        "ansatz": ansatz.name,
        "n_qubits": n,
        "n_params": int(attrs.get("n_params", ansatz.n_params)),
        "n_gates": len(ops),
        "method": training_method(attrs),
        "train_seconds": float(attrs.get("train_seconds", math.nan)),
        "seconds_per_step": float(attrs.get("seconds_per_step", math.nan)),
        "statevector_bytes": 16 * 2**n,
        "clifford": clifford_circuit(ops),
    }
    mps, state = kind == "mps_qcbm", None
    if mps and n <= MAX_DENSE_QUBITS:  # the model is the truncated MPS, not the exact circuit
        state = mps_state(simulate(theta, n, int(attrs["bond_dimension"]), ansatz.entangler,
                                        ansatz.layout).tensors)
    record.update(_state_record(model_art, ops, n, tol, state))
    record["truncation_error"] = float(attrs.get("truncation_error", math.nan))
    if mps and record["max_bond_dimension"] < 0:  # beyond the dense limit: the model's own MPS holds its state
        record["max_bond_dimension"] = int(attrs["bond_dimension"])
    if ansatz.name == "iqp":
        record.update(_flip_record(model_art, target_art, ansatz, theta, sigmas, n_samples, seed))
    return record
