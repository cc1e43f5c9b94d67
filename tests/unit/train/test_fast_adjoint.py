"""The numba adjoint engine against lightning.qubit and finite differences."""

import numpy as np
import pennylane as qml
import pytest

from qgenflow.devices import make_device
from qgenflow.models import QCBM, make_ansatz
from qgenflow.circuits import numba as fast_adjoint
from qgenflow.circuits.numba import SUPPORTED_OPS, FastAdjointRunner
from qgenflow.circuits import CircuitRunner

TOL = 1e-10  # engine vs lightning (both exact, double precision)
FD_TOL = 1e-7  # engine vs central differences with step FD_STEP
FD_STEP = 1e-5

ONE_QUBIT = ["Hadamard", "PauliX", "PauliY", "PauliZ", "S", "T", "SX", "RX", "RY", "RZ", "PhaseShift", "U1", "Rot",
             "U3", "Identity"]
TWO_QUBIT = ["CNOT", "CY", "CZ", "CRX", "CRY", "CRZ", "ControlledPhaseShift", "IsingXX", "IsingYY", "IsingZZ",
             "SingleExcitation", "SWAP"]
ALL_GATES = ONE_QUBIT + TWO_QUBIT + ["MultiRZ"]
# lightning 0.45's adjoint returns 0 for U1 and U3 angles: those are checked by finite differences only
LIGHTNING_WRONG = {"U1", "U3"}


def make_op(name, rng, n):
    """One gate `name` on random distinct wires with random angles."""
    cls = getattr(qml, name)
    if name == "MultiRZ":
        wires = rng.choice(n, size=rng.integers(1, n + 1), replace=False)
    else:
        wires = rng.choice(n, size=1 if name in ONE_QUBIT else 2, replace=False)
    return cls(*rng.uniform(-np.pi, np.pi, cls.num_params), wires=[int(w) for w in wires])


def random_circuit(rng, n, extra=30, exclude=()):
    """Every supported gate at least once (shuffled), plus `extra` random ones."""
    names = [g for g in ALL_GATES if g not in exclude]
    names = names + list(rng.choice(names, size=extra))
    rng.shuffle(names)
    return [make_op(name, rng, n) for name in names]


def lightning(n):
    """CircuitRunner on lightning.qubit: the reference."""
    return CircuitRunner(make_device({"name": "lightning.qubit"}, n), n)


def test_gate_list_covers_supported_ops():
    """The random circuits use every gate the engine claims to support."""
    assert set(ALL_GATES) == set(SUPPORTED_OPS)


@pytest.mark.parametrize("n", [5, 6])
def test_probs_match_lightning(n, rng):
    """Probabilities of random circuits with every gate equal qml.probs on lightning."""
    ref, fast = lightning(n), FastAdjointRunner(n)
    for _ in range(3):
        ops = random_circuit(rng, n)
        assert np.max(np.abs(fast.probs(ops) - ref.probs(ops))) < TOL


@pytest.mark.parametrize("n", [5, 6])
def test_grad_matches_lightning_adjoint(n, rng):
    """diagonal_grad equals CircuitRunner.diagonal_grad (lightning's adjoint) on random circuits."""
    ref, fast = lightning(n), FastAdjointRunner(n)
    for _ in range(3):
        ops = random_circuit(rng, n, exclude=LIGHTNING_WRONG)
        diag = rng.normal(size=2**n)
        grad = fast.diagonal_grad(ops, diag)
        assert grad.shape == (sum(len(op.data) for op in ops),)
        assert np.max(np.abs(grad - ref.diagonal_grad(ops, diag))) < TOL


def test_grad_matches_finite_differences(rng):
    """Every angle of every parametrised gate (U1 and U3 included) against central differences."""
    n = 3
    fast = FastAdjointRunner(n)
    ops = random_circuit(rng, n, extra=5)
    diag = rng.normal(size=2**n)
    grad = fast.diagonal_grad(ops, diag)
    k = 0
    for i, op in enumerate(ops):
        for j in range(len(op.data)):
            def loss(delta):
                data = list(op.data)
                data[j] += delta
                shifted = ops[:i] + [type(op)(*data, wires=op.wires)] + ops[i + 1:]
                return diag @ fast.probs(shifted)

            fd = (loss(FD_STEP) - loss(-FD_STEP)) / (2 * FD_STEP)
            assert grad[k] == pytest.approx(fd, abs=FD_TOL), op.name
            k += 1
    assert k == grad.size


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_chunked_and_parallel_paths(threads, rng, monkeypatch):
    """Cache-sized chunks and per-thread slices (forced on at 8 qubits) change nothing."""
    monkeypatch.setattr(fast_adjoint, "PARALLEL_MIN_QUBITS", 2)
    monkeypatch.setattr(fast_adjoint, "CACHE_BITS", 4)
    n = 8
    ref, fast = lightning(n), FastAdjointRunner(n, threads=threads)
    model = QCBM(make_ansatz("hardware_efficient", n, 2))
    circuits = [model.ops(model.init_params(rng, np.pi)), random_circuit(rng, n, exclude=LIGHTNING_WRONG)]
    for ops in circuits:
        diag = rng.normal(size=2**n)
        assert np.max(np.abs(fast.probs(ops) - ref.probs(ops))) < TOL
        assert np.max(np.abs(fast.diagonal_grad(ops, diag) - ref.diagonal_grad(ops, diag))) < TOL


def test_cnot_after_block_is_fused_correctly(rng):
    """Blocks followed by CNOTs on their target (the fused pass), control above and below, match lightning."""
    n = 9
    ops = []
    for w in range(n):
        ops += [qml.RY(rng.uniform(-3, 3), w), qml.RZ(rng.uniform(-3, 3), w)]
    for w in range(1, n):
        ops += [qml.RX(rng.uniform(-3, 3), w), qml.CNOT([w - 1, w])]  # control above the target bit
    for w in range(n - 1):
        ops += [qml.RY(rng.uniform(-3, 3), w), qml.CNOT([w + 1, w])]  # control below
    ops += [qml.RY(0.0, 0), qml.CNOT([1, 0])]  # identity block: the CNOT must survive
    diag = rng.normal(size=2**n)
    ref, fast = lightning(n), FastAdjointRunner(n)
    assert np.max(np.abs(fast.probs(ops) - ref.probs(ops))) < TOL
    assert np.max(np.abs(fast.diagonal_grad(ops, diag) - ref.diagonal_grad(ops, diag))) < TOL


def test_state_from_probs_is_reused_only_for_the_same_ops(rng):
    """probs then diagonal_grad (cached state) equals diagonal_grad alone; new ops are recomputed."""
    n = 5
    model = QCBM(make_ansatz("hardware_efficient", n, 2))
    params = model.init_params(rng, np.pi)
    diag = rng.normal(size=2**n)
    fresh = FastAdjointRunner(n).diagonal_grad(model.ops(params), diag)
    fast = FastAdjointRunner(n)
    ops = model.ops(params)
    fast.probs(ops)
    assert np.max(np.abs(fast.diagonal_grad(ops, diag) - fresh)) < TOL
    fast.probs(model.ops(params + 0.3))
    assert np.max(np.abs(fast.diagonal_grad(ops, diag) - fresh)) < TOL


def test_unsupported_ops_are_rejected_and_can_fall_back(rng):
    """supports() is False for Toffoli, QubitUnitary and non-integer wires; a fallback runner takes over."""
    n = 3
    fast = FastAdjointRunner(n)
    assert fast.supports([qml.RY(0.1, 0), qml.CNOT([0, 1])])
    unitary = qml.QubitUnitary(np.eye(2), wires=0)
    assert not fast.supports([qml.RY(0.1, 0), qml.Toffoli([0, 1, 2])])
    assert not fast.supports([unitary])
    assert not FastAdjointRunner(2).supports([qml.RX(0.1, wires="a")])
    ops = [qml.Hadamard(0), qml.RY(0.4, 1), qml.Toffoli([0, 1, 2]), qml.RX(0.3, 2)]
    with pytest.raises(ValueError, match="Toffoli"):
        fast.probs(ops)
    ref = lightning(n)
    fallback = FastAdjointRunner(n, fallback=ref)
    diag = rng.normal(size=2**n)
    assert np.max(np.abs(fallback.probs(ops) - ref.probs(ops))) < TOL
    assert np.max(np.abs(fallback.diagonal_grad(ops, diag) - ref.diagonal_grad(ops, diag))) < TOL


def test_big_endian_convention():
    """PauliX on wire 0 puts all mass on index 2^(n-1), on wire n-1 on index 1, as qml.probs."""
    n = 4
    fast = FastAdjointRunner(n)
    assert fast.probs([qml.PauliX(0)])[2 ** (n - 1)] == pytest.approx(1.0, abs=TOL)
    assert fast.probs([qml.PauliX(n - 1)])[1] == pytest.approx(1.0, abs=TOL)


def test_empty_circuit():
    """No operations: the state |0...0> and an empty gradient."""
    fast = FastAdjointRunner(3)
    assert fast.probs([])[0] == pytest.approx(1.0, abs=TOL)
    assert fast.diagonal_grad([], np.ones(8)).shape == (0,)


_REPRO_SCRIPT = """
import sys, numpy as np
from qgenflow.targets import make_target
from qgenflow.train import train
t = make_target({"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 10}, 0)
spec = {"layers": 2, "optimizer": {"name": "adam", "lr": 0.1, "steps": 15}, "training": {"engine": "numba"}}
probs = train({**spec, "kind": "qcbm"}, t, seed=0).probs
sys.stdout.write(probs.tobytes().hex())
"""


def test_fresh_compile_and_cached_code_give_identical_bits(tmp_path):
    """A study's jobs mix processes that compile the kernels and processes that load numba's
    cache; both must produce bit-identical training results."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    runs = [
        subprocess.run([sys.executable, "-c", _REPRO_SCRIPT], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert any((tmp_path / "numba-cache").rglob("*.nbi"))  # the second run loaded a cache
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout) == 2 * 8 * 16


def test_windowed_sweep_above_the_window_matches_lightning(rng):
    """Blocks on bits above log2(_SUB) (moments summed by column over 256-pair windows, then as a tree),
    with fused CNOTs, give lightning's gradient at 11 qubits."""
    n = 11
    assert 2 ** (n - 2) > fast_adjoint._SUB  # target bits 9 and 10 run in several windows per pass
    model = QCBM(make_ansatz("hardware_efficient", n, 2))
    ops = model.ops(model.init_params(rng, np.pi)) + [qml.CRY(0.7, wires=[1, 0]), qml.CRX(-0.4, wires=[0, 1])]
    diag = rng.normal(size=2**n)
    ref, fast = lightning(n), FastAdjointRunner(n)
    assert np.max(np.abs(fast.probs(ops) - ref.probs(ops))) < TOL
    assert np.max(np.abs(fast.diagonal_grad(ops, diag) - ref.diagonal_grad(ops, diag))) < TOL
