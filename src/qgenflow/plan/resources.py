"""What each job asks the scheduler for, and which simulator and JAX platform it runs on."""

from __future__ import annotations

import importlib.util
from typing import Any, Mapping

from ..errors import InvalidConfigError
from ..limits import MAX_EXACT_QUBITS, MAX_IQP_SHOT_QUBITS, MAX_NUMBA_QUBITS, NUMBA_STEP_BYTES_PER_AMPLITUDE
from ..schema import with_defaults
from ..targets import target_kind
from .entries import target_has_probs, target_qubits, uses_estimator

__all__ = [
    "SIMULATOR_MODULES",
    "check_compute",
    "job_gpus",
    "job_resources",
    "model_for_job",
]

#: Bytes per amplitude of an IQP target sampled with lightning shots (peak 3.3 GiB measured at 26 qubits).
_SHOT_SAMPLING_BYTES = 56


def _numba_trained(model: Mapping[str, Any]) -> bool:
    """Whether a QCBM trains with exact adjoint gradients on the numba engine.

    Mirrors ``gradient_method`` and ``qgenflow.train.qcbm.gradient_engine`` on the raw
    config entry, so that the plan does not import the simulators.
    """
    device = model.get("device", {}) or {}
    exact = device.get("shots") is None and model.get("gradient", "auto") in ("auto", "adjoint")
    if model.get("kind") != "qcbm" or uses_estimator(model) or not exact:
        return False
    engine = model.get("training", {}).get("engine", "auto")
    if engine == "auto":
        return device.get("name", "lightning.qubit") == "lightning.qubit" and not device.get("options")
    return engine == "numba"


def job_resources(stage: str, target: Mapping[str, Any], model: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Memory (MB) and runtime (minutes) a job needs, from the size of its problem.

    Statevector work grows as 2^n (16 bytes per amplitude, a few vectors alive at
    once, plus sparse operators for exact ground states); VMC grows with sites x
    iterations. These feed the rules' ``resources`` so a cluster job of 24 qubits
    never goes out with a laptop-sized default.
    """
    n = target_qubits(target) or 20
    dense = n <= MAX_EXACT_QUBITS and target_has_probs(target)
    vector_mb = (16 * 2**n) / 2**20 if dense else 0.0
    if stage == "targets":
        if target_kind(target).quantum and target.get("method", "exact") == "vmc":
            vmc = target.get("vmc", {})
            iters = int(vmc.get("n_iter", 600))
            return {"mem_mb": 4000 + 20 * n, "runtime": int(10 + iters * n / 600)}
        if target_kind(target).quantum and target.get("method") == "dmrg":
            dmrg = with_defaults("targets", target)["dmrg"]
            chi, sweeps = int(dmrg["chi_max"]), int(dmrg["max_sweeps"])  # two-site updates cost ~ chi^3 each
            return {"mem_mb": int(1500 + 256 * n * chi**2 / 2**20), "runtime": int(10 + 2.5e-9 * n * chi**3 * sweeps)}
        if target.get("method") == "shots" and n <= MAX_IQP_SHOT_QUBITS:  # lightning shots: 3.3 GiB measured at 26
            return {"mem_mb": int(1000 + _SHOT_SAMPLING_BYTES * 2**n / 2**20), "runtime": int(10 + vector_mb / 4)}
        factor = 60 if target_kind(target).quantum else 6  # sparse Hamiltonian + Lanczos vectors
        return {"mem_mb": int(1000 + factor * vector_mb), "runtime": int(10 + vector_mb / 4)}
    if stage == "train" and (model or {}).get("kind") == "mps_qcbm":
        return _mps_train_resources(model, n)
    if stage == "train":
        model = model or {}
        steps = int(model.get("optimizer", {}).get("steps", 500))
        layers = int(model.get("layers", 6))
        if _statevector_trained(model, n):
            seconds = steps * max(layers, 1) * n * (2**n) * 2e-8  # ~ gates x amplitudes
        else:  # classical models, the IQP estimator, Clifford search: polynomial in n, never 2^n
            seconds = steps * (0.05 + _POLY_STEP_SECONDS * n**2)
        state_mb = 12 * vector_mb
        if n <= MAX_NUMBA_QUBITS and _numba_trained(model):  # the engine's measured step, whatever the target holds
            state_mb = max(state_mb, NUMBA_STEP_BYTES_PER_AMPLITUDE * 2**n / 2**20)
        return {"mem_mb": int(1500 + state_mb), "runtime": int(10 + seconds / 60 * 3)}
    if stage == "evaluate":
        return {"mem_mb": int(1500 + 10 * vector_mb / 2), "runtime": int(10 + vector_mb / 8)}
    return {"mem_mb": 1000, "runtime": 10}


# Seconds per step per n^2 of the polynomial trainers: the IQP estimator at n = 10,000 (1000 strings x 1000 z)
# measured 3-5 s a step, ~4e-8 n^2; twice that, for margin.
_POLY_STEP_SECONDS = 1e-7


def _statevector_trained(model: Mapping[str, Any], n: int) -> bool:
    """Whether the model trains on a 2^n statevector (QCBMs and QGANs, but not the IQP estimator)."""
    return model.get("kind") in ("qcbm", "qgan") and n <= MAX_NUMBA_QUBITS and not uses_estimator(model)


def _mps_train_resources(model: Mapping[str, Any], n: int) -> dict[str, int]:
    """An MPS Born machine's training job: no 2^n; per step 2 (n - 1) layers SVDs of [2 chi, 2 chi] and
    n_ops Z-string contractions of n chi^3 each, about 3x that with the gradient, at ~1 GFLOP/s."""
    spec = with_defaults("models", model)
    chi, layers, steps = int(spec["bond_dimension"]), int(spec["layers"]), int(spec["optimizer"]["steps"])
    n_ops = int(spec["training"]["n_ops"])
    flops = 3 * (2 * n * layers * 10 * (2 * chi) ** 3 + 32 * n_ops * n * chi**3)
    stored_mb = (3 * 16 * n_ops * n * chi**2 + 64 * n * layers * (2 * chi) ** 2) / 2**20  # residuals of the gradient
    return {"mem_mb": int(1500 + 2 * stored_mb), "runtime": int(10 + steps * flops / 1e9 / 60 * 3)}


#: Simulator packages by device name, checked before any job when ``compute.simulator`` names one.
SIMULATOR_MODULES = {
    "lightning.qubit": "pennylane_lightning.lightning_qubit",
    "lightning.gpu": "pennylane_lightning.lightning_gpu",
    "lightning.kokkos": "pennylane_lightning.lightning_kokkos",
}


_DEFAULT_SIMULATOR = "lightning.qubit"


def model_for_job(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A model's config entry with ``compute.simulator`` applied to its device.

    Only models on the default simulator (``lightning.qubit``) move: a device named
    explicitly for hardware or for another simulator is kept as written.
    """
    spec = dict(config["models"][model])
    simulator = config.get("compute", {}).get("simulator", _DEFAULT_SIMULATOR)
    device = spec.get("device")
    if simulator != _DEFAULT_SIMULATOR and isinstance(device, Mapping):
        if device.get("name", _DEFAULT_SIMULATOR) == _DEFAULT_SIMULATOR:
            spec["device"] = {**device, "name": simulator}
    return spec


def job_gpus(config: Mapping[str, Any], target: str, model: str | None = None) -> int:
    """GPUs a job asks the scheduler for: 1 for circuit training on ``lightning.gpu``
    and for VMC targets with JAX on CUDA, else 0 (no request)."""
    compute = config.get("compute", {})
    if model is None:
        spec = config["targets"][target]
        return int(compute.get("jax_platform", "cpu") == "cuda" and spec.get("method") == "vmc")
    device = model_for_job(config, model).get("device", {})
    return int(isinstance(device, Mapping) and device.get("name") == "lightning.gpu")


def check_compute(config: Mapping[str, Any]) -> None:
    """Fail before any job when the configured simulator or JAX platform is not installed."""
    compute = config.get("compute", {})
    simulator = compute.get("simulator", _DEFAULT_SIMULATOR)
    module = SIMULATOR_MODULES.get(simulator)
    try:
        found = module is not None and importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise InvalidConfigError(
            "compute.simulator",
            f"{simulator} is not installed here; install the gpu extra (pip install -e '.[gpu]') on a machine "
            f"with an NVIDIA GPU, or use {_DEFAULT_SIMULATOR}",
        )
    if compute.get("jax_platform", "cpu") == "cuda":
        try:
            found = importlib.util.find_spec("jax_plugins.xla_cuda12") is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise InvalidConfigError(
                "compute.jax_platform",
                "cuda needs JAX's CUDA plugin (pip install -e '.[gpu]'); use cpu on machines without one",
            )
