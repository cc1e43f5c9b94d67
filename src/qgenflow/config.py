"""Study configuration: checks beyond the JSON schema, and what each rule needs from it.

The JSON schema (``schemas/config.schema.yaml`` in the package) fixes types, bounds,
defaults and allowed keys; :func:`check_config` adds the checks a schema cannot
express (cross-references, qubit budgets). Both run before any job starts.
This module is imported when Snakemake parses the workflow, so it imports
nothing heavy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
import re
from pathlib import Path
from typing import Any, Mapping

from .catalog import REFERENCES, TargetFacts, target_figure_names
from .errors import InputDataError, InvalidConfigError
from .provenance import STUDY_LINE
from .limits import MAX_EXACT_QUBITS, QGAN_CLASSICAL_MAX_QUBITS, QGAN_QUANTUM_DATA_MAX_QUBITS

__all__ = [
    "MAX_EXACT_QUBITS",
    "canonical",
    "check_config",
    "job_resources",
    "check_compute",
    "job_gpus",
    "model_for_job",
    "MODEL_PALETTE",
    "model_colours",
    "parameter_sweeps",
    "qubit_sweeps",
    "target_figures",
    "study_pairs",
    "target_has_probs",
    "models_for_target",
    "SCHEMA_PATH",
    "artefact_identity",
    "check_results_owner",
    "check_schema",
    "check_values",
    "file_widths",
    "study_name",
    "model_params",
    "target_qubits",
]

EXACT_LOSS_MODELS = ("qcbm",)
#: The JSON schema of a study config, shipped inside the package so every entry point finds it.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
#: No number in a study needs more; larger ones overflow squares, exponentials or int64 counters.
MAX_MAGNITUDE = 1e12
#: Snakemake refuses wildcard values that end in 20 or more repeats of one substring.
_PERIODIC_NAME = re.compile(r"(.+?)\1{19,}$")
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


def _check_qgan(
    key: str, name: str, model: Mapping[str, Any], tname: str, target: Mapping[str, Any], n: int
) -> None:
    flavor = model.get("flavor", "classical_discriminator")
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


def _key(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def check_values(config: Any, where: str = "") -> None:
    """Refuse, naming the key, what the JSON schema cannot see: values YAML allows but JSON does not.

    Every number must be finite and at most :data:`MAX_MAGNITUDE` in size; mapping
    keys must be strings; only plain YAML types (mappings, lists, strings, numbers,
    booleans, null) are allowed, so tagged values (``!!python/...``, ``!!binary``,
    dates) are refused; target and model names must not end in a pattern repeated
    20 times, which Snakemake takes for a cyclic wildcard.
    """
    if isinstance(config, Mapping):
        for key, value in config.items():
            if not isinstance(key, str):
                raise InvalidConfigError(
                    _key(where, key), f"keys must be strings, got {type(key).__name__} {key!r} (quote it)"
                )
            if where in ("targets", "models") and _PERIODIC_NAME.search(key):
                raise InvalidConfigError(
                    _key(where, key), "a name must not end in a pattern repeated 20 times or more "
                    "(Snakemake would take it for a cyclic wildcard); choose a shorter name",
                )
            check_values(value, _key(where, key))
        return
    if isinstance(config, list):
        for i, value in enumerate(config):
            check_values(value, f"{where}[{i}]")
        return
    if isinstance(config, bool) or config is None or isinstance(config, str):
        return
    if isinstance(config, (int, float)):
        if isinstance(config, float) and not math.isfinite(config):
            raise InvalidConfigError(where or "<root>", f"must be a finite number, got {config}")
        if abs(config) > MAX_MAGNITUDE:
            raise InvalidConfigError(
                where or "<root>", f"{config:.6g} is out of range: numbers in a study config are at most "
                f"{MAX_MAGNITUDE:.0e} in size",
            )
        return
    raise InvalidConfigError(
        where or "<root>",
        f"a {type(config).__name__} value ({config!r:.60}) is not allowed: only plain YAML "
        "(mappings, lists, strings, numbers, booleans, null); remove the YAML tag or quote the value",
    )


def check_schema(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema; raises :class:`InvalidConfigError` with the dotted key of the best match."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    # A failed kind-specific branch also flags its keys as "unevaluated": report the real cause.
    specific = [e for e in errors if e.validator != "unevaluatedProperties"]
    error = jsonschema.exceptions.best_match(specific or errors)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise InvalidConfigError(where or "<root>", error.message)


def file_widths(config: Mapping[str, Any], root: str | Path = ".", missing_ok: bool = False) -> dict[str, int]:
    """Bits per sample of every ``file`` target, read from the first row of its file.

    With ``missing_ok`` a missing file is skipped (the workflow leaves it to Snakemake,
    which refuses a missing input of a job it needs before any job runs).

    Raises:
        InvalidConfigError: a file is missing (naming ``targets.NAME.path``), unreadable,
            or its width disagrees with the entry's ``n_bits``.
    """
    # Imported here: the file reader loads numpy, which parse time needs only for file targets.
    from .targets.samples_file import peek_width

    widths = {}
    for name, spec in config.get("targets", {}).items():
        if spec.get("kind") != "file":
            continue
        path = Path(root) / spec["path"]
        if missing_ok and not path.exists():
            continue
        if not path.is_file():
            raise InvalidConfigError(
                f"targets.{name}.path", f"sample file {spec['path']} not found (paths are relative to "
                f"the working directory, {Path(root).resolve()})",
            )
        try:
            width = peek_width(path, spec.get("format", "auto"), spec.get("dataset", "samples"))
        except InputDataError as exc:
            raise InvalidConfigError(f"targets.{name}.path", str(exc)) from None
        except InvalidConfigError as exc:  # an unknown format or suffix
            raise InvalidConfigError(f"targets.{name}.{exc.key}", str(exc).removeprefix(f"{exc.key}: ")) from None
        if spec.get("n_bits") is not None and width != int(spec["n_bits"]):
            raise InvalidConfigError(
                f"targets.{name}.n_bits", f"{spec['n_bits']}, but the rows of {spec['path']} have {width} bits"
            )
        widths[name] = width
    return widths


def check_config(config: Mapping[str, Any], widths: Mapping[str, int] | None = None) -> None:
    """Cross-checks of a schema-valid config; raises :class:`InvalidConfigError` naming the key.

    ``widths`` gives the bits per sample of ``file`` targets whose entry has no
    ``n_bits`` (see :func:`file_widths`), so their size is checked against every model's limit.
    """
    targets = config.get("targets", {})
    models = config.get("models", {})
    widths = dict(widths or {})

    def qubits(name: str) -> int:
        return target_qubits(targets[name]) or widths.get(name) or 0

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
        if name in REFERENCES:
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
                    _check_qgan(f"studies[{i}]", m, models[m], t, targets[t], qubits(t))
                    continue
                if models[m]["kind"] in EXACT_LOSS_MODELS and not target_has_distribution(targets[t]):
                    raise InvalidConfigError(
                        f"studies[{i}]",
                        f"model {m!r} ({models[m]['kind']}) trains on exact probabilities, which target {t!r} "
                        "does not have (method: vmc); use an exact target",
                    )
                if qubits(t) > MAX_EXACT_QUBITS and models[m]["kind"] in EXACT_LOSS_MODELS:
                    raise InvalidConfigError(
                        f"studies[{i}]",
                        f"model {m!r} simulates {qubits(t)} qubits for target {t!r}; "
                        f"the statevector limit is {MAX_EXACT_QUBITS}",
                    )
    for name, spec in targets.items():
        n = qubits(name)
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


def target_figures(config: Mapping[str, Any], target: str) -> list[str]:
    """The figures of one target, in the order of :data:`qgenflow.catalog.FIGURES`: those
    every target gets, plus those its kind, its models and its parameter sweeps call for."""
    spec = config["targets"][target]
    facts = TargetFacts(
        kind=spec["kind"],
        has_probs=target_has_probs(spec),
        model_kinds=frozenset(config["models"][m]["kind"] for m in models_for_target(config, target)),
        swept=bool(parameter_sweeps(config, target)),
    )
    return target_figure_names(facts)


def model_params(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The config slice a model's training job receives (and its model.h5 records).

    A baseline sized to a quantum model (``match_params``) also gets what fixes that
    model's parameter count, and only that, so the quantum model's learning rate or
    step count does not rerun the baseline.
    """
    spec = model_for_job(config, model)
    if spec.get("match_params"):
        matched = config["models"][spec["match_params"]]
        spec["match_params_spec"] = {
            key: matched[key] for key in ("kind", "ansatz", "layers", "ansatz_options") if key in matched
        }
    return canonical(spec)


_ARTEFACT_PATHS = (
    ("target", re.compile(r"results/targets/(?P<target>[^/]+)/seed(?P<seed>\d+)/target\.h5")),
    ("model", re.compile(r"results/models/(?P<target>[^/]+)/(?P<model>[^/]+)/seed(?P<seed>\d+)/model\.h5")),
    ("metrics", re.compile(r"results/eval/(?P<target>[^/]+)/(?P<model>[^/]+)/seed(?P<seed>\d+)/metrics\.h5")),
)


def artefact_identity(config: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """What a job reading the artefact at ``path`` expects of it (see :func:`qgenflow.io.check_inputs`).

    Returns None for a path that is not a workflow artefact (a user's data file).
    """
    for kind, pattern in _ARTEFACT_PATHS:
        match = pattern.fullmatch(str(path))
        if match:
            break
    else:
        return None
    target, seed = match["target"], int(match["seed"])
    target_file = f"results/targets/{target}/seed{seed}/target.h5"
    if kind == "target":
        spec = config["targets"][target]
        identity = {"kind": kind, "seed": seed, "config": canonical(spec)}
        if spec["kind"] == "file":
            identity["made_from"] = [spec["path"]]  # the user's data, as it is now
        return identity
    if kind == "model":
        return {"kind": kind, "seed": seed, "config": model_params(config, match["model"]), "made_from": [target_file]}
    model = match["model"]
    made_from = [target_file]
    if not model.startswith("_"):
        made_from.append(f"results/models/{target}/{model}/seed{seed}/model.h5")
    return {
        "kind": kind,
        "seed": seed,
        "config": canonical(config["evaluation"]),
        "attrs": {"target_name": target, "model_name": model.removeprefix("_")},
        "made_from": made_from,
    }



def study_name(config: Mapping[str, Any], configfiles: Sequence[str | Path] = ()) -> str:
    """The study's name: the config's ``study`` key, else the stem of the last config file read."""
    if config.get("study"):
        return str(config["study"])
    return Path(str(configfiles[-1])).stem if configfiles else "config"


def _owner(verdict: Path) -> str | None:
    try:
        first = verdict.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    return first.removeprefix(STUDY_LINE).strip() if first.startswith(STUDY_LINE) else None


def check_results_owner(config: Mapping[str, Any], study: str, root: str | Path = ".") -> None:
    """Stop before any job when this study would replace another study's results.

    One ``results/`` folder holds one study. Each verdict file records the study that
    wrote it; if a target of this study already has a table written by another study,
    the run stops, naming the files it would replace and how to keep both.
    """
    root = Path(root)
    for target in sorted({t for t, _ in study_pairs(config)}):
        owner = _owner(root / f"results/tables/{target}_verdict.txt")
        if owner is None or owner == study:
            continue
        raise InvalidConfigError(
            f"targets.{target}",
            f"results/tables/{target}.csv, its verdict, its figures (results/figures/{target}_*) and the "
            f"publish folder were written by study {owner!r}; running study {study!r} here would replace them. "
            f"To keep both, run this study in a folder of its own (snakemake -d OTHER_FOLDER ...), or move "
            f"results/ aside first; if it is the same study under a new file name, set `study: {owner}`",
        )
