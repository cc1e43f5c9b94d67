"""RBM baseline: NetKet's ``nk.models.RBM`` (what qgenflow uses) against the hand-written RBM it replaced.

Both are the energy model p(v) = exp(-F(v)) / Z over 0/1 bits; the NetKet module is
``nk.models.RBM(activation=softplus)`` (log psi = -F(v), same parameters). In one process:

* (a) training: qgenflow's fit loop, Adam lr 0.05, 300 full-batch exact-NLL steps, alpha = 1,
  on bars-and-stripes 3x3 (9 bits) and the 4x4 Heisenberg target's Z-basis samples (16 bits),
  from the same initial parameters: ms per step, final exact KL(target || model), exact MMD^2;
* (b) exact sampling of 20000 strings: qgenflow's draw from the enumerated probabilities
  against NetKet's ``ExactSampler(machine_pow=1)``; and, for the regime above 20 bits where
  nothing is enumerated, qgenflow's block Gibbs against NetKet's ``MetropolisLocal`` at equal
  sweeps, scored by TV against the exact distribution of the trained 16-bit model;
* (c) exact log p of all 2^n strings: time and largest difference.

Run:  python benchmarks/bench_rbm_netket.py [--steps 300] [--out rbm.json]
Ratios are NetKet / hand-written (below 1.5 counts as "not much slower").
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import numpy as np

from _baseline_common import load_targets, scores, train_flat
from _timing import best_of


# --- the hand-written RBM qgenflow used before (free energy, enumeration with a shared low-bit field) ---
def hand_free_energy(p, v):
    import jax
    import jax.numpy as jnp

    return -(v @ p["visible_bias"]) - jnp.sum(jax.nn.softplus(v @ p["weights"] + p["hidden_bias"]), axis=-1)


def hand_neg_free_energy_all(p, n, block_bits=12):
    import jax
    import jax.numpy as jnp

    from qgenflow.bits import all_bitstrings

    lo_bits = min(n, block_bits)
    hi = jnp.asarray(all_bitstrings(n - lo_bits), dtype=jnp.float64)
    lo = jnp.asarray(all_bitstrings(lo_bits), dtype=jnp.float64)
    a, b, w = p["visible_bias"], p["hidden_bias"], p["weights"]
    split = n - lo_bits
    lo_field, lo_bias = lo @ w[split:] + b, lo @ a[split:]

    @jax.checkpoint
    def block(h):
        return lo_bias + h @ a[:split] + jnp.sum(jax.nn.softplus(lo_field + h @ w[:split]), axis=-1)

    return jax.lax.map(block, hi).reshape(-1)


@functools.lru_cache
def hand_functions(n, m):
    import jax
    import jax.numpy as jnp

    from qgenflow.models.baselines.rbm import _unflatten

    def nll(flat, v, w):
        p = _unflatten(flat, n, m)
        return jnp.dot(hand_free_energy(p, v), w) + jax.scipy.special.logsumexp(hand_neg_free_energy_all(p, n))

    def log_probs(flat):
        neg_f = hand_neg_free_energy_all(_unflatten(flat, n, m), n)
        return neg_f - jax.scipy.special.logsumexp(neg_f)

    return jax.jit(jax.value_and_grad(nll)), jax.jit(log_probs)


def measure(name, samples, probs, steps, n_draws, seed=0):
    import jax
    import jax.numpy as jnp
    import netket as nk

    from qgenflow.bits import sample_from_probs
    from qgenflow.models.baselines import rbm, training_data

    jax.config.update("jax_enable_x64", True)
    n = samples.shape[1]
    m = n
    rows, weights = training_data(samples)
    init = rbm._init_params(np.random.default_rng(seed), samples.mean(axis=0), m, 0.01)
    flat0 = rbm._flatten(init)
    nk_fns = rbm._functions(n, m)
    hand_grad, hand_logp = hand_functions(n, m)
    row = {"target": name, "n": n, "steps": steps}
    params = {}
    for label, vg, logp in (("hand", hand_grad, hand_logp), ("netket", nk_fns["nll_and_grad"], nk_fns["log_probs"])):
        flat, per_step, loss = train_flat(vg, flat0, rows, weights, steps, 0.05)
        q = np.exp(np.asarray(logp(jnp.asarray(flat))))
        row.update({f"{label}_ms_per_step": 1e3 * per_step, f"{label}_final_nll": loss,
                    **{f"{label}_{k}": v for k, v in scores(q, probs).items()}})
        row[f"{label}_logp_all_s"] = best_of(lambda: logp(jnp.asarray(flat)).block_until_ready())
        params[label] = flat
    row["logp_all_max_abs_diff"] = float(np.max(np.abs(
        np.asarray(hand_logp(jnp.asarray(params["netket"]))) - np.asarray(nk_fns["log_probs"](jnp.asarray(params["netket"])))
    )))
    trained = rbm._unflatten(np.asarray(params["netket"]), n, m)
    q = np.exp(rbm.log_probs_all(trained))
    q /= q.sum()
    row["hand_exact_sample_s"] = best_of(lambda: sample_from_probs(q, n_draws, np.random.default_rng(1)), 3)
    model, variables = rbm.rbm_module(n, m), rbm.module_variables({k: jnp.asarray(v) for k, v in trained.items()})
    sampler = nk.sampler.ExactSampler(nk.hilbert.Qubit(n), machine_pow=1)
    state = sampler.init_state(model, variables, seed=1)
    row["netket_exact_sample_s"] = best_of(
        lambda: sampler.sample(model, variables, state=state, chain_length=n_draws)[0].block_until_ready(), 3)
    row.update(markov_chains(n, m, trained, model, variables, q))
    return row


def markov_chains(n, m, trained, model, variables, q, chains=100, burn_in=200, thin=2, draws=20):
    """Block Gibbs (hand-written) vs NetKet MetropolisLocal (one sweep = n proposals), equal sweeps; TV to q."""
    import netket as nk

    from qgenflow.bits import bits_to_index
    from qgenflow.models.baselines import rbm

    def tv(x):
        return 0.5 * float(np.abs(np.bincount(bits_to_index(x), minlength=2**n) / x.shape[0] - q).sum())

    out = {"chain_draws": chains * draws, "chain_sweeps": burn_in + thin * draws}
    start = time.perf_counter()
    gibbs = rbm.gibbs_samples(trained, chains * draws, np.random.default_rng(2), chains, burn_in, thin)
    out.update(gibbs_s=time.perf_counter() - start, gibbs_tv=tv(gibbs))
    sampler = nk.sampler.MetropolisLocal(nk.hilbert.Qubit(n), n_chains=chains, sweep_size=n * thin,
                                         machine_pow=1)
    state = sampler.init_state(model, variables, seed=2)
    start = time.perf_counter()
    state = sampler.reset(model, variables, state)
    _, state = sampler.sample(model, variables, state=state, chain_length=burn_in // thin)
    x, _ = sampler.sample(model, variables, state=state, chain_length=draws)
    out.update(metropolis_s=time.perf_counter() - start, metropolis_tv=tv(np.asarray(x, dtype=np.uint8).reshape(-1, n)))
    exact = np.random.default_rng(3).choice(2**n, chains * draws, p=q)
    out["exact_draws_tv"] = tv(np.array([[int(b) for b in np.binary_repr(i, n)] for i in exact], dtype=np.uint8))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", default=["bas3x3", "heis4x4"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--draws", type=int, default=20000)
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = [measure(name, s, p, args.steps, args.draws) for name, (s, p) in load_targets(args.targets).items()]
    for row in rows:
        print(f"\n{row['target']} (n={row['n']}, {row['steps']} Adam steps, alpha=1)")
        for key in ("ms_per_step", "final_nll", "kl", "mmd2", "logp_all_s", "exact_sample_s"):
            hand, netk = row[f"hand_{key}"], row[f"netket_{key}"]
            print(f"  {key:15s} hand {hand:12.5g}  netket {netk:12.5g}  ratio {netk / hand:6.3f}")
        print(f"  log p(all) max |diff| {row['logp_all_max_abs_diff']:.2e}")
        print(f"  chains ({row['chain_draws']} draws, {row['chain_sweeps']} sweeps): block Gibbs TV {row['gibbs_tv']:.4f}"
              f" in {row['gibbs_s']:.2f}s; MetropolisLocal TV {row['metropolis_tv']:.4f} in {row['metropolis_s']:.2f}s;"
              f" exact draws TV {row['exact_draws_tv']:.4f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
