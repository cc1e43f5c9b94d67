"""Z-basis samples of the 4x4 periodic ferromagnetic Ising model at T = 3 (J = 1), by Metropolis sampling.

Writes the two files of a ``kind: file`` target with its own test set (see data/README.md):

* ``ising4x4_T3_train.txt``: 5,000 rows (the training file, ``path``);
* ``ising4x4_T3_test.txt``: 10,000 rows (``test_path``);

one bare 16-bit string per line after ``#`` header lines. Bit i is site (i // 4, i % 4) of the
4x4 torus (row-major), 1 = spin up (s = +1), 0 = spin down (s = -1). The model is

    p(s) = exp(-E(s) / T) / Z,    E(s) = -J sum_<ij> s_i s_j   (32 nearest-neighbour bonds, periodic)

Sampler: independent chains of checkerboard single-spin-flip Metropolis (a sweep updates one
sublattice, then the other; on the even torus each half-sweep is an exact Metropolis update of
each spin given its four neighbours, so the Boltzmann distribution is stationary). Each chain
starts from random spins, is burnt in for BURN_IN sweeps, then gives SAMPLES_PER_CHAIN samples
THIN sweeps apart. Train and test come from disjoint chains with independent random streams
(children of one SeedSequence), so they are independent of each other; rows are shuffled.

Checks, written here and run on every generation (and by tests/unit/targets/test_ising_data.py):

* decorrelation: the integrated autocorrelation times of E, M and |M| (sweeps, Sokal window)
  from DIAG_CHAINS chains of DIAG_SWEEPS sweeps; THIN and BURN_IN must exceed them many times;
* the sample histogram against the exact Boltzmann probabilities of all 2^16 states: the total
  variation distance TV must lie below the iid bound ``E[TV] + t`` with
  ``E[TV] <= 1/2 sum_x min(sqrt(p_x (1 - p_x) / N), 2 p_x)`` (per state, E|p^_x - p_x| is at most
  its standard deviation, by Jensen, and at most E p^_x + p_x = 2 p_x) and ``t = sqrt(ln(1/delta) / (2N))``
  (McDiarmid: one sample moves TV by at most 1/N), delta = 1e-6; also reported: TV of iid exact
  draws of the same size (its null distribution);
* chi-square tests of the energy and magnetisation histograms against their exact laws
  (bins pooled to expected counts >= 5): p-values above P_MIN. The energy is the sufficient
  statistic of the temperature, so a wrong T or J fails here first.

Run:  python data/make_ising4x4.py            # generate, check, write data/ising4x4_T3_{train,test}.txt
      python data/make_ising4x4.py --check    # check the shipped files only
      python data/make_ising4x4.py --verify   # regenerate and compare with the shipped files byte for byte
Needs only numpy and scipy.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

L = 4
N_SITES = L * L
J = 1.0
T = 3.0
SEED = 15
N_TRAIN, N_TEST = 5000, 10000
SAMPLES_PER_CHAIN = 5
BURN_IN = 1000  # sweeps before a chain's first sample
THIN = 50  # sweeps between a chain's samples
DIAG_CHAINS, DIAG_SWEEPS = 200, 2000
TV_DELTA = 1e-6  # probability that iid exact samples exceed the TV bound
P_MIN = 1e-3  # smallest accepted chi-square p-value
NULL_DRAWS = 20  # iid exact draws for the TV null distribution
HERE = Path(__file__).resolve().parent
FILES = {"train": "ising4x4_T3_train.txt", "test": "ising4x4_T3_test.txt"}
HEADER = (
    "# 4x4 periodic ferromagnetic Ising model, J = 1, T = 3: p(s) ~ exp(sum_<ij> s_i s_j / 3)\n"
    "# Metropolis samples made by data/make_ising4x4.py (seed {seed}, {split}: {n} rows, {chains} chains,\n"
    "# burn-in {burn} sweeps, {per} samples per chain {thin} sweeps apart; rows shuffled)\n"
    "# bit i = site (i // 4, i % 4), row-major; 1 = spin up, 0 = spin down\n"
)


def bonds() -> np.ndarray:
    """The 32 nearest-neighbour bonds (i, j) of the 4x4 torus, site i = 4 * row + col."""
    out = []
    for r in range(L):
        for c in range(L):
            i = L * r + c
            out.append((i, L * r + (c + 1) % L))
            out.append((i, L * ((r + 1) % L) + c))
    return np.array(out)


def all_bits() -> np.ndarray:
    """Every 16-bit string as a [2^16, 16] uint8 array, big-endian (bit 0 most significant)."""
    index = np.arange(2**N_SITES)
    return ((index[:, None] >> (N_SITES - 1 - np.arange(N_SITES))) & 1).astype(np.uint8)


def energies(bits: np.ndarray) -> np.ndarray:
    """E = -J sum_<ij> s_i s_j of each row of bits (1 -> s = +1, 0 -> s = -1)."""
    s = 2.0 * np.asarray(bits, dtype=np.float64) - 1.0
    b = bonds()
    return -J * np.sum(s[:, b[:, 0]] * s[:, b[:, 1]], axis=1)


def exact_probs(temperature: float = T) -> np.ndarray:
    """Boltzmann probabilities of all 2^16 states (big-endian index) at ``temperature``."""
    e = energies(all_bits())
    w = np.exp(-(e - e.min()) / temperature)
    return w / w.sum()


def bits_to_index(bits: np.ndarray) -> np.ndarray:
    """Big-endian index of each row."""
    return np.asarray(bits, dtype=np.int64) @ (1 << (N_SITES - 1 - np.arange(N_SITES)))


def _half_sweep(s: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Metropolis update of every spin of one sublattice (s: [chains, L, L] of +-1)."""
    h = np.roll(s, 1, 1) + np.roll(s, -1, 1) + np.roll(s, 1, 2) + np.roll(s, -1, 2)
    accept = rng.random(s.shape) < np.exp(-2.0 * J * s * h / T)
    return np.where(mask & accept, -s, s)


def sweep(s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One checkerboard sweep: sublattice (r + c) even, then odd."""
    parity = np.add.outer(np.arange(L), np.arange(L)) % 2
    for sub in (0, 1):
        s = _half_sweep(s, parity == sub, rng)
    return s


def run_chains(n_chains: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """n_chains chains from random spins: BURN_IN sweeps, then n_samples samples THIN sweeps apart.

    Returns [n_chains * n_samples, 16] uint8 rows, sample-major (all chains' first samples first).
    """
    s = rng.choice(np.array([-1.0, 1.0]), size=(n_chains, L, L))
    rows = []
    for k in range(BURN_IN + (n_samples - 1) * THIN + 1):
        if k >= BURN_IN and (k - BURN_IN) % THIN == 0:
            rows.append((s.reshape(n_chains, N_SITES) > 0).astype(np.uint8))
        s = sweep(s, rng)
    return np.concatenate(rows)


def generate(seed: int = SEED, splits: tuple[str, ...] = ("train", "test")) -> dict[str, np.ndarray]:
    """{"train": [5000, 16], "test": [10000, 16]} from disjoint chains, each split shuffled (own stream each)."""
    streams = np.random.SeedSequence(seed).spawn(2)
    out = {}
    for (split, n), stream in zip((("train", N_TRAIN), ("test", N_TEST)), streams):
        if split not in splits:
            continue
        rng = np.random.default_rng(stream)
        rows = run_chains(n // SAMPLES_PER_CHAIN, SAMPLES_PER_CHAIN, rng)
        out[split] = rows[rng.permutation(len(rows))]
    return out


def integrated_time(series: np.ndarray, c: float = 6.0) -> float:
    """Integrated autocorrelation time (sweeps) of [chains, sweeps] series, Sokal's window W >= c tau."""
    x = series - series.mean()
    n = x.shape[1]
    f = np.fft.rfft(x, n=2 * n, axis=1)
    acf = np.fft.irfft(f * np.conj(f), axis=1)[:, :n].mean(axis=0)
    acf = acf / acf[0]
    taus = 2.0 * np.cumsum(acf) - 1.0
    ok = np.arange(n) >= c * taus
    return float(taus[np.argmax(ok)] if ok.any() else taus[-1])


def decorrelation(seed: int = SEED) -> dict[str, float]:
    """Integrated autocorrelation times of E, M and |M| after burn-in (own stream of the seed)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    s = rng.choice(np.array([-1.0, 1.0]), size=(DIAG_CHAINS, L, L))
    for _ in range(BURN_IN):
        s = sweep(s, rng)
    e, m = np.empty((DIAG_CHAINS, DIAG_SWEEPS)), np.empty((DIAG_CHAINS, DIAG_SWEEPS))
    for k in range(DIAG_SWEEPS):
        s = sweep(s, rng)
        flat = (s.reshape(DIAG_CHAINS, N_SITES) > 0).astype(np.uint8)
        e[:, k], m[:, k] = energies(flat), s.reshape(DIAG_CHAINS, N_SITES).sum(axis=1)
    return {"tau_E": integrated_time(e), "tau_M": integrated_time(m), "tau_absM": integrated_time(np.abs(m))}


def tv_bound(probs: np.ndarray, n: int, delta: float = TV_DELTA) -> float:
    """Bound that the TV of n iid exact samples exceeds with probability at most delta."""
    mean_bound = 0.5 * float(np.sum(np.minimum(np.sqrt(probs * (1.0 - probs) / n), 2.0 * probs)))
    return mean_bound + math.sqrt(math.log(1.0 / delta) / (2.0 * n))


def tv_distance(bits: np.ndarray, probs: np.ndarray) -> float:
    """Total variation distance between the histogram of bits and probs."""
    hist = np.bincount(bits_to_index(bits), minlength=probs.size) / len(bits)
    return 0.5 * float(np.abs(hist - probs).sum())


def _pooled_chisquare(observed: np.ndarray, expected: np.ndarray, min_expected: float = 5.0) -> tuple[float, float]:
    """Chi-square statistic and p-value, adjacent bins pooled until each expects >= min_expected."""
    obs, exp = [], []
    o_acc = e_acc = 0.0
    for o, e in zip(observed, expected):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= min_expected:
            obs.append(o_acc), exp.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0:  # leftover tail joins the last bin
        obs[-1], exp[-1] = obs[-1] + o_acc, exp[-1] + e_acc
    obs, exp = np.array(obs), np.array(exp)
    chi2 = float(np.sum((obs - exp) ** 2 / exp))
    return chi2, float(stats.chi2.sf(chi2, len(obs) - 1))


def level_chisquare(values: np.ndarray, exact_values: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Chi-square test of the histogram of a discrete observable against its exact law."""
    levels, inverse = np.unique(exact_values, return_inverse=True)
    exact = np.bincount(inverse, weights=probs, minlength=len(levels))
    observed = np.bincount(np.searchsorted(levels, values), minlength=len(levels))
    return _pooled_chisquare(observed.astype(float), exact * len(values))


def check_samples(bits: np.ndarray, probs: np.ndarray | None = None) -> dict[str, float | bool]:
    """Every check of rows against the exact Boltzmann law; ``ok`` is True when all pass."""
    probs = exact_probs() if probs is None else probs
    every = all_bits()
    n = len(bits)
    tv, bound = tv_distance(bits, probs), tv_bound(probs, n)
    e_chi2, e_p = level_chisquare(energies(bits), energies(every), probs)
    m_exact = 2 * every.sum(axis=1).astype(int) - N_SITES
    m_chi2, m_p = level_chisquare(2 * bits.sum(axis=1).astype(int) - N_SITES, m_exact, probs)
    return {
        "n": n, "tv": tv, "tv_bound": bound, "energy_chi2": e_chi2, "energy_p": e_p,
        "magnetisation_chi2": m_chi2, "magnetisation_p": m_p,
        "mean_energy": float(energies(bits).mean()), "exact_mean_energy": float(energies(every) @ probs),
        "ok": bool(tv < bound and e_p > P_MIN and m_p > P_MIN),
    }


def tv_null(probs: np.ndarray, n: int, seed: int = SEED) -> tuple[float, float]:
    """Mean and standard deviation of the TV of n iid exact samples (NULL_DRAWS draws)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
    every = all_bits()
    tvs = [tv_distance(every[rng.choice(probs.size, size=n, p=probs)], probs) for _ in range(NULL_DRAWS)]
    return float(np.mean(tvs)), float(np.std(tvs, ddof=1))


def render(split: str, rows: np.ndarray, seed: int = SEED) -> str:
    """The file text of one split: header lines, then one bitstring per row."""
    header = HEADER.format(seed=seed, split=split, n=len(rows), chains=len(rows) // SAMPLES_PER_CHAIN,
                           burn=BURN_IN, per=SAMPLES_PER_CHAIN, thin=THIN)
    return header + "".join("".join(map(str, row)) + "\n" for row in rows)


def read(path: Path) -> np.ndarray:
    """The rows of a shipped file (bare bitstrings after '#' lines) as [N, 16] uint8."""
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return (np.frombuffer("".join(lines).encode(), dtype=np.uint8) - ord("0")).reshape(len(lines), -1)


def report(data: dict[str, np.ndarray]) -> bool:
    """Print every check of each split; True when all pass."""
    probs = exact_probs()
    ok = True
    for split, rows in data.items():
        result = check_samples(rows, probs)
        null_mean, null_sd = tv_null(probs, len(rows))
        print(f"{split}: " + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))
        print(f"{split}: TV of {NULL_DRAWS} iid exact draws of {len(rows)}: {null_mean:.4f} +- {null_sd:.4f}")
        ok &= result["ok"]
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="check the files in --out-dir only")
    mode.add_argument("--verify", action="store_true", help="regenerate and compare with the files in --out-dir")
    args = parser.parse_args(argv)
    if args.check:
        return 0 if report({s: read(args.out_dir / f) for s, f in FILES.items()}) else 1
    data = generate()
    if args.verify:
        same = all((args.out_dir / f).read_text() == render(s, data[s]) for s, f in FILES.items())
        print("identical to the shipped files" if same else "DIFFERENT from the shipped files")
        return 0 if same else 1
    taus = decorrelation()
    print("integrated autocorrelation times (sweeps): " + ", ".join(f"{k}={v:.2f}" for k, v in taus.items()))
    print(f"burn-in {BURN_IN} sweeps, thinning {THIN} sweeps = {THIN / max(taus.values()):.0f} x the largest")
    if not report(data):
        print("a check failed: files not written", file=sys.stderr)
        return 1
    for split, name in FILES.items():
        (args.out_dir / name).write_text(render(split, data[split]))
        print(f"wrote {args.out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
