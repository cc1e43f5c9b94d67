"""IQP Born machines at scale: our sparse Z-string MMD estimator vs ``qml.qnn.iqp_expval``.

On demand, not part of the test suite::

    .venv/bin/python benchmarks/bench_iqp.py                 # n = 100 300 1000
    .venv/bin/python benchmarks/bench_iqp.py --quick         # n = 50 100, fewer strings

For every size: all weight-1 and weight-2 generators (``n + n(n-1)/2`` parameters), the
same target samples (a product distribution with random marginals, sampled
classically), the same Z-strings (``--n-ops``, stratified over the bandwidths), the same
``--n-z`` and the same angles. Both sides compute the MMD^2 loss and its gradient:

* ours: :class:`qgenflow.train.iqp_estimator.ZStringMMD` (jit-compiled, sparse);
  "first" = set-up + first batch + first loss-and-gradient (compilation included),
  "step" = median over ``--reps`` steps of (draw batch + loss-and-gradient);
* reference: ``jax.jit(jax.value_and_grad(loss))`` of ``mean((iqp_expval(...)[0] - d)^2)``
  with ``qml.qnn.iqp_expval(ops, weights, pattern, num_wires, n_samples, key)`` (dense
  over all generators); above ``--skip-reference-above`` qubits it is not run and an
  estimate is printed instead (first step ~ G^1.3, step ~ G, scaled from the largest size
  measured).

Bandwidths: by default scaled with the size so that Z-strings have mean weights
``--weights`` (``sigmas_for_weights``); ``--sigmas`` fixes them instead.
Ratios are reference time / our time, measured in the same process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000], help="qubit counts")
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
    import jax

    from qgenflow.train.iqp_estimator import ZStringMMD

    start = time.perf_counter()
    est = ZStringMMD(gens, n, samples, sigmas, n_ops=args.n_ops, n_z=args.n_z)
    batch = est.draw_batch(rng)
    loss, grad = est.value_and_grad(theta, batch)
    first = time.perf_counter() - start

    def step():
        b = est.draw_batch(rng)
        jax.block_until_ready(est.jax_value_and_grad(theta, b))

    return est, batch, loss, first, median_time(step, args.reps)


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


def main(argv=None) -> int:
    args = parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    import pennylane as qml

    from qgenflow.models.iqp import pad_generators
    from qgenflow.targets.iqp import candidate_generators
    from qgenflow.train.iqp_estimator import data_init, sigmas_for_weights

    print(f"# IQP MMD loss + gradient; {args.n_ops} Z-strings x {args.n_z} z per step, {args.n_samples} target samples")
    print(
        f"# jax {jax.__version__}, pennylane {qml.__version__}, {os.cpu_count()} cpus, python {sys.version.split()[0]}"
    )
    header = (
        f"{'n':>5} {'params':>8} {'sigmas':>18} | {'ours first':>10} {'ours step':>9} | "
        f"{'ref first':>16} {'ref step':>14} | {'x first':>7} {'x step':>7} | {'loss ours':>9} {'loss ref':>9}"
    )
    print(header)
    print("-" * len(header))
    measured: tuple[int, float, float] | None = None  # (G, first, step) of the largest reference run
    for n in args.sizes:
        rng = np.random.default_rng([args.seed, n])
        gens = pad_generators(candidate_generators(n, max_weight=2))
        samples = product_target(n, args.n_samples, rng)
        sigmas = args.sigmas or sigmas_for_weights(n, args.weights)
        theta = data_init(gens, samples) + rng.normal(0.0, 0.05, size=len(gens))
        est, batch, loss, first, step = run_ours(gens, n, samples, sigmas, theta, args, rng)
        g = len(gens)
        if n <= args.skip_reference_above:
            ref_loss, ref_first, ref_step = run_reference(gens, n, batch, est, theta, args)
            measured = (g, ref_first, ref_step)
            ref_cols = f"{ref_first:16.2f} {ref_step:14.3f}"
            ratios = f"{ref_first / first:7.1f} {ref_step / step:7.1f}"
            ref_loss_col = f"{ref_loss:9.2e}"
        else:
            if measured:
                g0, f0, s0 = measured
                est_first, est_step = f0 * (g / g0) ** 1.3, s0 * g / g0
                ref_cols = f"{'skip (~' + format(est_first, '.0f') + ' s)':>16} {'skip (~' + format(est_step, '.1f') + ' s)':>14}"
                ratios = f"{'~' + format(est_first / first, '.0f'):>7} {'~' + format(est_step / step, '.0f'):>7}"
            else:
                ref_cols, ratios = f"{'skipped':>16} {'skipped':>14}", f"{'-':>7} {'-':>7}"
            ref_loss_col = f"{'-':>9}"
        sig = ",".join(f"{s:.3g}" for s in sigmas)
        print(
            f"{n:5d} {g:8d} {sig:>18} | {first:10.2f} {step:9.3f} | {ref_cols} | {ratios} | {loss:9.2e} {ref_loss_col}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
