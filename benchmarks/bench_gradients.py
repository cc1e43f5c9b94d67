"""Exact-gradient cost of a Born-machine training step, as ratios to one forward pass.

For a hardware-efficient QCBM (6 layers) at n qubits, measured in one process:

* forward: one ``qml.probs`` evaluation on lightning.qubit (the unit of cost);
* adjoint: qgenflow's training step (probabilities, then one adjoint pass with the
  diagonal observable dL/dp), the method DESIGN.md prescribes;
* fast: the same step on :class:`qgenflow.circuits.numba.FastAdjointRunner`
  (numba kernels, fused forward pass + backward sweep), and its own forward pass;
  the first call (numba compile, or loading numba's on-disk cache) is reported
  separately;
* qulacs: the same step on qulacs (optional: ``pip install qulacs``, the ``bench``
  extra), its forward pass (``update_quantum_state``) then
  ``ParametricQuantumCircuit.backprop_inner_product`` with ``dL/dp * psi``, the
  gradient checked against the numba engine's;
* param-shift: the analytic parameter-shift gradient of the same loss (2 circuits
  per angle, batched on lightning.qubit);
* jax-backprop: default.qubit with JAX ``jit`` + backprop, the approach of
  PennyLane's QCBM demo, with its compile time reported separately.

Run:  python benchmarks/bench_gradients.py [--sizes 12 16 20] [--layers 6]
A step is the loss gradient dL/dp (squared MMD, four bandwidths) plus the parameter
gradient; the goal for the numba step is at most 3x the numba engine's own forward pass
(column step/ownfwd). The last line splits the numba step into its parts (forward, dL/dp,
backward sweep), each as a multiple of the forward pass. Times are the best of ``--repeat`` calls (wall clock, so on a
loaded machine compare the ratios of one run, not times across runs).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _timing import best_of




def measure(n: int, layers: int, repeat: int, max_shift: int, max_jax: int) -> dict:
    import pennylane as qml

    from qgenflow.devices import make_device
    from qgenflow.kernels import mmd2_exact_grad
    from qgenflow.models import QCBM, make_ansatz
    from qgenflow.circuits import CircuitRunner

    sigmas = (0.5, 1.0, 2.0, 4.0)
    model = QCBM(make_ansatz("hardware_efficient", n, layers))
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, model.shape)
    target = np.random.default_rng(1).dirichlet(np.ones(2**n))
    runner = CircuitRunner(make_device({"name": "lightning.qubit"}, n), n)
    row = {"n": n, "params": model.n_params}

    row["forward_s"] = best_of(lambda: runner.probs(model.ops(params)), repeat)

    def adjoint_step():
        ops = model.ops(params)
        p = runner.probs(ops)
        return runner.diagonal_grad(ops, mmd2_exact_grad(p, target, sigmas))

    row["adjoint_s"] = best_of(adjoint_step, repeat)

    from qgenflow.circuits.numba import FastAdjointRunner

    fast = FastAdjointRunner(n)
    start = time.perf_counter()
    ops = model.ops(params)
    fast.diagonal_grad(ops, mmd2_exact_grad(fast.probs(ops), target, sigmas))
    row["fast_first_call_s"] = time.perf_counter() - start
    row["fast_forward_s"] = best_of(lambda: fast.probs(model.ops(params)), repeat)

    def fast_step():
        ops = model.ops(params)
        p = fast.probs(ops)
        return fast.diagonal_grad(ops, mmd2_exact_grad(p, target, sigmas))

    row["fast_s"] = best_of(fast_step, repeat)
    # Where the step goes, on one list of operation objects (no op building or program compiling):
    # forward, dL/dp (the kernel sums of mmd2_exact_grad), backward sweep.
    ops = model.ops(params)
    p = fast.probs(ops)
    dldp = mmd2_exact_grad(p, target, sigmas)
    row["fast_forward_cached_s"] = best_of(lambda: fast.probs(ops), repeat)
    row["fast_dldp_s"] = best_of(lambda: mmd2_exact_grad(p, target, sigmas), repeat)
    row["fast_sweep_s"] = best_of(lambda: (fast.probs(ops), fast.diagonal_grad(ops, dldp)), repeat) - row[
        "fast_forward_cached_s"]
    row["fast_max_abs_diff"] = float(np.max(np.abs(fast_step() - adjoint_step())))

    row.update(measure_qulacs(model, params, target, sigmas, repeat, fast_step()))

    if n <= max_shift:
        def shift_step():
            ops = model.ops(params)
            p = runner.probs(ops)
            g = mmd2_exact_grad(p, target, sigmas)
            tape = qml.tape.QuantumScript(ops, [qml.probs(wires=range(n))])
            tapes, post = qml.gradients.param_shift(tape)
            jac = np.asarray(post(runner.device.execute(tapes))).reshape(model.n_params, -1)
            return jac @ g

        row["param_shift_s"] = best_of(shift_step, 1)

    if n <= max_jax:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        dev = qml.device("default.qubit", wires=n)

        @qml.qnode(dev, interface="jax", diff_method="backprop")
        def circuit(theta):
            for layer in range(layers):  # the hardware-efficient ansatz, traced by JAX
                for wire in range(n):
                    qml.RY(theta[layer, wire, 0], wires=wire)
                    qml.RZ(theta[layer, wire, 1], wires=wire)
                for wire in range(n - 1):
                    qml.CNOT(wires=[wire, wire + 1])
            return qml.probs(wires=range(n))

        # Same kernel as qgenflow (mixture over sigmas), written in jnp for autodiff.
        def loss(theta):
            d = circuit(theta) - target
            kd = d
            out = 0.0
            for s in sigmas:
                e = np.exp(-1.0 / (2 * s**2))
                kd = d
                for axis in range(n):
                    kd = kd.reshape(2**axis, 2, 2 ** (n - axis - 1))
                    kd = kd + e * kd[:, ::-1, :]
                out = out + d @ kd.reshape(-1)
            return out / len(sigmas)

        grad = jax.jit(jax.grad(loss))
        start = time.perf_counter()
        jax.block_until_ready(grad(jnp.asarray(params)))
        row["jax_compile_s"] = time.perf_counter() - start
        row["jax_step_s"] = best_of(lambda: jax.block_until_ready(grad(jnp.asarray(params))), repeat)
    return row


def _qulacs_circuit(qulacs, ops, n: int):
    """The QCBM's RY/RZ/CNOT operations as a qulacs ParametricQuantumCircuit.

    qulacs numbers qubits little-endian (wire w is qubit n - 1 - w, as the bit of qml.probs)
    and its parametric rotations are exp(+i phi P / 2): phi = -theta.
    """
    circuit = qulacs.ParametricQuantumCircuit(n)
    for op in ops:
        q = [n - 1 - int(w) for w in op.wires]
        if op.name == "RY":
            circuit.add_parametric_RY_gate(q[0], -float(op.data[0]))
        elif op.name == "RZ":
            circuit.add_parametric_RZ_gate(q[0], -float(op.data[0]))
        elif op.name == "CNOT":
            circuit.add_CNOT_gate(q[0], q[1])
        else:
            raise ValueError(f"no qulacs translation for {op.name}")
    return circuit


def measure_qulacs(model, params, target, sigmas, repeat: int, reference: np.ndarray) -> dict:
    """qulacs forward pass and step (forward, dL/dp, backprop_inner_product), or {} when not installed."""
    try:
        import qulacs
    except ImportError:
        return {}
    from qgenflow.kernels import mmd2_exact_grad

    n = model.n_qubits
    circuit = _qulacs_circuit(qulacs, model.ops(params), n)
    state = qulacs.QuantumState(n)
    bistate = qulacs.QuantumState(n)

    def forward():
        for i, theta in enumerate(np.ravel(params)):  # a training step sets the new angles
            circuit.set_parameter(i, -float(theta))
        state.set_zero_state()
        circuit.update_quantum_state(state)
        psi = state.get_vector()
        return psi, psi.real**2 + psi.imag**2

    def step():
        psi, p = forward()
        bistate.load(mmd2_exact_grad(p, target, sigmas) * psi)
        # d<psi|D|psi>/dphi = 2 Re <D psi|dpsi/dphi>, and dphi/dtheta = -1
        return -2.0 * np.asarray(circuit.backprop_inner_product(bistate))

    return {"qulacs_forward_s": best_of(forward, repeat), "qulacs_s": best_of(step, repeat),
            "qulacs_max_abs_diff": float(np.max(np.abs(step() - reference)))}


def _fmt(r: dict, key: str, unit: str, width: int, missing: str) -> str:
    return f"{r[key] / r[unit]:{width}.2f}" if key in r else f"{missing:>{width}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 16, 20])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-param-shift-qubits", type=int, default=16)
    parser.add_argument("--max-jax-qubits", type=int, default=16)
    parser.add_argument("--out", help="write the rows as JSON")
    args = parser.parse_args()
    rows = [measure(n, args.layers, args.repeat, args.max_param_shift_qubits, args.max_jax_qubits) for n in args.sizes]
    qulacs_missing = "n/a (qulacs not installed)"
    print("Times in s; other columns are ratios. lightning: lightning.qubit (fwd: one forward pass, the unit of "
          "the x/fwd columns; adj step: qgenflow's step on it, with lightning's adjoint). numba: FastAdjointRunner "
          "(ownfwd: its own forward pass). qulacs: forward + backprop_inner_product.")
    header = (f"{'n':>3} {'P':>5} {'fwd s':>8} {'adjstep/fwd':>11} {'numba ownfwd s':>14} {'numba step s':>12} "
              f"{'step/ownfwd':>11} {'step/fwd':>9} {'qulacs fwd s':>12} {'qulacs step s':>13} {'qulacs/step':>11} "
              f"{'shift/fwd':>10} {'jax/fwd':>8} {'jax comp s':>10}")
    print(header)
    for r in rows:
        if "qulacs_s" in r:
            qulacs = f"{r['qulacs_forward_s']:12.4f} {r['qulacs_s']:13.4f} {r['qulacs_s'] / r['fast_s']:11.2f}"
        else:
            qulacs = f"{qulacs_missing:>38}"
        jcomp = f"{r['jax_compile_s']:10.1f}" if "jax_compile_s" in r else f"{'skipped':>10}"
        print(f"{r['n']:>3} {r['params']:>5} {r['forward_s']:8.4f} {r['adjoint_s'] / r['forward_s']:11.2f} "
              f"{r['fast_forward_s']:14.4f} {r['fast_s']:12.4f} {r['fast_s'] / r['fast_forward_s']:11.2f} "
              f"{r['fast_s'] / r['forward_s']:9.2f} {qulacs} {_fmt(r, 'param_shift_s', 'forward_s', 10, 'skipped')} "
              f"{_fmt(r, 'jax_step_s', 'forward_s', 8, 'skipped')} {jcomp}")
    print("numba: first call (numba compile or cache load) "
          + ", ".join(f"n={r['n']} {r['fast_first_call_s']:.2f} s" for r in rows)
          + "; max |grad difference| vs lightning "
          + ", ".join(f"{r['fast_max_abs_diff']:.1e}" for r in rows)
          + "; qulacs vs numba "
          + (", ".join(f"{r['qulacs_max_abs_diff']:.1e}" for r in rows if "qulacs_max_abs_diff" in r)
             or qulacs_missing))
    print("numba step parts (operations built once): "
          + "; ".join(f"n={r['n']} forward {r['fast_forward_cached_s']:.4f} s, dL/dp {r['fast_dldp_s']:.4f} s "
                      f"({r['fast_dldp_s'] / r['fast_forward_cached_s']:.2f}x), sweep {r['fast_sweep_s']:.4f} s "
                      f"({r['fast_sweep_s'] / r['fast_forward_cached_s']:.2f}x)" for r in rows))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
