"""Checks of a study config beyond the JSON schema, run before any job.

The JSON schema (``schemas/config.schema.yaml`` in the package) fixes types, bounds,
defaults and allowed keys; :func:`check_values` refuses what YAML allows but JSON
does not, and :func:`check_config` what a schema cannot express (cross-references,
qubit budgets)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from ..catalog import REFERENCES
from ..devices import check_noise_model
from ..errors import InputDataError, InvalidConfigError
from ..limits import MAX_EXACT_QUBITS, QGAN_CLASSICAL_MAX_QUBITS, QGAN_QUANTUM_DATA_MAX_QUBITS
from ..models.ansatz import check_ansatz_name
from ..schema import SCHEMA_PATH, load_schema, with_defaults
from ..targets import target_kind
from ..targets.dmrg import chain_length
from ..targets.samples_file import peek_width
from .entries import (
    EXACT_LOSS_MODELS,
    data_access,
    learns_from_state,
    target_has_distribution,
    target_has_probs,
    target_qubits,
    uses_estimator,
)
from .studies import DEPLOYABLE_KINDS, deploy_targets, device_label
from .tuning import check_tuning

__all__ = [
    "MAX_MAGNITUDE",
    "check_config",
    "check_schema",
    "check_values",
    "file_widths",
]

#: No number in a study needs more; larger ones overflow squares, exponentials or int64 counters.
MAX_MAGNITUDE = 1e12


#: Snakemake refuses wildcard values that end in 20 or more repeats of one substring.
_PERIODIC_NAME = re.compile(r"(.+?)\1{19,}$")




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
    if not target_kind(target).quantum or not target_has_probs(target):
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


#: Study-level settings, equal for every model: not allowed inside a model entry.
STUDY_LEVEL_KEYS = ("data_access",)


def _check_study_level_keys(config: Mapping[str, Any]) -> None:
    models = config.get("models")
    for name, model in (models.items() if isinstance(models, Mapping) else ()):
        for key in STUDY_LEVEL_KEYS:
            if isinstance(model, Mapping) and key in model:
                raise InvalidConfigError(
                    f"models.{name}.{key}", f"{key} is a study-level setting, equal for every model; "
                    f"write it once at the top level of the config ({key}: {model[key]}), not in a model entry",
                )


def _check_data_access(config: Mapping[str, Any]) -> None:
    """Under ``data_access: samples``, refuse a model of any study that cannot learn from samples."""
    if data_access(config) != "samples":
        return
    models = config.get("models", {})
    for name in dict.fromkeys(m for study in config.get("studies", []) for m in study.get("models", [])):
        model = models.get(name, {})
        if learns_from_state(model):
            raise InvalidConfigError(
                "data_access", f"model {name!r} (qgan, flavor {model.get('flavor')}) learns from the target's state "
                "vector, which data_access: samples withholds (every model learns from the training samples only); "
                "set data_access: probabilities at the top level of the config, use flavor: "
                "classical_discriminator, or drop the model from the studies",
            )


def check_schema(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema; raises :class:`InvalidConfigError` with the dotted key of the best match.

    A study-level key written inside a model entry (``data_access``) is named as such first.
    """
    _check_study_level_keys(config)
    schema = load_schema() if Path(schema_path) == SCHEMA_PATH else yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    # A failed kind-specific branch also flags its keys as "unevaluated": report the real cause.
    specific = [e for e in errors if e.validator != "unevaluatedProperties"]
    error = jsonschema.exceptions.best_match(specific or errors)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise InvalidConfigError(where or "<root>", error.message)


def file_widths(config: Mapping[str, Any], root: str | Path = ".", missing_ok: bool = False) -> dict[str, int]:
    """Bits per sample of every ``file`` target, read from the first row of its files.

    With ``missing_ok`` a missing file is skipped (the workflow leaves it to Snakemake,
    which refuses a missing input of a job it needs before any job runs).

    Raises:
        InvalidConfigError: a file is missing (naming ``targets.NAME.path``, ``.test_path`` or
            ``.validation_path``), unreadable, or its width disagrees with ``n_bits`` or the other files.
    """
    widths = {}
    for name, spec in config.get("targets", {}).items():
        if spec.get("kind") != "file":
            continue
        files = {key: spec[key] for key in ("path", "validation_path", "test_path") if spec.get(key)}
        for key, file in files.items():
            width = _file_width(name, key, file, spec, root, missing_ok)
            if width is None:
                continue
            if spec.get("n_bits") is not None and width != int(spec["n_bits"]):
                raise InvalidConfigError(
                    f"targets.{name}.n_bits", f"{spec['n_bits']}, but the rows of {file} have {width} bits"
                )
            if name in widths and width != widths[name]:
                raise InvalidConfigError(
                    f"targets.{name}.{key}",
                    f"rows of {file} have {width} bits but those of {spec['path']} have {widths[name]}",
                )
            widths.setdefault(name, width)
    return widths


def _file_width(
    name: str, key: str, file: str, spec: Mapping[str, Any], root: str | Path, missing_ok: bool
) -> int | None:
    """Bits per sample of one user file of target ``name`` (its ``key``), or None when missing and allowed."""
    path = Path(root) / file
    if missing_ok and not path.exists():
        return None
    if not path.is_file():
        raise InvalidConfigError(
            f"targets.{name}.{key}", f"sample file {file} not found (paths are relative to "
            f"the working directory, {Path(root).resolve()})",
        )
    try:
        return peek_width(path, spec.get("format", "auto"), spec.get("dataset", "samples"))
    except InputDataError as exc:
        raise InvalidConfigError(f"targets.{name}.{key}", str(exc)) from None
    except InvalidConfigError as exc:  # an unknown format or suffix
        raise InvalidConfigError(f"targets.{name}.{exc.key}", str(exc).removeprefix(f"{exc.key}: ")) from None


def _check_devices(config: Mapping[str, Any], qubits) -> None:
    """Every device's noise model (models and ``deploy``), and the ``deploy`` section's names and sizes."""
    models = config.get("models", {})
    for name, model in models.items():
        if isinstance(model.get("device"), Mapping):
            check_noise_model(f"models.{name}.device", model["device"])
    section = config.get("deploy") or {}
    labels: dict[str, int] = {}
    for i, device in enumerate(section.get("devices") or []):
        check_noise_model(f"deploy.devices[{i}]", device)
        label = device_label(device)
        if label in labels:
            raise InvalidConfigError(
                f"deploy.devices[{i}].label", f"{label!r} is also the label of deploy.devices[{labels[label]}]; "
                "give each device a label of its own",
            )
        labels[label] = i
    circuits = sorted(m for m in models if models[m]["kind"] in DEPLOYABLE_KINDS)
    for name in section.get("models") or []:
        if name not in circuits:
            raise InvalidConfigError(
                "deploy.models", f"{name!r} is not a circuit model of the config; circuit models: {', '.join(circuits) or 'none'}"
            )
    for target in deploy_targets(config):
        if qubits(target) > MAX_EXACT_QUBITS:
            raise InvalidConfigError(
                "deploy", f"target {target!r} has {qubits(target)} qubits; deployed models are compared with their exact "
                f"probabilities, up to {MAX_EXACT_QUBITS} qubits",
            )


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
        if model.get("kind") == "qcbm" and "ansatz" in model:
            check_ansatz_name(f"models.{name}.ansatz", model["ansatz"])
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
                        f"does not have (method: {targets[t].get('method')}); use an exact target",
                    )
                if qubits(t) > MAX_EXACT_QUBITS and models[m]["kind"] in EXACT_LOSS_MODELS:
                    raise InvalidConfigError(
                        f"studies[{i}]",
                        f"model {m!r} simulates {qubits(t)} qubits for target {t!r}; "
                        f"the statevector limit is {MAX_EXACT_QUBITS}",
                    )
    _check_data_access(config)
    _check_devices(config, qubits)
    check_tuning(config)
    for name, spec in targets.items():
        n = qubits(name)
        if target_has_probs(spec) and n > MAX_EXACT_QUBITS:
            raise InvalidConfigError(
                f"targets.{name}",
                f"{n} qubits exceeds the exact-simulation limit of {MAX_EXACT_QUBITS}; use method: vmc",
            )
        if target_kind(spec).quantum and spec.get("method") == "dmrg":
            chain_length(with_defaults("targets", spec), key=f"targets.{name}.lattice")
        if spec["kind"] == "heisenberg" and n % 2:
            raise InvalidConfigError(f"targets.{name}.lattice", f"Heisenberg targets need an even site count, got {n}")
