"""Variational state preparation: the baseline for QGANs on quantum data.

The generator ``|psi(theta)> = U(theta)|0...0>`` is trained to reproduce a known
target state (the ``state`` dataset of a Heisenberg/TFIM exact target) directly:

* ``objective: fidelity`` maximises ``F = |<target|psi(theta)>|^2``: exactly as the
  expectation of the projector ``|target><target|`` (adjoint gradient), or with
  finite shots by compute-uncompute: the probability of ``|0...0>`` after
  ``StatePrep(target)^dagger`` (parameter-shift);
* ``objective: energy`` minimises ``<H>`` for the target's Hamiltonian, rebuilt from
  its config (NetKet's operator as a Pauli sum; a sparse matrix for exact runs).

The module also holds what the quantum-data flavours share: generator circuits
for real amplitudes with signs, the target state, and a runner giving
expectation values with their gradients exactly (adjoint) or with shots
(parameter-shift on any device).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pennylane as qml
import scipy.sparse as sp

from ...bits import sample_from_probs
from ...circuits import FINAL_SAMPLING_STEP
from ...circuits.expval import ExpvalRunner
from ...circuits.qasm import qasm_record
from ...errors import InvalidConfigError
from ...limits import QGAN_QUANTUM_DATA_MAX_QUBITS
from ...targets import QUANTUM_KINDS
from ...fit.loop import TrainResult, fit
from ...rng import make_rng
from ...targets.spin import build_hamiltonian
from ..ansatz import ANSATZE, Ansatz, make_ansatz
from . import QGANResult, TargetData, setting

__all__ = [
    "GENERATORS",
    "MAX_STATE_QUBITS",
    "NumberConserving",
    "RealAmplitudes",
    "default_generator",
    "fidelity",
    "make_generator",
    "pauli_hamiltonian",
    "target_state",
    "train_state_preparation",
]

log = logging.getLogger(__name__)

#: Quantum-data flavours prepare the target state vector on the device: keep it small.
MAX_STATE_QUBITS = QGAN_QUANTUM_DATA_MAX_QUBITS
OBJECTIVES = ("fidelity", "energy")
_NORM_TOL = 1e-6
# Amplitudes below this count as outside the state's support (Lanczos leaves ~1e-15 noise).
_SECTOR_TOL = 1e-10


@dataclass
class RealAmplitudes(Ansatz):
    """RY on every qubit, then per layer a CNOT chain and RY on every qubit: real amplitudes with signs.

    The real-amplitude circuit of Qiskit's ``RealAmplitudes``. ``options.entangler``:
    ``chain`` (default) or ``ring`` (adds CNOT(n-1, 0)).
    """

    name = "real_amplitudes"

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers + 1, self.n_qubits)

    def _pairs(self) -> list[tuple[int, int]]:
        pairs = [(w, w + 1) for w in range(self.n_qubits - 1)]
        if self.options.get("entangler", "chain") == "ring" and self.n_qubits > 2:
            pairs.append((self.n_qubits - 1, 0))
        return pairs

    def ops(self, params: np.ndarray) -> list:
        params = np.asarray(params).reshape(self.shape)
        ops = [qml.RY(params[0, w], wires=w) for w in range(self.n_qubits)]
        for layer in params[1:]:
            ops += [qml.CNOT(wires=list(pair)) for pair in self._pairs()]
            ops += [qml.RY(layer[w], wires=w) for w in range(self.n_qubits)]
        return ops


@dataclass
class NumberConserving(Ansatz):
    """Neel reference, then per layer brick-wall Givens rotations each followed by CZ.

    Every gate conserves the number of 1 bits and is real, so the state stays in
    the Sz = 0 sector of the Neel reference with real amplitudes of either sign;
    the CZ makes the circuit leave the free-fermion (matchgate) family.
    ``options.reference``: ``neel`` (default: 1 on odd wires) or a list of bits.
    """

    name = "number_conserving"

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.layers, max(self.n_qubits - 1, 1))

    def reference(self) -> list[int]:
        ref = self.options.get("reference", "neel")
        if ref == "neel":
            return [w % 2 for w in range(self.n_qubits)]
        bits = [int(b) for b in ref]
        if len(bits) != self.n_qubits or set(bits) - {0, 1}:
            raise InvalidConfigError("ansatz_options.reference", f"must be 'neel' or {self.n_qubits} bits, got {ref}")
        return bits

    def ops(self, params: np.ndarray) -> list:
        params = np.asarray(params).reshape(self.shape)
        ops = [qml.PauliX(wires=w) for w, bit in enumerate(self.reference()) if bit]
        pairs = [(w, w + 1) for w in range(0, self.n_qubits - 1, 2)] + [
            (w, w + 1) for w in range(1, self.n_qubits - 1, 2)
        ]
        for layer in params:
            for k, pair in enumerate(pairs):
                ops.append(qml.SingleExcitation(layer[k], wires=list(pair)))
                ops.append(qml.CZ(wires=list(pair)))
        return ops


#: Generator circuits of the quantum-data flavours (any registered ansatz works too).
GENERATORS = {"real_amplitudes": RealAmplitudes, "number_conserving": NumberConserving}


def make_generator(
    name: str, n_qubits: int, layers: int, options: Mapping[str, Any] | None = None, target=None
) -> Ansatz:
    """A generator circuit: one of :data:`GENERATORS`, or any ansatz registered in :mod:`qgenflow.models.ansatz`."""
    if int(layers) < 1:
        raise InvalidConfigError("layers", f"must be >= 1, got {layers}")
    if name in GENERATORS:
        return GENERATORS[name](n_qubits=n_qubits, layers=int(layers), options=dict(options or {}))
    if name not in ANSATZE:
        allowed = sorted(set(GENERATORS) | set(ANSATZE))
        raise InvalidConfigError("ansatz", f"unknown generator ansatz {name!r}; allowed: {', '.join(allowed)}")
    return make_ansatz(name, n_qubits, int(layers), options, target=target)


def default_generator(state: np.ndarray, n: int) -> str:
    """``number_conserving`` if the state lives at Hamming weight n // 2 (the Neel sector), else ``real_amplitudes``."""
    weights = np.array([bin(i).count("1") for i in np.flatnonzero(np.abs(state) > _SECTOR_TOL)])
    name = "number_conserving" if weights.size and np.all(weights == n // 2) else "real_amplitudes"
    log.info("generator ansatz: %s (target Hamming weights %s)", name, sorted(set(weights.tolist())))
    return name


def target_state(target: TargetData) -> np.ndarray:
    """The target's normalised state vector (big-endian over all 2^n bitstrings)."""
    if target.state is None:
        raise InvalidConfigError(
            "targets", "quantum-data QGANs need a target with a 'state' dataset (heisenberg or tfim with method: exact)"
        )
    state = np.asarray(target.state)
    n = target.n_qubits
    if state.shape != (2**n,):
        raise InvalidConfigError("targets", f"the target state has shape {state.shape}, expected ({2**n},)")
    if n > MAX_STATE_QUBITS:
        raise InvalidConfigError(
            "targets", f"quantum-data QGANs prepare the state on <= {MAX_STATE_QUBITS} qubits, got {n}"
        )
    norm = np.linalg.norm(state)
    if abs(norm - 1.0) > _NORM_TOL:
        raise InvalidConfigError("targets", f"the target state is not normalised (norm {norm})")
    return state / norm


def pauli_hamiltonian(config: Mapping[str, Any]):
    """The target's Hamiltonian as a PennyLane Pauli sum on wires 0..n-1 (Pauli units, like the target)."""
    _, ham, _ = build_hamiltonian(config)
    if not hasattr(ham, "to_pauli_strings"):  # e.g. NetKet's Ising operator
        ham = ham.to_local_operator()
    strings = ham.to_pauli_strings()
    terms = []
    for word, weight in zip(np.asarray(strings.operators), np.asarray(strings.weights)):
        word = str(word)
        pw = qml.pauli.PauliWord({w: c for w, c in enumerate(word) if c != "I"})
        terms.append((complex(weight), pw))
    sentence = qml.pauli.PauliSentence()
    for weight, pw in terms:
        sentence[pw] = sentence.get(pw, 0.0) + weight
    if any(abs(c.imag) > 1e-12 for c in sentence.values()):
        raise InvalidConfigError("targets", "the target Hamiltonian has complex Pauli weights")
    for pw in list(sentence):
        sentence[pw] = float(sentence[pw].real)
    return sentence.operation(wire_order=range(len(str(np.asarray(strings.operators)[0]))))


def fidelity(state: np.ndarray, target: np.ndarray) -> float:
    """``|<target|state>|^2``."""
    return float(abs(np.vdot(target, state)) ** 2)


def n_angles(ops: Sequence) -> int:
    return sum(len(op.data) for op in ops)


def final_distribution(runner: ExpvalRunner, ops: Sequence, n: int, n_samples: int, seed: int):
    """(exact probabilities, samples) of the trained generator: exact sampling, or the device's own shots."""
    psi = runner.state(ops, n)
    probs = np.abs(psi) ** 2
    probs /= probs.sum()
    if runner.shots is None:
        samples = sample_from_probs(probs, n_samples, make_rng(seed, "model_sample"))
    else:
        samples = runner.samples(ops, FINAL_SAMPLING_STEP, n_samples)
    return psi, probs, samples


def _objective(spec: Mapping[str, Any], target: TargetData, state: np.ndarray, n: int, shots):
    """(observable, ops appended to the generator, sign, exact energy or None) of the objective."""
    objective = spec["objective"]
    if objective == "fidelity":
        if shots is None:
            return qml.Projector(state, wires=range(n)), [], -1.0, None
        # Compute-uncompute: F = P(|0...0>) after StatePrep(target)^dagger, decomposed once into gates.
        tape = qml.tape.QuantumScript([qml.adjoint(qml.MottonenStatePreparation(state, wires=range(n)))])
        (tape,), _ = qml.transforms.decompose(tape, gate_set={"RY", "RZ", "CNOT", "GlobalPhase"})
        uncompute = [op for op in tape.operations if not isinstance(op, qml.GlobalPhase)]
        return qml.Projector([0] * n, wires=range(n)), uncompute, -1.0, None
    if objective == "energy":
        if target.config is None or target.config.get("kind") not in QUANTUM_KINDS:
            raise InvalidConfigError(
                "objective", "energy needs a heisenberg or tfim target artefact (its config rebuilds H)"
            )
        ham = pauli_hamiltonian(target.config)
        exact = float(target.attrs.get("energy_exact", target.attrs.get("energy", np.nan)))
        if shots is None:
            matrix = sp.csr_matrix(ham.sparse_matrix(wire_order=range(n)))
            return qml.SparseHamiltonian(matrix, wires=range(n)), [], 1.0, exact
        return ham, [], 1.0, exact
    raise InvalidConfigError("objective", f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")


class _Recorder:
    """The generator's fidelity (and, for the energy objective, its exact ``<H>``) at the logged steps."""

    def __init__(self, runner: ExpvalRunner, gen: Ansatz, state: np.ndarray, n: int, h_matrix):
        self.runner, self.gen, self.state, self.n, self.h_matrix = runner, gen, state, n, h_matrix
        self.steps: list[int] = []
        self.fids: list[float] = []
        self.energies: list[float] = []

    def record(self, params: np.ndarray, step: int) -> None:
        psi = self.runner.state(self.gen.ops(params), self.n)
        self.steps.append(step)
        self.fids.append(fidelity(psi, self.state))
        if self.h_matrix is not None:
            self.energies.append(float(np.real(np.vdot(psi, self.h_matrix @ psi))))
        log.info(
            "step %d: fidelity %.6f%s",
            step, self.fids[-1], "" if self.h_matrix is None else f"  energy {self.energies[-1]:.6f}",
        )

    def history(self) -> dict[str, np.ndarray]:
        out = {"log_step": np.asarray(self.steps, dtype=np.int64), "fidelity": np.asarray(self.fids, dtype=np.float64)}
        if self.h_matrix is not None:
            out["energy"] = np.asarray(self.energies, dtype=np.float64)
        return out


def _optimizer(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The generator's optimiser entry, its steps filled in; ``tol`` 0 (the default) means never."""
    optimizer = dict(spec["optimizer"])
    if optimizer["name"] != "lbfgs" and float(optimizer["tol"]) == 0.0:
        optimizer["tol"] = -np.inf  # tol 0 = never: shot noise can put an excess energy or 1 - F at or below 0
    return optimizer


def train_state_preparation(spec: Mapping[str, Any], target: TargetData, seed: int, checkpointer=None) -> QGANResult:
    """Train a generator circuit to prepare the target state (fidelity or energy objective).

    Spec keys: ``ansatz`` (null: :func:`default_generator`), ``layers``, ``ansatz_options``,
    ``init_scale``, ``objective`` (``fidelity`` or ``energy``), ``optimizer`` (as for
    a QCBM; ``lbfgs`` for exact runs), ``log_every``, ``device``, ``n_samples``.
    The loss is ``1 - F`` for ``fidelity`` and the excess energy ``<H> - E_0`` for
    ``energy`` (``E_0`` = the target's exact ground energy, a constant offset that
    keeps the loss >= 0 for ``optimizer.tol`` and early stopping); the fidelity (and
    ``<H>``) are recorded every ``log_every`` steps in ``history/fidelity`` (``history/energy``).
    """
    state = target_state(target)
    n = target.n_qubits
    shots = spec["device"].get("shots")
    gen = make_generator(
        setting(spec, "ansatz", None) or default_generator(state, n),
        n,
        int(spec["layers"]),
        spec.get("ansatz_options", {}),
        target=target.source,
    )
    obs, tail, sign, exact_energy = _objective(spec, target, state, n, shots)
    runner = ExpvalRunner(spec["device"], n, seed)
    log_every = int(spec["log_every"])
    if log_every < 1:
        raise InvalidConfigError("log_every", f"must be >= 1, got {log_every}")
    h_matrix = None if exact_energy is None else obs.sparse_matrix(wire_order=range(n))
    recorder = _Recorder(runner, gen, state, n, h_matrix)

    def value_and_grad(params: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        ops = gen.ops(params)
        value, grad = runner.value_and_grad(ops + tail, obs, range(n_angles(ops)), step)
        if step % log_every == 0:
            recorder.record(params, step)
        if sign < 0:
            return 1.0 - value, -grad.reshape(gen.shape)
        return value - exact_energy, grad.reshape(gen.shape)

    init = gen.init_params(make_rng(seed, "model_init"), float(spec["init_scale"]))
    result = fit(value_and_grad, init, _optimizer(spec), checkpointer)
    last = int(result.history["step"][-1])
    if not recorder.steps or recorder.steps[-1] != last:
        recorder.record(result.params, last)
    psi, probs, samples = final_distribution(
        runner, gen.ops(result.params), n, int(spec["n_samples"]), seed
    )
    return QGANResult(
        params={"theta": np.asarray(result.params)},
        history={**result.history, **recorder.history()},
        probs=probs,
        samples=samples,
        n_params=gen.n_params,
        seconds=result.seconds,
        seconds_per_step=result.seconds_per_step,
        attrs=_attrs(spec, gen, result, fidelity(psi, state), recorder, psi, exact_energy),
        extra={**{f"ansatz/{k}": v for k, v in gen.structure.items()}, **qasm_record(gen.ops(result.params), n)},
    )


def _attrs(spec: Mapping[str, Any], gen: Ansatz, result: TrainResult, fid: float, recorder: _Recorder,
           psi: np.ndarray, exact_energy: float | None) -> dict[str, Any]:
    """The run's summary attributes: final fidelity and loss, and the final energy for the energy objective."""
    attrs: dict[str, Any] = {
        "flavor": "state_preparation",
        "ansatz": gen.name,
        "objective": spec["objective"],
        "gradient": "adjoint" if spec["device"].get("shots") is None else "parameter_shift",
        "device": spec["device"]["name"],
        "fidelity": fid,
        "final_loss": float(result.history["loss"][-1]),
        "stopped_early": int(result.stopped_early),
        "steps_done": int(result.history["step"][-1]),
        "resumed_from": int(result.resumed_from),
    }
    if exact_energy is not None:
        energy = float(np.real(np.vdot(psi, recorder.h_matrix @ psi)))
        attrs.update(
            energy=energy,
            energy_exact=exact_energy,
            energy_relative_error=abs((energy - exact_energy) / exact_energy) if exact_energy else np.nan,
        )
    return attrs
