"""Benchmark target generation: exact Lanczos on 4x4 and VMC on 6x6 and 8x8 Heisenberg.

Runs on demand (not part of the test suite):

    python benchmarks/bench_targets.py            # 4x4 exact + 6x6 VMC vs plain RBM
    python benchmarks/bench_targets.py --size 8 --no-baseline   # 4x4 exact + 8x8 VMC
    python benchmarks/bench_targets.py --quick    # 4x4 exact + 4x4 VMC vs plain RBM (~2 min)
    python benchmarks/bench_targets.py --out results.json

The goals (issue 17) are a relative energy error of at most 0.1 % on 6x6 and 0.3 % on
8x8, each in under 30 minutes on 2 cores; the VMC spec for each size is SIZE_SPEC, the
defaults of :func:`qgenflow.targets.vmc.run_vmc` with a larger symmetric RBM and a longer
schedule.

Energies are in Pauli units (NetKet's ``nk.operator.Heisenberg``), four times the
spin-1/2 ``S.S`` values of Sandvik, PRB 56, 11678 (1997): 4x4 exact E0 = -44.913933,
6x6 exact E0 / N = 4 x -0.678872, 8x8 QMC E0 / N = 4 x -0.673487(4). The VMC run uses
:func:`qgenflow.targets.vmc.run_vmc` with SIZE_SPEC (translation-symmetric RBM); the named alternative in the same
process is the plain RBM (alpha = 2, real parameters, Marshall sign rule, exchange
sampler, 2048 samples per step, the same SR driver and schedules) for the same number
of steps. Every wall time includes compilation, sampling, optimisation and the final
energy estimate.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

REFERENCE = {4: -44.913933, 6: 4 * -0.678872 * 36, 8: 4 * -0.673487 * 64}
GOAL = {6: 1e-3, 8: 3e-3}
SIZE_SPEC = {
    4: {},
    6: {"alpha": 8, "n_iter": 1000, "n_samples_train": 2048, "lr": 0.02, "lr_final": 0.1, "max_seconds": 1560},
    8: {"alpha": 4, "n_iter": 700, "max_seconds": 1500},
}
BASELINE_SPEC = {"model": "rbm", "alpha": 2, "n_samples_train": 2048}
QUICK_SPEC = {"n_iter": 60, "n_samples_eval": 4096, "burn_in_sweeps": 50}


def heisenberg(length: int):
    """(hilbert, hamiltonian with Marshall sign, graph) of the periodic L x L lattice in Sz = 0."""
    import netket as nk

    graph = nk.graph.Square(length, pbc=True)
    hilbert = nk.hilbert.Spin(0.5, graph.n_nodes, total_sz=0)
    return hilbert, nk.operator.Heisenberg(hilbert, graph, sign_rule=True), graph


def bench_exact(length: int) -> dict:
    """Lanczos ground energy of the L x L Heisenberg model in the Sz = 0 sector."""
    import netket as nk

    start, cpu = time.perf_counter(), time.process_time()
    _, ham, _ = heisenberg(length)
    energy = float(nk.exact.lanczos_ed(ham, k=1)[0])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    ref = REFERENCE[length]
    return {
        "name": f"{length}x{length} exact (Lanczos)",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "energy": energy,
        "energy_error": 0.0,
        "relative_error": abs((energy - ref) / ref),
        "reference": ref,
    }


def bench_vmc(length: int, spec: dict, seed: int, n_samples: int, name: str) -> dict:
    """One :func:`run_vmc` call on the L x L Heisenberg model."""
    from qgenflow.targets.vmc import run_vmc

    start, cpu = time.perf_counter(), time.process_time()
    _, ham, graph = heisenberg(length)
    result = run_vmc(ham, spec, seed, n_samples, graph=graph, reference_energy=REFERENCE[length])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "name": name,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "energy": result.energy,
        "energy_error": result.energy_error,
        "energy_variance": result.energy_variance,
        "relative_error": result.relative_error,
        "reference": REFERENCE[length],
        "n_params": result.n_params,
        "n_steps": int(len(result.history["step"])),
        "optimisation_seconds": float(result.history["seconds"][-1]) if len(result.history["seconds"]) else 0.0,
        "model": result.model_description,
        "diagnostics": result.diagnostics,
        "spec": spec,
    }


def print_table(rows: list[dict]) -> None:
    header = f"{'run':<40} {'wall s':>8} {'CPU s':>8} {'energy':>22} {'rel. error':>11} {'params':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        energy = f"{r['energy']:.5f} +- {r['energy_error']:.5f}"
        print(
            f"{r['name']:<40} {r['seconds']:8.1f} {r['cpu_seconds']:8.1f} {energy:>22} {r['relative_error']:11.2e} {r.get('n_params', '-'):>7}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4x4 VMC instead of 6x6 (about 2 minutes)")
    parser.add_argument("--size", type=int, choices=(6, 8), default=6, help="VMC lattice side (default 6)")
    parser.add_argument("--out", type=Path, help="write all numbers to this JSON file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-samples", type=int, default=20000, help="samples returned by each VMC run")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for XLA and BLAS")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain-RBM comparison")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every VMC progress line")
    args = parser.parse_args(argv)

    from qgenflow.runtime import configure_threads

    configure_threads(args.threads)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    import jax
    import netket as nk

    length = 4 if args.quick else args.size
    spec = dict(QUICK_SPEC) if args.quick else dict(SIZE_SPEC[length])
    rows = [bench_exact(4)]
    rows.append(bench_vmc(length, spec, args.seed, args.n_samples, f"{length}x{length} VMC run_vmc (SIZE_SPEC)"))
    if not args.no_baseline:
        baseline_spec = {**spec, **BASELINE_SPEC}
        rows.append(
            bench_vmc(
                length, baseline_spec, args.seed, args.n_samples, f"{length}x{length} VMC plain RBM alpha=2 (baseline)"
            )
        )
    print_table(rows)
    if length in GOAL:
        vmc = rows[1]
        print(
            f"\n{length}x{length} goal: relative error <= {GOAL[length]:.1%} in under 30 min; measured "
            f"{vmc['relative_error']:.3%} in {vmc['seconds'] / 60:.1f} min "
            f"({'met' if vmc['relative_error'] <= GOAL[length] and vmc['seconds'] < 1800 else 'NOT met'})"
        )
        print("sample quality: " + ", ".join(f"{k} {v:.3g}" for k, v in vmc["diagnostics"].items()))
    summary = {}
    if not args.no_baseline:
        vmc, base = rows[1], rows[2]
        summary = {
            "relative_error_ratio_baseline_over_vmc": base["relative_error"] / vmc["relative_error"],
            "seconds_ratio_baseline_over_vmc": base["seconds"] / vmc["seconds"],
        }
        print(
            f"\nrelative error, plain RBM / run_vmc: {summary['relative_error_ratio_baseline_over_vmc']:.2f}x "
            f"(same {vmc['n_steps']} steps; wall time ratio {summary['seconds_ratio_baseline_over_vmc']:.2f})"
        )
    if args.out:
        payload = {
            "rows": rows,
            "summary": summary,
            "environment": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "threads": args.threads,
                "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
                "jax": jax.__version__,
                "netket": nk.__version__,
            },
            "argv": sys.argv[1:] if argv is None else argv,
        }
        args.out.write_text(json.dumps(payload, indent=2, default=float))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
