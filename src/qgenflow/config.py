"""Study configuration: checks beyond the JSON schema, and what each rule needs from it.

The JSON schema (``workflow/schemas/config.schema.yaml``) fixes types, bounds,
defaults and allowed keys; :func:`check_config` adds the checks a schema cannot
express (cross-references, qubit budgets). Both run before any job starts.
This module is imported when Snakemake parses the workflow, so it imports
nothing heavy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Mapping

from .errors import InvalidConfigError

__all__ = [
    "MAX_EXACT_QUBITS",
    "STAGE_SOURCES",
    "canonical",
    "check_config",
    "job_resources",
    "check_compute",
    "job_gpus",
    "model_for_job",
    "MODEL_PALETTE",
    "TARGET_FIGURES",
    "model_colours",
    "parameter_sweeps",
    "qubit_sweeps",
    "target_figures",
    "study_pairs",
    "target_has_probs",
    "models_for_target",
    "stage_sources",
    "target_qubits",
]

MAX_EXACT_QUBITS = 24
EXACT_LOSS_MODELS = ("qcbm",)
QGAN_QUANTUM_DATA_MAX_QUBITS = 12
QGAN_CLASSICAL_MAX_QUBITS = 16
RESERVED_MODEL_NAMES = ("data", "uniform")
PACKAGE_DIR = Path(__file__).resolve().parent

# Source files whose edits change a stage's results: files, or folders meaning their *.py.
_SHARED = ("__init__.py", "bits.py", "errors.py", "io.py", "provenance.py", "rng.py")
STAGE_SOURCES: dict[str, tuple[str, ...]] = {
    "targets": _SHARED + ("targets",),
    "train": _SHARED + ("kernels.py", "devices.py", "models", "train", "targets/spin.py", "targets/iqp.py"),
    "evaluate": _SHARED + ("kernels.py", "metrics"),
    "figures": _SHARED + ("plots", "plots/qgenflow.mplstyle", "metrics/tables.py"),
    "publish": _SHARED + ("publish.py",),
}


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted, recursively.

    Snakemake compares ``params`` by their text, so a config slice must not
    depend on the order keys were written in the YAML file.
    """
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def stage_sources(stage: str) -> list[str]:
    """Absolute paths of the package files a stage's results depend on."""
    paths: list[Path] = []
    for entry in STAGE_SOURCES[stage]:
        path = PACKAGE_DIR / entry
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return [str(p) for p in paths]


def target_qubits(spec: Mapping[str, Any]) -> int | None:
    """Number of qubits (bits) of a target config entry; None when only the data file knows."""
    kind = spec["kind"]
    if kind in ("uniform", "gaussian_mixture"):
        return int(spec["n_bits"])
    if kind == "iqp":
        return int(spec["n_qubits"])
    if kind == "file":
        return None if spec.get("n_bits") is None else int(spec["n_bits"])
    if kind == "uniform":
        return int(spec["n_bits"])
    if kind == "bars_and_stripes":
        return int(spec["rows"]) * int(spec["cols"])
    if kind in ("heisenberg", "tfim"):
        return int(math.prod(int(x) for x in spec["lattice"]))
    raise InvalidConfigError("kind", f"unknown target kind {kind!r}")


def target_has_probs(spec: Mapping[str, Any]) -> bool:
    """Whether the target artefact will hold exact probabilities."""
    return spec["kind"] != "file" and spec.get("method", "exact") == "exact"


def target_has_distribution(spec: Mapping[str, Any]) -> bool:
    """Whether a dense distribution exists to train on: exact probabilities or a data file's histogram."""
    return target_has_probs(spec) or spec["kind"] == "file"


def uses_estimator(model: Mapping[str, Any]) -> bool:
    """Whether a model trains with the classical IQP Z-string estimator (no statevector)."""
    return model.get("kind") == "qcbm" and model.get("training", {}).get("method", "exact") == "estimator"


def _check_qgan(key: str, name: str, model: Mapping[str, Any], tname: str, target: Mapping[str, Any]) -> None:
    flavor = model.get("flavor", "classical_discriminator")
    n = target_qubits(target) or 0
    if flavor == "classical_discriminator":
        if n > QGAN_CLASSICAL_MAX_QUBITS:
            raise InvalidConfigError(
                key, f"QGAN {name!r} evaluates its discriminator on all 2^n bitstrings: at most "
                f"{QGAN_CLASSICAL_MAX_QUBITS} qubits, target {tname!r} has {n}",
            )
        return
    if target["kind"] not in ("heisenberg", "tfim") or not target_has_probs(target):
        raise InvalidConfigError(
            key, f"QGAN {name!r} ({flavor}) needs quantum data: a heisenberg or tfim target with method exact, "
            f"not {tname!r} ({target['kind']})",
        )
    if n > QGAN_QUANTUM_DATA_MAX_QUBITS:
        raise InvalidConfigError(
            key, f"QGAN {name!r} ({flavor}) is limited to {QGAN_QUANTUM_DATA_MAX_QUBITS} qubits; {tname!r} has {n}"
        )


def check_config(config: Mapping[str, Any]) -> None:
    """Cross-checks of a schema-valid config; raises :class:`InvalidConfigError` naming the key."""
    targets = config.get("targets", {})
    models = config.get("models", {})
    for name, model in models.items():
        if uses_estimator(model) and model.get("ansatz") != "iqp":
            raise InvalidConfigError(
                f"models.{name}.training.method", "the estimator trains IQP circuits only; set ansatz: iqp"
            )
        matched = model.get("match_params")
        if matched is not None and (matched not in models or models[matched]["kind"] != "qcbm"):
            raise InvalidConfigError(
                f"models.{name}.match_params",
                f"must name a qcbm model; qcbm models: {', '.join(sorted(m for m in models if models[m]['kind'] == 'qcbm'))}",
            )
        if name in RESERVED_MODEL_NAMES:
            raise InvalidConfigError(
                f"models.{name}", f"{name!r} names a reference row of every table; choose another model name"
            )
    for i, study in enumerate(config.get("studies", [])):
        for field, defined in (("targets", targets), ("models", models)):
            for name in study.get(field, []):
                if name not in defined:
                    raise InvalidConfigError(
                        f"studies[{i}].{field}",
                        f"unknown {field[:-1]} {name!r}; defined: {', '.join(sorted(defined)) or 'none'}",
                    )
        for t in study["targets"]:
            for m in study["models"]:
                if uses_estimator(models[m]):
                    continue  # the Z-string estimator needs only target samples, at any size
                if models[m]["kind"] == "qgan":
                    _check_qgan(f"studies[{i}]", m, models[m], t, targets[t])
                    continue
                if models[m]["kind"] in EXACT_LOSS_MODELS and not target_has_distribution(targets[t]):
                    raise InvalidConfigError(
                        f"studies[{i}]",
                        f"model {m!r} ({models[m]['kind']}) trains on exact probabilities, which target {t!r} "
                        "does not have (method: vmc); use an exact target",
                    )
                if (target_qubits(targets[t]) or 0) > MAX_EXACT_QUBITS and models[m]["kind"] in EXACT_LOSS_MODELS:
                    raise InvalidConfigError(
                        f"studies[{i}]",
                        f"model {m!r} simulates {target_qubits(targets[t])} qubits for target {t!r}; "
                        f"the statevector limit is {MAX_EXACT_QUBITS}",
                    )
    for name, spec in targets.items():
        n = target_qubits(spec) or 0
        if target_has_probs(spec) and n > MAX_EXACT_QUBITS:
            raise InvalidConfigError(
                f"targets.{name}",
                f"{n} qubits exceeds the exact-simulation limit of {MAX_EXACT_QUBITS}; use method: vmc",
            )
        if spec["kind"] == "heisenberg" and n % 2:
            raise InvalidConfigError(f"targets.{name}.lattice", f"Heisenberg targets need an even site count, got {n}")


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
        if target["kind"] in ("heisenberg", "tfim") and target.get("method", "exact") == "vmc":
            vmc = target.get("vmc", {})
            iters = int(vmc.get("n_iter", 600))
            return {"mem_mb": 4000 + 20 * n, "runtime": int(10 + iters * n / 600)}
        factor = 60 if target["kind"] in ("heisenberg", "tfim") else 6  # sparse Hamiltonian + Lanczos vectors
        return {"mem_mb": int(1000 + factor * vector_mb), "runtime": int(10 + vector_mb / 4)}
    if stage == "train":
        model = model or {}
        steps = int(model.get("optimizer", {}).get("steps", 500))
        layers = int(model.get("layers", 6))
        seconds = steps * max(layers, 1) * n * (2**n) * 2e-8  # ~ gates x amplitudes
        return {"mem_mb": int(1500 + 12 * vector_mb), "runtime": int(10 + seconds / 60 * 3)}
    if stage == "evaluate":
        return {"mem_mb": int(1500 + 10 * vector_mb / 2), "runtime": int(10 + vector_mb / 8)}
    return {"mem_mb": 1000, "runtime": 10}


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
    import importlib.util

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


def study_pairs(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Distinct (target, model) pairs of all studies, in a stable order."""
    pairs = {(t, m) for study in config["studies"] for t in study["targets"] for m in study["models"]}
    return sorted(pairs)


def models_for_target(config: Mapping[str, Any], target: str) -> list[str]:
    """Models trained on ``target`` in any study, in the order of the config's ``models``."""
    trained = {m for t, m in study_pairs(config) if t == target}
    return [m for m in config["models"] if m in trained]


#: Colour-blind-safe qualitative palette (Paul Tol's "muted"), ordered so that
#: neighbours in a config's ``models`` get contrasting colours.
MODEL_PALETTE = (
    "#332288", "#117733", "#882255", "#999933", "#88CCEE", "#AA4499", "#44AA99", "#DDCC77", "#CC6677",
)

# Keys that only set a size: entries differing in nothing else form a sweep.
_MODEL_SIZE_KEYS = ("layers", "hidden", "alpha")
_TARGET_SIZE_KEYS = ("n_bits", "n_qubits", "rows", "cols", "lattice")


def model_colours(config: Mapping[str, Any], models: Sequence[str]) -> dict[str, str]:
    """Each model's colour, fixed by its place in the config's ``models``.

    A model keeps its colour in every figure of a study; the palette repeats after
    nine models (a warning is logged by the figures that then share colours).
    """
    order = list(config["models"])
    return {m: MODEL_PALETTE[order.index(m) % len(MODEL_PALETTE)] for m in models}


def _family_key(spec: Mapping[str, Any], size_keys: Sequence[str]) -> str:
    return json.dumps(canonical({k: v for k, v in spec.items() if k not in size_keys}), sort_keys=True)


def parameter_sweeps(config: Mapping[str, Any], target: str) -> dict[str, list[str]]:
    """Families of models on ``target`` that differ only in size (layers, hidden units, alpha).

    Returns:
        ``{first member's name: [members in config order]}`` for families of two or more.
    """
    families: dict[str, list[str]] = {}
    for model in models_for_target(config, target):
        families.setdefault(_family_key(config["models"][model], _MODEL_SIZE_KEYS), []).append(model)
    return {members[0]: members for members in families.values() if len(members) > 1}


def qubit_sweeps(config: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Targets that differ only in size (qubits, grid, lattice), with the models trained on two or more.

    Returns:
        ``{name: {"targets": [...], "models": [...]}}``; the name is the targets' kind,
        numbered when one kind has several sweeps.
    """
    pairs = study_pairs(config)
    families: dict[str, list[str]] = {}
    for target in dict.fromkeys(t for t, _ in pairs):
        families.setdefault(_family_key(config["targets"][target], _TARGET_SIZE_KEYS), []).append(target)
    sweeps: dict[str, dict[str, list[str]]] = {}
    for targets in families.values():
        if len({target_qubits(config["targets"][t]) for t in targets}) < 2:
            continue
        models = [m for m in config["models"] if sum((t, m) in pairs for t in targets) >= 2]
        if not models:
            continue
        kind = config["targets"][targets[0]]["kind"]
        name = kind if kind not in sweeps else f"{kind}{sum(k.startswith(kind) for k in sweeps) + 1}"
        targets = sorted(targets, key=lambda t: target_qubits(config["targets"][t]) or 0)
        sweeps[name] = {"targets": targets, "models": models}
    return sweeps


#: Figures drawn for every target, then those drawn only where they apply.
TARGET_FIGURES = ("training", "distribution", "correlations", "metrics")


def target_figures(config: Mapping[str, Any], target: str) -> list[str]:
    """The figures of one target: the common four, plus C(r) for spin targets, the
    Porter-Thomas histogram for exact IQP targets, QGAN dynamics when a QGAN learns it,
    and a parameter scaling figure when a model family is swept on it."""
    spec = config["targets"][target]
    figures = list(TARGET_FIGURES)
    if spec["kind"] in ("heisenberg", "tfim"):
        figures.append("corr_r")
    if spec["kind"] == "iqp" and target_has_probs(spec):
        figures.append("porter_thomas")
    if any(config["models"][m]["kind"] == "qgan" for m in models_for_target(config, target)):
        figures.append("qgan")
    if parameter_sweeps(config, target):
        figures.append("scaling_params")
    return figures
