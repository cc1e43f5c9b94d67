"""QGAN on quantum data with a quantum discriminator (Dallaire-Demers & Killoran, PRA 98, 012324, 2018).

The real data is the target's ground-state vector ``|t>``, prepared on the n data
wires with ``qml.StatePrep``; the generator ``G(theta)`` prepares ``|g>`` on the
same wires. The discriminator ``D(phi)`` acts on the data wires plus one ancilla
(wire n) and reads the ancilla: ``P_real(rho) = (1 + <Z_anc>) / 2`` is its
probability that the input is real. The game is the one of the paper:

* the discriminator minimises its error probability
  ``L_D = [(1 - P_real(t)) + P_real(g)] / 2`` (at best the Helstrom error
  ``(1 - sqrt(1 - F)) / 2`` for pure states of fidelity F);
* the generator minimises ``L_G = 1 - P_real(g)``.

Both are expectation values of ``Z_anc``, so their exact gradients come from one
adjoint pass each on a simulator (the fake-data circuit gives the generator's and
the discriminator's gradient together), and from parameter-shift with shots on a
device. The fidelity ``|<t|g>|^2`` is recorded every ``log_every`` steps.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

import numpy as np

from ...errors import InvalidConfigError
from . import DEFAULT_STEPS, QGANResult, TargetData, setting
from ...circuits.expval import ExpvalRunner
from .state_prep import (
    default_generator,
    fidelity,
    final_distribution,
    make_generator,
    n_angles,
    target_state,
)

__all__ = ["helstrom_error", "train_quantum_discriminator"]

log = logging.getLogger(__name__)

#: Discriminator updates per generator step when the config gives none: the game needs a near-optimal D.
DEFAULT_D_STEPS = 5
# Shot streams per step: real-data circuits 3k, fake-data circuits 3k + 1 for discriminator update k;
# the generator's gradient circuits 2.
_STREAM_GEN = 2


def helstrom_error(fidelity: np.ndarray | float) -> np.ndarray | float:
    """Least error probability of telling two pure states of this fidelity apart (equal priors)."""
    return 0.5 * (1.0 - np.sqrt(np.clip(1.0 - np.asarray(fidelity, dtype=np.float64), 0.0, None)))


def train_quantum_discriminator(
    spec: Mapping[str, Any], target: TargetData, seed: int, checkpointer=None
) -> QGANResult:
    """Adversarial training of a generator circuit against a discriminator circuit with an ancilla.

    Spec keys: ``ansatz`` (generator; null: :func:`~.state_prep.default_generator`), ``layers``,
    ``ansatz_options``, ``init_scale``, ``optimizer`` (the generator's: ``name``,
    ``lr``, ``steps``, ``schedule``...), ``discriminator`` (``ansatz``, ``layers``,
    ``ansatz_options``, ``init_scale`` and the optimiser's ``name``, ``lr``), ``d_steps``,
    ``log_every``, ``device``, ``n_samples``.
    """
    import jax
    import optax
    import pennylane as qml

    from ...rng import make_rng
    from ...fit.loop import Progress
    from ...fit.optimizers import make_optimizer

    jax.config.update("jax_enable_x64", True)
    state = target_state(target)
    n = target.n_qubits
    d_steps = int(setting(spec, "d_steps", DEFAULT_D_STEPS))
    log_every = int(spec.get("log_every", 10))
    if d_steps < 1:
        raise InvalidConfigError("d_steps", f"must be >= 1, got {d_steps}")
    if log_every < 1:
        raise InvalidConfigError("log_every", f"must be >= 1, got {log_every}")
    gen = make_generator(
        setting(spec, "ansatz", None) or default_generator(state, n),
        n,
        int(setting(spec, "layers", 6)),
        spec.get("ansatz_options", {}),
        target=target.source,
    )
    d_spec = dict(spec.get("discriminator", {}))
    disc = make_generator(
        d_spec.get("ansatz", "hardware_efficient"),
        n + 1,
        int(d_spec.get("layers", 4)),
        d_spec.get("ansatz_options", {}),
    )
    obs = qml.PauliZ(n)
    device_spec = dict(spec.get("device", {}))
    shots = device_spec.get("shots")
    runner = ExpvalRunner(device_spec, n + 1, seed)
    real_prep = [qml.StatePrep(state, wires=range(n))]

    g_spec = dict(spec.get("optimizer", {}))
    steps = int(setting(g_spec, "steps", DEFAULT_STEPS))
    g_spec["steps"] = steps  # the learning-rate schedule spans the same steps
    g_opt = make_optimizer(g_spec)
    d_opt = make_optimizer(
        {"name": d_spec.get("name", "adam"), "lr": float(setting(d_spec, "lr", 0.1)), "steps": steps}
    )
    theta = np.asarray(gen.init_params(make_rng(seed, "model_init"), float(spec.get("init_scale", np.pi))))
    d_rng = np.random.default_rng(np.random.SeedSequence([seed, 1, 103]))
    phi = np.asarray(disc.init_params(d_rng, float(d_spec.get("init_scale", np.pi))))
    g_state, d_state = g_opt.init(theta), d_opt.init(phi)
    treedefs = [jax.tree_util.tree_structure(t) for t in (g_state, d_state)]
    sizes = [len(jax.tree_util.tree_leaves(t)) for t in (g_state, d_state)]

    g_loss = np.full(steps + 1, np.nan)
    d_loss = np.full(steps + 1, np.nan)
    logged: dict[str, list] = {"log_step": [], "fidelity": [], "p_real_real": [], "p_real_fake": []}
    start_step = 0
    restored = checkpointer.load() if checkpointer is not None else None
    if restored is not None:
        start_step, theta, leaves, hist = restored
        theta = np.asarray(theta, dtype=np.float64)
        phi = np.asarray(leaves[0], dtype=np.float64)
        rest, offset, parts = leaves[1:], 0, []
        for treedef, size in zip(treedefs, sizes):
            parts.append(jax.tree_util.tree_unflatten(treedef, [np.asarray(x) for x in rest[offset : offset + size]]))
            offset += size
        g_state, d_state = parts
        g_loss[:start_step], d_loss[:start_step] = hist["loss"][:start_step], hist["d_loss"][:start_step]
        for key in logged:
            logged[key] = list(np.asarray(hist[key]))

    def p_real_real(phi_: np.ndarray, step: int, k: int) -> tuple[float, np.ndarray]:
        """P_real(target) and its gradient in phi."""
        ops = real_prep + disc.ops(phi_)
        value, grad = runner.value_and_grad(ops, obs, range(1, 1 + disc.n_params), step, 3 * k)
        return 0.5 * (1.0 + value), 0.5 * grad

    def p_real_fake(
        theta_: np.ndarray, phi_: np.ndarray, step: int, stream: int
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """P_real(generator) and its gradients in theta and phi."""
        g_ops = gen.ops(theta_)
        k = n_angles(g_ops)
        value, grad = runner.value_and_grad(g_ops + disc.ops(phi_), obs, range(k + disc.n_params), step, stream)
        return 0.5 * (1.0 + value), 0.5 * grad[:k], 0.5 * grad[k:]

    progress = Progress(steps, start_step=start_step)
    start = time.perf_counter()
    for step in range(start_step, steps + 1):
        final = step == steps
        losses = []
        for k in range(0 if final else d_steps):
            pr, grad_r = p_real_real(phi, step, k)
            pf, _, grad_f = p_real_fake(theta, phi, step, 3 * k + 1)
            losses.append(0.5 * ((1.0 - pr) + pf))
            updates, d_state = d_opt.update(0.5 * (grad_f - grad_r).reshape(disc.shape), d_state, phi)
            phi = np.asarray(optax.apply_updates(phi, updates), dtype=np.float64)
        pr, _ = p_real_real(phi, step, d_steps)
        pf, grad_g, _ = p_real_fake(theta, phi, step, _STREAM_GEN)
        if final:
            losses.append(0.5 * ((1.0 - pr) + pf))
        d_loss[step] = float(np.mean(losses))
        g_loss[step] = 1.0 - pf
        if step % log_every == 0 or final:
            fid = fidelity(runner.state(gen.ops(theta), n), state)
            for key, value in (("log_step", step), ("fidelity", fid), ("p_real_real", pr), ("p_real_fake", pf)):
                logged[key].append(value)
            log.info(
                "step %d: G loss %.4f  D loss %.4f  P_real(t) %.3f  P_real(g) %.3f  fidelity %.6f",
                step,
                g_loss[step],
                d_loss[step],
                pr,
                pf,
                fid,
            )
        if final:
            break
        progress.update(step, g_loss[step])
        updates, g_state = g_opt.update(-grad_g.reshape(gen.shape), g_state, theta)
        theta = np.asarray(optax.apply_updates(theta, updates), dtype=np.float64)
        done = step + 1
        if checkpointer is not None and checkpointer.every and done % checkpointer.every == 0 and done < steps:
            leaves = [phi] + [np.asarray(x) for t in (g_state, d_state) for x in jax.tree_util.tree_leaves(t)]
            hist = {"loss": g_loss, "d_loss": d_loss, **{k: np.asarray(v) for k, v in logged.items()}}
            checkpointer.save(done, theta, leaves, hist)
    seconds = time.perf_counter() - start

    g_ops = gen.ops(theta)
    psi, probs, samples = final_distribution(
        ExpvalRunner(device_spec, n, seed), g_ops, n, int(spec.get("n_samples", 20000)), seed
    )
    fids = np.asarray(logged["fidelity"], dtype=np.float64)
    history = {
        "step": np.arange(steps + 1, dtype=np.int64),
        "loss": g_loss,
        "d_loss": d_loss,
        "log_step": np.asarray(logged["log_step"], dtype=np.int64),
        "fidelity": fids,
        "p_real_real": np.asarray(logged["p_real_real"], dtype=np.float64),
        "p_real_fake": np.asarray(logged["p_real_fake"], dtype=np.float64),
    }
    attrs = {
        "flavor": "quantum_discriminator",
        "ansatz": gen.name,
        "discriminator_ansatz": disc.name,
        "gradient": "adjoint" if shots is None else "parameter_shift",
        "device": device_spec.get("name", "lightning.qubit"),
        "fidelity": fidelity(psi, state),
        "fidelity_best": float(fids.max()),
        "final_loss": float(g_loss[-1]),
        "final_d_loss": float(d_loss[-1]),
        "helstrom_error": float(helstrom_error(fidelity(psi, state))),
        "discriminator_n_params": disc.n_params,
        "steps_done": steps,
        "resumed_from": start_step,
    }
    extra = {f"ansatz/{k}": v for k, v in gen.structure.items()}
    return QGANResult(
        params={"theta": theta, "discriminator/phi": phi},
        history=history,
        probs=probs,
        samples=samples,
        n_params=gen.n_params,
        seconds=seconds,
        seconds_per_step=seconds / max(steps - start_step, 1),
        attrs=attrs,
        extra=extra,
    )
