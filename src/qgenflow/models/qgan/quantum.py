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
from typing import Any, Mapping

import jax
import numpy as np
import optax
import pennylane as qml

from ...circuits.expval import ExpvalRunner
from ...circuits.qasm import qasm_record
from ...errors import InvalidConfigError
from ...fit.loop import TrainResult, fit, without_early_stopping
from ...fit.optimizers import make_optimizer
from ...rng import make_rng
from ..ansatz import Ansatz
from . import QGANResult, TargetData, setting
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


class _Game:
    """The discriminator circuit's side of the game, stepped by :func:`~qgenflow.fit.loop.fit` as its inner step.

    ``before`` runs ``d_steps`` discriminator updates against the target and the
    current generator; ``value_and_grad`` is the generator's loss ``1 - P_real(g)`` and
    its gradient; ``after`` records the discriminator loss and, every ``log_every``
    steps, the fidelity and both ``P_real``.
    """

    def __init__(self, spec: Mapping[str, Any], target: TargetData, state: np.ndarray, gen: Ansatz, steps: int,
                 seed: int):
        n = target.n_qubits
        d_spec = dict(spec["discriminator"])
        self.disc = make_generator(
            d_spec["ansatz"], n + 1, int(d_spec["layers"]),
            d_spec.get("ansatz_options", {}),
        )
        self.gen, self.target, self.n = gen, state, n
        self.d_steps = int(setting(spec, "d_steps", DEFAULT_D_STEPS))
        self.log_every = int(spec["log_every"])
        self.obs = qml.PauliZ(n)
        self.runner = ExpvalRunner(dict(spec["device"]), n + 1, seed)
        self.real_prep = [qml.StatePrep(state, wires=range(n))]
        self.opt = make_optimizer(
            {"name": d_spec["name"], "lr": float(setting(d_spec, "lr", 0.1)), "steps": steps}
        )
        d_rng = make_rng(seed, "quantum_discriminator_init")
        self.phi = np.asarray(self.disc.init_params(d_rng, float(d_spec["init_scale"])))
        self.opt_state = self.opt.init(self.phi)
        self.d_loss = np.full(steps + 1, np.nan)
        self.logged: dict[str, list] = {"log_step": [], "fidelity": [], "p_real_real": [], "p_real_fake": []}
        self.now: dict[str, Any] = {}

    def p_real_real(self, step: int, k: int) -> tuple[float, np.ndarray]:
        """P_real(target) and its gradient in phi."""
        ops = self.real_prep + self.disc.ops(self.phi)
        value, grad = self.runner.value_and_grad(ops, self.obs, range(1, 1 + self.disc.n_params), step, 3 * k)
        return 0.5 * (1.0 + value), 0.5 * grad

    def p_real_fake(self, theta: np.ndarray, step: int, stream: int) -> tuple[float, np.ndarray, np.ndarray]:
        """P_real(generator) and its gradients in theta and phi."""
        g_ops = self.gen.ops(theta)
        k = n_angles(g_ops)
        ops = g_ops + self.disc.ops(self.phi)
        value, grad = self.runner.value_and_grad(ops, self.obs, range(k + self.disc.n_params), step, stream)
        return 0.5 * (1.0 + value), 0.5 * grad[:k], 0.5 * grad[k:]

    def before(self, theta: np.ndarray, step: int, final: bool) -> None:
        losses = []
        for k in range(0 if final else self.d_steps):
            pr, grad_r = self.p_real_real(step, k)
            pf, _, grad_f = self.p_real_fake(theta, step, 3 * k + 1)
            losses.append(0.5 * ((1.0 - pr) + pf))
            updates, self.opt_state = self.opt.update(
                0.5 * (grad_f - grad_r).reshape(self.disc.shape), self.opt_state, self.phi
            )
            self.phi = np.asarray(optax.apply_updates(self.phi, updates), dtype=np.float64)
        pr, _ = self.p_real_real(step, self.d_steps)
        self.now = {"theta": theta, "losses": losses, "pr": pr}

    def value_and_grad(self, theta: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        pf, grad_g, _ = self.p_real_fake(theta, step, _STREAM_GEN)
        self.now["pf"] = pf
        return 1.0 - pf, -grad_g.reshape(self.gen.shape)

    def after(self, step: int, loss: float, final: bool) -> None:
        losses, pr, pf = self.now["losses"], self.now["pr"], self.now["pf"]
        if final:
            losses.append(0.5 * ((1.0 - pr) + pf))
        self.d_loss[step] = float(np.mean(losses))
        if step % self.log_every and not final:
            return
        fid = fidelity(self.runner.state(self.gen.ops(self.now["theta"]), self.n), self.target)
        for key, value in (("log_step", step), ("fidelity", fid), ("p_real_real", pr), ("p_real_fake", pf)):
            self.logged[key].append(value)
        log.info(
            "step %d: G loss %.4f  D loss %.4f  P_real(t) %.3f  P_real(g) %.3f  fidelity %.6f",
            step, loss, self.d_loss[step], pr, pf, fid,
        )

    def state(self) -> dict[str, np.ndarray]:
        leaves = jax.tree_util.tree_leaves(self.opt_state)
        return {"phi": self.phi, **{f"d_opt_state/{i:04d}": np.asarray(x) for i, x in enumerate(leaves)}}

    def history(self, last: int) -> dict[str, np.ndarray]:
        return {
            "d_loss": self.d_loss[: last + 1],
            "log_step": np.asarray(self.logged["log_step"], dtype=np.int64),
            **{k: np.asarray(self.logged[k], dtype=np.float64) for k in ("fidelity", "p_real_real", "p_real_fake")},
        }

    def restore(self, step: int, state: Mapping[str, np.ndarray], history: Mapping[str, np.ndarray]) -> None:
        self.phi = np.asarray(state["phi"], dtype=np.float64)
        treedef = jax.tree_util.tree_structure(self.opt_state)
        leaves = [np.asarray(state[f"d_opt_state/{i:04d}"]) for i in range(treedef.num_leaves)]
        self.opt_state = jax.tree_util.tree_unflatten(treedef, leaves)
        self.d_loss[:step] = history["d_loss"][:step]
        for key in self.logged:
            self.logged[key] = list(np.asarray(history[key]))


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
    jax.config.update("jax_enable_x64", True)
    state = target_state(target)
    n = target.n_qubits
    d_steps = int(setting(spec, "d_steps", DEFAULT_D_STEPS))
    log_every = int(spec["log_every"])
    if d_steps < 1:
        raise InvalidConfigError("d_steps", f"must be >= 1, got {d_steps}")
    if log_every < 1:
        raise InvalidConfigError("log_every", f"must be >= 1, got {log_every}")
    gen = make_generator(
        setting(spec, "ansatz", None) or default_generator(state, n),
        n,
        int(spec["layers"]),
        spec.get("ansatz_options", {}),
        target=target.source,
    )
    g_spec = dict(spec["optimizer"])
    g_spec["steps"] = int(g_spec["steps"])  # the learning-rate schedule spans the same steps
    game = _Game(spec, target, state, gen, g_spec["steps"], seed)
    theta = np.asarray(gen.init_params(make_rng(seed, "model_init"), float(spec["init_scale"])))
    result = fit(game.value_and_grad, theta, without_early_stopping(g_spec), checkpointer, inner=game)
    device_spec = dict(spec["device"])
    psi, probs, samples = final_distribution(
        ExpvalRunner(device_spec, n, seed), gen.ops(result.params), n, int(spec["n_samples"]), seed
    )
    return QGANResult.from_fit(
        result,
        params={"theta": result.params, "discriminator/phi": game.phi},
        probs=probs,
        samples=samples,
        n_params=gen.n_params,
        attrs=_attrs(game, result, fidelity(psi, state), device_spec),
        extra={**{f"ansatz/{k}": v for k, v in gen.structure.items()}, **qasm_record(gen.ops(result.params), n)},
    )


def _attrs(game: _Game, result: TrainResult, fid: float, device_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The run's summary attributes: final fidelity and losses, the Helstrom bound."""
    return {
        "flavor": "quantum_discriminator",
        "ansatz": game.gen.name,
        "discriminator_ansatz": game.disc.name,
        "gradient": "adjoint" if device_spec.get("shots") is None else "parameter_shift",
        "device": device_spec["name"],
        "fidelity": fid,
        "fidelity_best": float(np.max(np.asarray(game.logged["fidelity"], dtype=np.float64))),
        "final_loss": float(result.history["loss"][-1]),
        "final_d_loss": float(game.d_loss[-1]),
        "helstrom_error": float(helstrom_error(fid)),
        "discriminator_n_params": game.disc.n_params,
        "steps_done": len(game.d_loss) - 1,
        "resumed_from": result.resumed_from,
    }
