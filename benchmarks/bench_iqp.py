"""IQP Born machines at scale: our sparse Z-string MMD estimator vs ``qml.qnn.iqp_expval``.

On demand, not part of the test suite::

    .venv/bin/python benchmarks/bench_iqp.py                 # n = 100 300 1000 3000 10000
    .venv/bin/python benchmarks/bench_iqp.py --quick         # n = 50 100, fewer strings

For every size: all weight-1 and weight-2 generators (``n + n(n-1)/2`` parameters), the
same target samples (a product distribution with random marginals, sampled
classically), the same Z-strings (``--n-ops``, stratified over the bandwidths), the same
``--n-z`` and the same angles. Both sides compute the MMD^2 loss and its gradient:

* ours: :class:`qgenflow.train.iqp_estimator.ZStringMMD` (jit-compiled, sparse);
  "first" = set-up + first batch + first loss-and-gradient (compilation included),
  "step" = median over ``--reps`` successive training steps (``step_objective``, as
  :func:`~qgenflow.train.iqp_estimator.fit_iqp_estimator` calls it: each step's
  Z-strings and ``z`` are drawn on a second thread while the step before runs), and
  "plain" the same without that overlap (draw batch, then loss-and-gradient);
* reference ("dense ref"): ``jax.jit(jax.value_and_grad(loss))`` of ``mean((iqp_expval(...)[0] - d)^2)``
  with ``qml.qnn.iqp_expval(ops, weights, pattern, num_wires, n_samples, key)`` (dense
  over all generators);
* sparse reference ("sparse ref"): the same loss with ``iqp_expval(..., sparse=True)``
  (PennyLane 0.45: scipy CSR products for the overlaps, then dense [n_z, G] and
  [n_ops, G] matrices; not jit-compatible, so ``jax.value_and_grad`` without ``jit``;
  it also builds the dense [G, n] generator matrix, so it is no larger-n path);
  above ``--skip-reference-above`` qubits neither reference is run and an estimate is
  printed instead (first step ~ G^1.3, step ~ G, scaled from the largest size measured).

* floor ("gemm floor"): the two float32 matrix products a step cannot avoid
  (``Theta[rows] @ S`` forward and the cotangent times ``S^T`` backward, ``rows`` the
  qubits the step's strings touch, padded as the estimator pads them), timed alone on
  random data with the same shapes, jit-compiled: what the machine's matrix multiply costs
  for this step, whatever the rest of it does. ``x floor`` = our step / floor.

Ours at n = 10,000 has 50,005,000 parameters; its "step" there is the number to compare
with the 1 s target, and the floor says how much of it the two products alone take. The machine's load is printed (``os.getloadavg``): on shared cores
the times scale with it.

Bandwidths: by default scaled with the size so that Z-strings have mean weights
``--weights`` (``sigmas_for_weights``); ``--sigmas`` fixes them instead.
Ratios are reference time / our time, measured in the same process.
"""

from __future__ import annotations

import argparse
import os
from functools import partial
import sys
import time

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000], help="qubit counts")
    parser.add_argument("--quick", action="store_true", help="sizes 50 100, 200 strings x 200 z, 2 reps")
    parser.add_argument("--n-ops", type=int, default=1000, help="Z-strings per step")
    parser.add_argument("--n-z", type=int, default=1000, help="z samples per step")
    parser.add_argument("--n-samples", type=int, default=10000, help="target samples")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 2.0, 4.0], help="mean Z-string weights")
    parser.add_argument("--sigmas", type=float, nargs="+", default=None, help="fixed bandwidths (override --weights)")
    parser.add_argument("--reps", type=int, default=3, help="timed steps after the first (median reported)")
    parser.add_argument("--skip-reference-above", type=int, default=300, help="largest n run with iqp_expval")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.n_ops, args.n_z, args.reps = [50, 100], 200, 200, 2
    return args


def product_target(n: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of independent bits with marginals uniform in [0.1, 0.9]."""
    marginals = rng.uniform(0.1, 0.9, size=n)
    return (rng.random((n_samples, n)) < marginals).astype(np.uint8)


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_ours(gens, n, samples, sigmas, theta, args, rng):
    from qgenflow.train.iqp_estimator import ZStringMMD

    start = time.perf_counter()
    est = ZStringMMD(gens, n, samples, sigmas, n_ops=args.n_ops, n_z=args.n_z)
    batch = est.draw_batch(rng)
    loss, grad = est.value_and_grad(theta, batch)
    first = time.perf_counter() - start

    def plain():
        est.value_and_grad(theta, est.draw_batch(rng))

    objective = est.step_objective(args.seed)
    steps = iter(range(1, 1 + 2 * args.reps))  # reps + 1 calls: the first only starts the overlap
    objective(theta, next(steps))
    step = median_time(lambda: objective(theta, next(steps)), args.reps)
    return est, batch, loss, first, step, median_time(plain, args.reps)


def run_floor(n: int, rows: int, n_z: int, reps: int) -> tuple[float, float]:
    """Seconds of the step's two float32 products ([rows, n] @ [n, n_z], then [rows, n_z] @ [n_z, n]) and GFLOP/s."""
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    a = jax.random.normal(key, (rows, n + 1), dtype=jnp.float32)
    s = jnp.sign(jax.random.normal(key, (n + 1, n_z), dtype=jnp.float32))
    s_t = jnp.asarray(s.T)  # row-major copy, as the estimator keeps one

    @jax.jit
    def both(a, s, s_t):
        w = jnp.dot(a, s, precision=jax.lax.Precision.HIGHEST)
        return jnp.dot(jnp.cos(w), s_t, precision=jax.lax.Precision.HIGHEST)

    jax.block_until_ready(both(a, s, s_t))
    seconds = median_time(lambda: jax.block_until_ready(both(a, s, s_t)), reps)
    return seconds, 4.0 * rows * (n + 1) * n_z / seconds / 1e9


def run_reference(gens, n, batch, est, theta, args):
    import jax
    import jax.numpy as jnp
    from pennylane.qnn import iqp_expval

    pattern = [[[int(q) for q in row if q >= 0]] for row in gens]
    ops = jnp.asarray(np.concatenate(batch.strings).astype(np.int64))
    data = jnp.asarray(np.concatenate(est.data_expvals(batch)))
    weights = jnp.asarray(np.asarray(batch.arrays["host"]["weight"]))
    key = jax.random.PRNGKey(args.seed)

    def loss(params, ops, data):  # ops and data are arguments: they change every step in training
        expvals, _ = iqp_expval(ops, params, pattern, n, args.n_z, key)
        return jnp.sum(weights * (expvals - data) ** 2)

    fn = jax.jit(jax.value_and_grad(loss))
    start = time.perf_counter()
    value, _ = jax.block_until_ready(fn(jnp.asarray(theta), ops, data))
    first = time.perf_counter() - start
    step = median_time(lambda: jax.block_until_ready(fn(jnp.asarray(theta), ops, data)), args.reps)
    return float(value), first, step


def run_sparse_reference(gens, n, batch, est, theta, args):
    import jax
    import jax.numpy as jnp
    from pennylane.qnn import iqp_expval

    pattern = [[[int(q) for q in row if q >= 0]] for row in gens]
    ops = np.concatenate(batch.strings).astype(np.int64)
    data = jnp.asarray(np.concatenate(est.data_expvals(batch)))
    weights = jnp.asarray(np.asarray(batch.arrays["host"]["weight"]))
    key = jax.random.PRNGKey(args.seed)

    def loss(params):
        expvals, _ = iqp_expval(ops, params, pattern, n, args.n_z, key, sparse=True)
        return jnp.sum(weights * (expvals - data) ** 2)

    fn = jax.value_and_grad(loss)
    start = time.perf_counter()
    value, _ = jax.block_until_ready(fn(jnp.asarray(theta)))
    first = time.perf_counter() - start
    step = median_time(lambda: jax.block_until_ready(fn(jnp.asarray(theta))), args.reps)
    return float(value), first, step


def reference_columns(name, run, g, first, step, measured):
    """Columns ``first step x-first x-step loss`` of one reference: measured, or estimated from ``measured``."""
    if run is not None:
        ref_loss, ref_first, ref_step = run()
        measured[name] = (g, ref_first, ref_step)
        return f"{ref_first:8.2f} {ref_step:8.3f} {ref_first / first:7.1f} {ref_step / step:7.1f} {ref_loss:9.2e}"
    if name in measured:
        g0, f0, s0 = measured[name]
        est_first, est_step = f0 * (g / g0) ** 1.3, s0 * g / g0
        return (
            f"{'~' + format(est_first, '.0f'):>8} {'~' + format(est_step, '.1f'):>8} "
            f"{'~' + format(est_first / first, '.0f'):>7} {'~' + format(est_step / step, '.0f'):>7} {'skip':>9}"
        )
    return f"{'skip':>8} {'skip':>8} {'-':>7} {'-':>7} {'-':>9}"


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    import pennylane as qml

    from qgenflow.models.iqp import IQPAnsatz
    from qgenflow.train.iqp_estimator import data_init, sigmas_for_weights

    print(f"# IQP MMD loss + gradient; {args.n_ops} Z-strings x {args.n_z} z per step, {args.n_samples} target samples")
    print(
        f"# jax {jax.__version__}, pennylane {qml.__version__}, {os.cpu_count()} cpus, python {sys.version.split()[0]}"
    )
    print("# columns per reference: first, step [s], x first, x step (reference / ours), loss; ~ = estimated, not run")
    ref = f"{'first':>8} {'step':>8} {'x first':>7} {'x step':>7} {'loss':>9}"
    header = (
        f"{'n':>5} {'params':>8} {'load':>5} | {'ours first':>10} {'ours step':>9} {'plain':>6} {'loss ours':>9} | "
        f"{'rows':>5} {'gemm floor':>10} {'GFLOP/s':>7} {'x floor':>7} | dense ref: {ref} | sparse ref: {ref}"
    )
    print(header)
    print("-" * len(header))
    measured: dict[str, tuple[int, float, float]] = {}  # (G, first, step) of each reference's largest run
    for n in args.sizes:
        rng = np.random.default_rng([args.seed, n])
        gens = IQPAnsatz(n_qubits=n, layers=1, options={"max_weight": 2}).generators
        samples = product_target(n, args.n_samples, rng)
        sigmas = args.sigmas or sigmas_for_weights(n, args.weights)
        theta = data_init(gens, samples) + rng.normal(0.0, 0.05, size=len(gens))
        load = os.getloadavg()[0]
        est, batch, loss, first, step, plain = run_ours(gens, n, samples, sigmas, theta, args, rng)
        g = len(gens)
        rows = int(est._sizes["rows"])
        floor, gflops = run_floor(n, rows, args.n_z, args.reps)
        run = n <= args.skip_reference_above
        dense = reference_columns(
            "dense", partial(run_reference, gens, n, batch, est, theta, args) if run else None, g, first, step, measured
        )
        sparse = reference_columns(
            "sparse",
            partial(run_sparse_reference, gens, n, batch, est, theta, args) if run else None,
            g,
            first,
            step,
            measured,
        )
        print(
            f"{n:5d} {g:8d} {load:5.1f} | {first:10.2f} {step:9.3f} {plain:6.3f} {loss:9.2e} | "
            f"{rows:5d} {floor:10.3f} {gflops:7.1f} {step / floor:7.2f} | dense ref: {dense} | "
            f"sparse ref: {sparse}",
            flush=True,
        )
        del est, batch, gens, theta
    return 0


if __name__ == "__main__":
    sys.exit(main())
