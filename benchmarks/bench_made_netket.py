"""Autoregressive baseline: NetKet's ``ARNNDense`` (what qgenflow uses) against the hand-written MADE it replaced.

The hand-written MADE (below: masks by degree, tanh, direct input-to-output links, its own
bit-by-bit sampler) against ``nk.models.ARNNDense`` with ``features = ceil(hidden / n)`` per bit,
without and with qgenflow's direct-link subclass, hidden = 64, one hidden layer. In one process:

* (a) training: qgenflow's fit loop, Adam lr 0.05, 300 full-batch exact-NLL steps on
  bars-and-stripes 3x3 (9 bits) and the 4x4 Heisenberg target's Z-basis samples (16 bits),
  each from its own initialisation (seed 0): ms per step, final exact KL(target || model), exact MMD^2;
* (b) exact sampling of 20000 strings: the MADE's own sampler against NetKet's ``ARDirectSampler``
  (its first call, with compilation, reported apart);
* (c) exact log p of all 2^n strings: time, and that they sum to 1.

Run:  python benchmarks/bench_made_netket.py [--steps 300] [--out made.json]
Ratios are NetKet / hand-written (below 1.5 counts as "not much slower").
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _baseline_common import load_targets, scores, train_flat
from _timing import best_of

HIDDEN, LAYERS = 64, 1


def hand_made(n, hidden, layers, seed):
    """The hand-written MADE qgenflow used before: (log_prob(flat, x), sample(flat, u), flat0)."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    degrees = [np.arange(1, n + 1)] + [np.arange(hidden) % max(n - 1, 1) + 1 for _ in range(layers)]
    masks = [(d_out[None, :] >= d_in[:, None]).astype(float) for d_in, d_out in zip(degrees[:-1], degrees[1:])]
    masks.append((np.arange(1, n + 1)[None, :] > degrees[-1][:, None]).astype(float))
    direct = np.tril(np.ones((n, n)), k=-1).T

    class MaskedDense(nn.Module):
        mask: object
        use_bias: bool = True

        @nn.compact
        def __call__(self, x):
            kernel = self.param("kernel", nn.initializers.lecun_normal(), self.mask.shape, jnp.float64)
            y = x @ (kernel * self.mask)
            return y + self.param("bias", nn.initializers.zeros, (self.mask.shape[1],), jnp.float64) if self.use_bias else y

    class MADE(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = x
            for i, mask in enumerate(masks[:-1]):
                h = jnp.tanh(MaskedDense(mask, name=f"hidden_{i}")(h))
            return MaskedDense(masks[-1], name="output")(h) + MaskedDense(direct, use_bias=False, name="direct")(x)

    model = MADE()
    flat0, unravel = ravel_pytree(model.init(jax.random.PRNGKey(seed), jnp.zeros((1, n))))

    def log_prob(flat, x):
        return jnp.sum(jax.nn.log_sigmoid((2.0 * x - 1.0) * model.apply(unravel(flat), x)), axis=-1)

    def sample(flat, u):
        variables = unravel(flat)

        def body(i, x):
            return x.at[:, i].set((u[:, i] < jax.nn.sigmoid(model.apply(variables, x)[:, i])).astype(x.dtype))

        return jax.lax.fori_loop(0, n, body, jnp.zeros(u.shape)).astype(jnp.uint8)

    return jax.jit(log_prob), jax.jit(sample), np.asarray(flat0)


def measure(name, samples, probs, steps, n_draws, seed=0):
    import jax
    import jax.numpy as jnp

    from qgenflow.bits import all_bitstrings
    from qgenflow.models.baselines import autoregressive as ar, training_data

    jax.config.update("jax_enable_x64", True)
    n = samples.shape[1]
    rows, weights = training_data(samples)
    allv = jnp.asarray(all_bitstrings(n), dtype=jnp.float64)
    row = {"target": name, "n": n, "steps": steps, "features_per_bit": ar.features_per_bit(HIDDEN, n)}
    log_prob, sample, flat0 = hand_made(n, HIDDEN, LAYERS, seed)
    variants = {"hand": (log_prob, flat0)}
    for direct in (False, True):
        fns = ar._functions(n, HIDDEN, LAYERS, direct, "tanh")
        variants["netket_direct" if direct else "netket"] = (fns["log_prob"], np.asarray(fns["init"](jax.random.PRNGKey(seed))))
    trained = {}
    for label, (logp, flat) in variants.items():
        vg = jax.jit(jax.value_and_grad(lambda f, x, w, logp=logp: -jnp.dot(logp(f, x), w)))
        params, per_step, loss = train_flat(vg, flat, rows, weights, steps, 0.05)
        q = np.exp(np.asarray(logp(jnp.asarray(params), allv)))
        trained[label] = jnp.asarray(params)
        row.update({f"{label}_ms_per_step": 1e3 * per_step, f"{label}_final_nll": loss, f"{label}_params": int(flat.size),
                    f"{label}_prob_sum_minus_1": float(q.sum() - 1), **{f"{label}_{k}": v for k, v in scores(q, probs).items()},
                    f"{label}_logp_all_s": best_of(lambda: logp(trained[label], allv).block_until_ready())})
    u = jnp.asarray(np.random.default_rng(1).random((n_draws, n)))
    row["hand_sample_s"] = best_of(lambda: sample(trained["hand"], u).block_until_ready(), 3)
    fns = ar._functions(n, HIDDEN, LAYERS, False, "tanh")
    variables = fns["unravel"](trained["netket"])
    start = time.perf_counter()
    ar.sample_exact(fns["model"], variables, n_draws, np.random.default_rng(1))
    row["netket_sample_first_s"] = time.perf_counter() - start
    row["netket_sample_s"] = best_of(lambda: ar.sample_exact(fns["model"], variables, n_draws, np.random.default_rng(1)), 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", default=["bas3x3", "heis4x4"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--draws", type=int, default=20000)
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = [measure(name, s, p, args.steps, args.draws) for name, (s, p) in load_targets(args.targets).items()]
    for row in rows:
        print(f"\n{row['target']} (n={row['n']}, {row['steps']} Adam steps, hidden {HIDDEN} = {row['features_per_bit']} per bit)")
        for key in ("ms_per_step", "final_nll", "kl", "mmd2", "logp_all_s", "params", "prob_sum_minus_1"):
            hand = row[f"hand_{key}"]
            cells = "  ".join(f"{v} {row[f'{v}_{key}']:11.5g} (x{row[f'{v}_{key}'] / hand if hand else float('nan'):.3f})"
                              for v in ("netket", "netket_direct"))
            print(f"  {key:17s} hand {hand:11.5g}  {cells}")
        print(f"  sample {args.draws}: hand {row['hand_sample_s']:.4f}s  ARDirectSampler {row['netket_sample_s']:.4f}s"
              f" (x{row['netket_sample_s'] / row['hand_sample_s']:.2f}; first call {row['netket_sample_first_s']:.2f}s)")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
