"""Cost of reading an artefact with its integrity check, as a ratio to a plain h5py read.

Every artefact carries ``content_sha256`` over all its datasets and attributes, and
:func:`qgenflow.io.read_artefact` recomputes it before anything uses the data. For a
target artefact at n qubits (the exact probability vector, 2^n float64, plus 20,000
samples) this measures, in one process, best of ``--repeat``:

* h5py: opening the file and reading every dataset (the unit of cost);
* read_artefact: qgenflow's read, digest included;
* check_inputs: a job's identity check before it starts (root attributes only).

Run:  python benchmarks/bench_io.py [--sizes 16 20 24] [--repeat 3]
The goal is a read_artefact/h5py ratio of 3 or less at 24 qubits, the largest exact
target, where reading costs most (the digest hashes the buffers in place; measured here:
2.3 at n=24; 4 to 6 below, where both take milliseconds).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import h5py
import numpy as np
from bench_gradients import best_of  # the benchmarks' shared timer (this folder is on sys.path)


def _plain_read(path: Path) -> None:
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)


def main() -> None:
    from qgenflow.io import check_inputs, read_artefact, write_artefact

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 20, 24])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'n':>3} {'h5py [s]':>10} {'read_artefact':>14} {'ratio':>6} {'check_inputs':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            probs = rng.random(2**n)
            spec = {"kind": "uniform", "n_bits": n}
            path = write_artefact(
                Path(tmp) / f"t{n}.h5", "target",
                {"probs": probs / probs.sum(), "samples": rng.integers(0, 2, (20000, n), dtype=np.uint8)},
                config=spec, seed=0,
            )
            plain = best_of(lambda: _plain_read(path), args.repeat)
            full = best_of(lambda: read_artefact(path), args.repeat)
            check = best_of(lambda: check_inputs({str(path): {"kind": "target", "seed": 0, "config": spec}}), args.repeat)
            print(f"{n:>3} {plain:>10.4f} {full:>14.4f} {full / plain:>6.2f} {check:>13.4f}")


if __name__ == "__main__":
    main()
