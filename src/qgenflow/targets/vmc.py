"""Variational Monte Carlo ground states with NetKet, for lattices beyond exact reach.

:func:`run_vmc` optimises a neural quantum state with stochastic reconfiguration
(natural gradient, :class:`netket.driver.VMC_SR`) and then draws Z-basis samples
from the converged state with fresh, seeded Markov chains.

The default ansatz is a translation-symmetric RBM (:class:`netket.models.RBMSymm`)
with real parameters, so ``psi(s) = exp(sum log cosh(...)) > 0``. A positive
ansatz has the right signs for stoquastic Hamiltonians: the Heisenberg model with
Marshall's sign rule (``nk.operator.Heisenberg(..., sign_rule=True)``, same
spectrum and same ``|psi|^2`` as without it) and the transverse-field Ising
model. Their ground states are positive and, being unique, invariant under every
lattice symmetry, which is what the symmetric RBM assumes. Frustrated models
need ``dtype: complex`` (and may live in another symmetry sector).

Spec keys (the ``vmc`` sub-dict of a target config entry; all optional):

========================  ==============  ===============================================
key                       default         meaning
========================  ==============  ===============================================
``model``                 ``rbm_symm``    ``rbm_symm`` (symmetric RBM) or ``rbm`` (plain)
``alpha``                 4               hidden-unit density (hidden units / sites)
``symmetries``            ``translation`` group of ``rbm_symm``: ``translation``,
                                          ``space_group`` or ``automorphisms``
``dtype``                 ``real``        ``real`` (positive ansatz) or ``complex``
``n_iter``                200             optimisation steps
``n_samples_train``       1024            Monte Carlo samples per step
``n_chains``              256             parallel Markov chains
``n_discard_per_chain``   2               sweeps discarded per chain at each step
``lr``                    0.01            peak SR step size (linear warm-up over the
                                          first 10 % of steps, then cosine decay)
``lr_final``              0.5             step size at the end of the decay, as a
                                          fraction of ``lr`` (a small one averages out
                                          the sampling noise of the last steps)
``diag_shift``            [1e-2, 1e-3]    SR diagonal shift: scalar, or [start, end]
                                          decayed exponentially over ``n_iter``
``n_samples_eval``        16384           samples for the final energy estimate (at
                                          least the ``n_samples`` returned)
``sample_sweeps``         4               sweeps between kept final samples (thinning)
``burn_in_sweeps``        100             sweeps discarded by fresh chains (start of
                                          training, final sampling)
``max_seconds``           None            stop the optimisation once this many seconds
                                          have passed since the call started
``chunk_size``            None            batch size for local energies (memory cap)
========================  ==============  ===============================================

A sweep is ``N`` Metropolis proposals (``N`` = number of sites): pair exchanges on
lattice bonds when the Hilbert space fixes total Sz (they conserve it), single spin
flips otherwise. ``max_seconds`` makes the number of steps depend on the machine,
so runs that use it are reproducible only up to where they stop.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidConfigError, QgenflowError

__all__ = ["DEFAULTS", "VMCDivergedError", "VMCResult", "run_vmc"]

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "model": "rbm_symm",
    "alpha": 4,
    "symmetries": "translation",
    "dtype": "real",
    "n_iter": 200,
    "n_samples_train": 1024,
    "n_chains": 256,
    "n_discard_per_chain": 2,
    "lr": 0.01,
    "lr_final": 0.5,
    "diag_shift": [1e-2, 1e-3],
    "n_samples_eval": 16384,
    "sample_sweeps": 4,
    "burn_in_sweeps": 100,
    "max_seconds": None,
    "chunk_size": None,
}

MODELS = ("rbm_symm", "rbm")
SYMMETRIES = ("translation", "space_group", "automorphisms")
DTYPES = ("real", "complex")
WARMUP_FRACTION = 0.1
INIT_STDDEV = 0.01
# A step whose energy lies this far above the best so far (in units of |E_best|,
# and of its own standard error) has diverged: the state is rolled back.
DIVERGENCE_RELATIVE = 0.02
DIVERGENCE_SIGMAS = 10.0
MAX_ROLLBACKS = 3


class VMCDivergedError(QgenflowError, RuntimeError):
    """The optimisation kept diverging after repeated roll-backs with smaller steps."""


@dataclass
class VMCResult:
    """Outcome of :func:`run_vmc`.

    Attributes:
        samples: [n_samples, N] uint8 Z-basis samples of the converged state
            (bit 0 = sigma^z eigenvalue +1 = spin up; bit ``i`` = site ``i``).
        energy: final energy estimate (Pauli units) from ``max(n_samples, n_samples_eval)``
            samples of fresh chains.
        energy_error: its standard error (autocorrelation-corrected).
        energy_variance: variance of the local energy (zero for an eigenstate).
        history: per-step ``step``, ``energy``, ``energy_error``, ``variance``,
            ``seconds`` (cumulative since the call), as numpy arrays.
        relative_error: ``|energy - reference| / |reference|``, nan without a reference.
        n_params: number of real variational parameters (complex ones count twice).
        seconds: wall time of the whole call.
        model_description: ansatz, sampler and optimiser in words.
        diagnostics: sampling diagnostics of the final chains (``tau_energy``,
            ``tau_log_prob`` in units of kept samples, ``r_hat``, ``acceptance``,
            ``sample_sweeps``, ``burn_in_sweeps``, ``n_chains``) and ``rollbacks``.
    """

    samples: np.ndarray
    energy: float
    energy_error: float
    energy_variance: float
    history: dict[str, np.ndarray]
    relative_error: float
    n_params: int
    seconds: float
    model_description: str
    diagnostics: dict[str, float] = field(default_factory=dict)


def run_vmc(
    hamiltonian,
    spec: Mapping[str, Any],
    seed: int,
    n_samples: int,
    *,
    graph=None,
    reference_energy: float | None = None,
) -> VMCResult:
    """Find the ground state of ``hamiltonian`` by VMC and sample it.

    Args:
        hamiltonian: NetKet operator on its Hilbert space (``hamiltonian.hilbert``);
            a spin-1/2 space, optionally with fixed total Sz.
        spec: settings, see the module docstring; missing keys take :data:`DEFAULTS`.
        seed: seeds parameters, training chains and final chains
            (``jax.random.PRNGKey(seed)``), so reruns on one machine are identical.
        n_samples: number of Z-basis samples to return.
        graph: the lattice (a :class:`netket.graph.Lattice` for symmetric models);
            its bonds are also the pair exchanges of the sampler.
        reference_energy: known ground energy, for ``relative_error``.

    Returns:
        A :class:`VMCResult`.
    """
    import jax  # heavy: jax takes seconds to load; targets is imported when Snakemake parses the workflow
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    start = time.perf_counter()
    cfg = _resolve_spec(spec)
    hilbert = hamiltonian.hilbert
    n_sites = hilbert.size
    if sorted(np.asarray(hilbert.local_states).tolist()) != [-1, 1]:
        raise ValueError(f"run_vmc needs a spin-1/2 Hilbert space (local states +-1), got {hilbert}")
    if n_samples < 1:
        raise InvalidConfigError("n_samples", f"must be >= 1, got {n_samples}")
    _check_sign_structure(hamiltonian, cfg["dtype"])

    key_params, key_train, key_final = jax.random.split(jax.random.PRNGKey(int(seed)), 3)
    model, model_text = _build_model(cfg, graph, n_sites)
    sampler, sampler_text = _build_sampler(hilbert, graph, cfg["n_chains"], sweep_size=n_sites)
    state = nk.vqs.MCState(
        sampler,
        model,
        n_samples=cfg["n_samples_train"],
        n_discard_per_chain=cfg["n_discard_per_chain"],
        seed=key_params,
        sampler_seed=key_train,
        chunk_size=cfg["chunk_size"],
    )
    n_params = int(state.n_parameters) * (2 if cfg["dtype"] == "complex" else 1)
    description = (
        f"{model_text}, {n_params} real parameters; {sampler_text}; "
        f"VMC_SR (natural gradient), {cfg['n_samples_train']} samples/step, lr {cfg['lr']} "
        f"(warm-up, cosine to x{cfg['lr_final']:g}), diag_shift {cfg['diag_shift']}"
    )
    log.info("VMC on %d sites: %s", n_sites, description)

    history, rollbacks = _optimise(hamiltonian, state, cfg, start)
    final = _sample_final(hamiltonian, state, cfg, key_final, n_samples, graph)
    return _result(final, history, rollbacks, n_params, description, start, reference_energy)


def _result(final, history, rollbacks, n_params, description, start, reference_energy) -> VMCResult:
    """The run's summary: final energy with its error, relative error to a reference, diagnostics."""
    energy = final.pop("energy")
    seconds = time.perf_counter() - start
    rel = abs((energy.mean - reference_energy) / reference_energy) if reference_energy else float("nan")
    log.info(
        "VMC done in %.1f s: E = %.5f +- %.5f (variance %.4f)%s",
        seconds,
        energy.mean,
        energy.error,
        energy.variance,
        "" if reference_energy is None else f", relative error {rel:.2e}",
    )
    return VMCResult(
        samples=final.pop("samples"),
        energy=energy.mean,
        energy_error=energy.error,
        energy_variance=energy.variance,
        history=history,
        relative_error=float(rel),
        n_params=n_params,
        seconds=seconds,
        model_description=description,
        diagnostics={**final, "rollbacks": rollbacks},
    )


def _resolve_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(spec) - set(DEFAULTS))
    if unknown:
        raise InvalidConfigError(f"vmc.{unknown[0]}", f"unknown key; allowed: {', '.join(DEFAULTS)}")
    cfg = {**DEFAULTS, **dict(spec)}
    for key, allowed in (("model", MODELS), ("symmetries", SYMMETRIES), ("dtype", DTYPES)):
        if cfg[key] not in allowed:
            raise InvalidConfigError(f"vmc.{key}", f"must be one of {', '.join(allowed)}, got {cfg[key]!r}")
    for key in ("n_iter", "n_samples_train", "n_chains", "n_samples_eval", "sample_sweeps"):
        cfg[key] = int(cfg[key])
        if cfg[key] < 1:
            raise InvalidConfigError(f"vmc.{key}", f"must be >= 1, got {cfg[key]}")
    for key in ("n_discard_per_chain", "burn_in_sweeps"):
        cfg[key] = int(cfg[key])
        if cfg[key] < 0:
            raise InvalidConfigError(f"vmc.{key}", f"must be >= 0, got {cfg[key]}")
    for key in ("alpha", "lr"):
        cfg[key] = float(cfg[key])
        if cfg[key] <= 0:
            raise InvalidConfigError(f"vmc.{key}", f"must be positive, got {cfg[key]}")
    cfg["lr_final"] = float(cfg["lr_final"])
    if not 0.0 < cfg["lr_final"] <= 1.0:
        raise InvalidConfigError("vmc.lr_final", f"must be in (0, 1] (a fraction of lr), got {cfg['lr_final']}")
    if cfg["max_seconds"] is not None:
        cfg["max_seconds"] = float(cfg["max_seconds"])
    shift = cfg["diag_shift"]
    shift = [float(shift)] * 2 if np.isscalar(shift) else [float(x) for x in shift]
    if len(shift) != 2 or min(shift) <= 0:
        raise InvalidConfigError(
            "vmc.diag_shift", f"must be a positive number or [start, end], got {cfg['diag_shift']}"
        )
    cfg["diag_shift"] = shift
    if cfg["n_samples_train"] % cfg["n_chains"]:
        raise InvalidConfigError(
            "vmc.n_samples_train",
            f"must be a multiple of n_chains ({cfg['n_chains']}), got {cfg['n_samples_train']}",
        )
    return cfg


def _check_sign_structure(hamiltonian, dtype: str) -> None:
    """Warn when a positive (real) ansatz meets positive off-diagonal matrix elements."""
    if dtype != "real" or not hasattr(hamiltonian, "operators"):
        return
    for op in hamiltonian.operators:
        mat = np.real(np.asarray(op.todense() if hasattr(op, "todense") else op))
        if mat.ndim == 2 and np.any(mat - np.diag(np.diag(mat)) > 1e-12):
            log.warning(
                "the Hamiltonian has positive off-diagonal elements (not stoquastic): a real, "
                "positive ansatz cannot represent its ground-state signs; use sign_rule=True for "
                "bipartite Heisenberg models or vmc.dtype: complex"
            )
            return


def _symmetry_group(graph, name: str):
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    if graph is None:
        raise InvalidConfigError("vmc.model", "rbm_symm needs the lattice: pass graph= to run_vmc, or use model: rbm")
    if name == "automorphisms":
        return graph.automorphisms()
    if not isinstance(graph, nk.graph.Lattice):
        raise InvalidConfigError(
            "vmc.symmetries", f"{name} needs a netket Lattice graph, got {type(graph).__name__}; use automorphisms"
        )
    return graph.translation_group() if name == "translation" else graph.space_group()


def _build_model(cfg: Mapping[str, Any], graph, n_sites: int):
    import jax  # heavy: jax takes seconds to load; targets is imported when Snakemake parses the workflow
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    dtype = np.float64 if cfg["dtype"] == "real" else np.complex128
    alpha = float(cfg["alpha"])
    if cfg["model"] == "rbm":
        model = nk.models.RBM(alpha=alpha, param_dtype=dtype)  # NetKet's own initialisation
        return model, f"RBM(alpha={alpha:g}, {cfg['dtype']} parameters)"
    group = _symmetry_group(graph, cfg["symmetries"])
    n_symm = len(group)
    if int(alpha * n_sites / n_symm) < 1:
        raise InvalidConfigError(
            "vmc.alpha", f"must be >= {n_symm / n_sites:g} for the {n_symm}-element {cfg['symmetries']} group"
        )
    # Each weight feeds |G| hidden units: shrink its spread so the initial state stays near-uniform (easy to sample).
    init = jax.nn.initializers.normal(INIT_STDDEV * math.sqrt(n_sites / n_symm))
    model = nk.models.RBMSymm(
        symmetries=group,
        alpha=alpha,
        param_dtype=dtype,
        kernel_init=init,
        hidden_bias_init=init,
        visible_bias_init=init,
    )
    return model, f"RBMSymm(alpha={alpha:g}, {cfg['symmetries']} group of {n_symm}, {cfg['dtype']} parameters)"


def _build_sampler(hilbert, graph, n_chains: int, sweep_size: int):
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    if getattr(hilbert, "constrained", False):
        if graph is not None:
            sampler = nk.sampler.MetropolisExchange(
                hilbert, graph=graph, d_max=1, n_chains=n_chains, sweep_size=sweep_size
            )
            text = "MetropolisExchange on lattice bonds"
        else:
            pairs = [(i, j) for i in range(hilbert.size) for j in range(i + 1, hilbert.size)]
            sampler = nk.sampler.MetropolisExchange(hilbert, clusters=pairs, n_chains=n_chains, sweep_size=sweep_size)
            text = "MetropolisExchange on all site pairs"
    else:
        sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=n_chains, sweep_size=sweep_size)
        text = "MetropolisLocal (single spin flips)"
    return sampler, f"{text}, {n_chains} chains, sweep {sweep_size} proposals"


def _schedules(cfg: Mapping[str, Any]):
    import optax  # heavy: optax takes seconds to load; targets is imported when Snakemake parses the workflow

    n_iter, lr = cfg["n_iter"], float(cfg["lr"])
    warmup = max(1, int(WARMUP_FRACTION * n_iter))
    lr_schedule = optax.join_schedules(
        [
            optax.linear_schedule(0.1 * lr, lr, warmup),
            optax.cosine_decay_schedule(lr, max(1, n_iter - warmup), float(cfg["lr_final"])),
        ],
        [warmup],
    )
    start, end = cfg["diag_shift"]

    def diag_shift(step: int) -> float:
        return start * (end / start) ** (min(step, n_iter) / max(1, n_iter))

    return lr_schedule, diag_shift


def _optimise(hamiltonian, state, cfg: Mapping[str, Any], start: float) -> tuple[dict[str, np.ndarray], int]:
    """Natural-gradient steps with roll-back on divergence; returns (history, roll-backs)."""
    import jax  # heavy: jax takes seconds to load; targets is imported when Snakemake parses the workflow
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow
    import optax  # heavy: optax takes seconds to load; targets is imported when Snakemake parses the workflow

    lr_schedule, diag_shift = _schedules(cfg)
    mode = "real" if cfg["dtype"] == "real" else "complex"
    # The kernel (minSR) form is cheaper once parameters outnumber samples.
    use_ntk = state.n_parameters > cfg["n_samples_train"]
    with contextlib.redirect_stdout(io.StringIO()) as chatter:
        driver = nk.driver.VMC_SR(
            hamiltonian,
            optax.sgd(lr_schedule),
            diag_shift=diag_shift(0),
            variational_state=state,
            mode=mode,
            use_ntk=use_ntk,
            on_the_fly=False,
        )
    log.debug("netket: %s", chatter.getvalue().strip())

    rows: list[tuple[int, float, float, float, float]] = []
    best = (math.inf, state.parameters)
    scale, rollbacks = 1.0, 0
    every = max(1, cfg["n_iter"] // 20)
    # Equilibrate the random initial chains once; later steps start from the previous chains.
    state.sample(n_discard_per_chain=cfg["burn_in_sweeps"])
    for step in range(cfg["n_iter"]):
        driver.diag_shift = diag_shift(step)
        driver.reset_step()
        stats, update = driver.compute_loss_and_update()
        e, err, var = float(np.real(stats.mean)), float(stats.error_of_mean), float(stats.variance)
        if _diverged(e, err, var, best[0]):
            rollbacks += 1
            if rollbacks > MAX_ROLLBACKS:
                raise VMCDivergedError(
                    f"VMC diverged at step {step} (E = {e}) after {MAX_ROLLBACKS} roll-backs; "
                    f"lower vmc.lr (now {cfg['lr']}) or raise vmc.diag_shift"
                )
            scale *= 0.5
            log.warning(
                "step %d: energy %.4f diverged from best %.4f; rolling back, step size x%.3g", step, e, best[0], scale
            )
            state.parameters = best[1]
            state.sampler = state.sampler  # fresh chains: the old ones may be stuck
            continue
        if e < best[0]:
            best = (e, state.parameters)
        rows.append((step, e, err, var, time.perf_counter() - start))
        if step % every == 0 or step == cfg["n_iter"] - 1:
            log.info("step %4d  E = %.5f +- %.5f  var %.4f  %.1f s", *rows[-1])
        if scale != 1.0:
            update = jax.tree.map(lambda x: scale * x, update)
        driver.update_parameters(update)
        if cfg["max_seconds"] is not None and time.perf_counter() - start > cfg["max_seconds"]:
            log.info("stopping after %d steps: max_seconds = %s reached", step + 1, cfg["max_seconds"])
            break
    columns = np.array(rows, dtype=np.float64).reshape(-1, 5)
    history = {
        "step": columns[:, 0].astype(np.int64),
        "energy": columns[:, 1],
        "energy_error": columns[:, 2],
        "variance": columns[:, 3],
        "seconds": columns[:, 4],
    }
    return history, rollbacks


def _diverged(energy: float, error: float, variance: float, best: float) -> bool:
    if not (math.isfinite(energy) and math.isfinite(variance)):
        return True
    if not math.isfinite(best):
        return False
    margin = max(DIVERGENCE_RELATIVE * abs(best), DIVERGENCE_SIGMAS * (error if math.isfinite(error) else 0.0))
    return energy > best + margin


@dataclass
class _Estimate:
    mean: float
    error: float
    variance: float


def _sample_final(hamiltonian, state, cfg, key, n_samples: int, graph) -> dict[str, Any]:
    """Fresh seeded chains from the trained state: energy estimate, samples and diagnostics."""
    import netket as nk  # heavy: netket takes seconds to load; targets is imported when Snakemake parses the workflow

    n_sites = state.hilbert.size
    n_chains = cfg["n_chains"]
    sweeps = cfg["sample_sweeps"]
    sampler, _ = _build_sampler(state.hilbert, graph, n_chains, sweep_size=sweeps * n_sites)
    total = max(n_samples, cfg["n_samples_eval"])
    chain_length = -(-total // n_chains)
    final = nk.vqs.MCState(
        sampler,
        state.model,
        variables=state.variables,
        n_samples=chain_length * n_chains,
        n_discard_per_chain=-(-cfg["burn_in_sweeps"] // sweeps),
        sampler_seed=key,
        chunk_size=cfg["chunk_size"],
    )
    configs = np.asarray(final.samples)  # [n_chains, chain_length, N]
    local = final.local_estimators(hamiltonian)
    stats = nk.stats.statistics(local)
    log_prob = 2.0 * np.real(np.asarray(final.log_value(configs.reshape(-1, n_sites))))
    tau_log_prob = float(nk.stats.statistics(log_prob.reshape(n_chains, chain_length)).tau_corr)
    acceptance = (
        float(np.asarray(final.sampler_state.acceptance)) if hasattr(final.sampler_state, "acceptance") else math.nan
    )
    # Interleave chains so any prefix of the rows mixes all chains.
    rows = configs.transpose(1, 0, 2).reshape(-1, n_sites)[:n_samples]
    diagnostics = {
        "tau_energy": float(stats.tau_corr),
        "tau_log_prob": tau_log_prob,
        "r_hat": float(stats.R_hat),
        "acceptance": acceptance,
        "sample_sweeps": float(sweeps),
        "burn_in_sweeps": float(cfg["burn_in_sweeps"]),
        "n_chains": float(n_chains),
    }
    log.info(
        "final sampling: %d chains x %d, %d sweep(s) apart after %d burn-in sweeps; "
        "autocorrelation time %.2f (energy), %.2f (log|psi|^2) samples; acceptance %.2f",
        n_chains,
        chain_length,
        sweeps,
        cfg["burn_in_sweeps"],
        diagnostics["tau_energy"],
        tau_log_prob,
        acceptance,
    )
    return {
        "energy": _Estimate(float(np.real(stats.mean)), float(stats.error_of_mean), float(stats.variance)),
        "samples": _configs_to_bits(rows),
        **diagnostics,
    }


def _configs_to_bits(configs: np.ndarray) -> np.ndarray:
    """NetKet spin-1/2 configurations (+1 = up, local_states [1, -1]) to qgenflow bits (0 = up)."""
    return (np.asarray(configs) < 0).astype(np.uint8)
