"""Search spaces of model entries: dotted keys, the schema of what they name, and settings applied to an entry.

A model entry's ``search`` maps a dotted key (``optimizer.lr``, ``layers``) to a range
``{low, high, log, type}`` or to ``{choices: [...]}``. :func:`normalise_search` checks
every key against the schema of the model's kind and returns the search with every
range's type fixed (``float`` or ``int``), which is what the tuning jobs receive;
:func:`apply_setting` writes one setting (``{dotted key: value}``) into an entry.
Standard library, ``jsonschema`` and the schema only: the plan reads this at parse time.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import jsonschema

from ..errors import InvalidConfigError
from ..schema import load_schema

__all__ = [
    "TUNING_KEYS",
    "apply_setting",
    "get_dotted",
    "key_schema",
    "normalise_search",
    "set_dotted",
    "trial_budget",
]

#: Model-entry keys that steer tuning, not training: never searched, never seen by a trainer as a setting.
TUNING_KEYS = ("search", "tuning")
#: Keys no search may name: what a model is, and study-level or tuning settings.
_NOT_SEARCHABLE = ("kind", "data_access", "match_params", *TUNING_KEYS)


def get_dotted(entry: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of ``entry`` (KeyError when a part is missing)."""
    value: Any = entry
    for part in key.split("."):
        if not isinstance(value, Mapping):
            raise KeyError(key)
        value = value[part]
    return value


def set_dotted(entry: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``entry`` with ``value`` at dotted ``key`` (missing mappings on the way are created)."""
    out = copy.deepcopy(dict(entry))
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, Mapping) else {}
        node = node[part]
    node[parts[-1]] = value
    return out


def trial_budget(entry: Mapping[str, Any], fraction: float) -> dict[str, Any]:
    """``entry`` with ``optimizer.steps`` cut to ``fraction`` of itself (rounded, at least 1), for a tuning trial.

    An entry without ``optimizer.steps`` (nothing iterative to shorten) is returned unchanged.
    """
    steps = entry.get("optimizer", {}).get("steps") if isinstance(entry.get("optimizer"), Mapping) else None
    if fraction >= 1.0 or steps is None:
        return copy.deepcopy(dict(entry))
    return set_dotted(entry, "optimizer.steps", max(1, round(float(fraction) * int(steps))))


def apply_setting(entry: Mapping[str, Any], setting: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` with every ``{dotted key: value}`` of ``setting`` written into it, in sorted key order."""
    out = copy.deepcopy(dict(entry))
    for key in sorted(setting):
        out = set_dotted(out, key, setting[key])
    return out


def _resolve(node: Mapping[str, Any]) -> dict[str, Any]:
    """A schema node with its ``$ref`` (into ``$defs``) merged in, the node's own keys first."""
    node = dict(node)
    while "$ref" in node:
        ref = node.pop("$ref")
        target = load_schema()["$defs"][ref.removeprefix("#/$defs/")]
        node = {**target, **node}
    return node


def _child(node: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The schema of property ``name`` of an object schema, in its ``properties`` or a conditional branch."""
    node = _resolve(node)
    if name in node.get("properties", {}):
        return _resolve(node["properties"][name])
    for branch in node.get("allOf", []):
        found = _child(branch.get("then", {}), name) if "then" in branch else None
        if found is not None:
            return found
    return None


def key_schema(kind: str, key: str) -> dict[str, Any] | None:
    """The schema of the setting a dotted ``key`` names in a model of ``kind``; None when there is none."""
    defs = load_schema()["$defs"]
    if f"model_{kind}" not in defs or key.split(".")[0] in _NOT_SEARCHABLE:
        return None
    node: dict[str, Any] | None = defs[f"model_{kind}"]
    for part in key.split("."):
        node = _child(node, part) if node is not None else None
    return node


def _types(node: Mapping[str, Any]) -> set[str]:
    kinds = node.get("type", [])
    return {kinds} if isinstance(kinds, str) else set(kinds)


def _check_value(where: str, node: Mapping[str, Any], value: Any, what: str) -> None:
    """Refuse a bound or choice that the setting's own schema refuses."""
    validator = jsonschema.Draft202012Validator({"$defs": load_schema()["$defs"], "allOf": [dict(node)]})
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise InvalidConfigError(where, f"{what} {value!r} is not allowed for this setting: {error.message}")


def _range(where: str, node: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    types = _types(node)
    if not types & {"integer", "number"}:
        raise InvalidConfigError(where, f"a range needs a numeric setting; this one is {node.get('type') or 'a choice'}: "
                                 "give {choices: [...]} instead")
    kind = spec.get("type") or ("int" if "integer" in types and "number" not in types else "float")
    if kind == "float" and "number" not in types:
        raise InvalidConfigError(where, "type float, but the setting is an integer; use type: int or leave type out")
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if kind == "int" and not all(float(v).is_integer() for v in (low, high)):
        raise InvalidConfigError(where, f"an int range needs whole bounds, got low {low}, high {high}")
    if low > high:
        raise InvalidConfigError(where, f"low {low} is above high {high}")
    if log and low <= 0:
        raise InvalidConfigError(where, f"a log range needs low > 0, got {low}")
    cast = int if kind == "int" else float
    for what, value in (("low", cast(low)), ("high", cast(high))):
        _check_value(where, node, value, what)
    return {"low": cast(low), "high": cast(high), "log": log, "type": kind}


def _choices(where: str, node: Mapping[str, Any], choices: list[Any]) -> dict[str, Any]:
    for choice in choices:
        _check_value(where, node, choice, "choice")
    return {"choices": list(choices)}


def normalise_search(name: str, model: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The search of model entry ``name``, every key checked against its kind's schema.

    Returns:
        ``{dotted key: {"low", "high", "log", "type"} | {"choices"}}`` in sorted key order,
        ranges typed ``float`` or ``int`` (by their ``type``, else the setting's type).

    Raises:
        InvalidConfigError: naming ``models.<name>.search.<key>`` when the key names no
            numeric or choice setting of the kind, or a bound or choice is not allowed for it.
    """
    search = model.get("search") or {}
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(search):
        where = f"models.{name}.search.{key}"
        node = key_schema(str(model.get("kind")), key)
        if node is None or not (_types(node) or "enum" in node) or _types(node) & {"object", "array"}:
            what = "names a group of settings of" if node is not None else "is not a setting of"
            raise InvalidConfigError(
                where, f"{key!r} {what} model kind {model.get('kind')!r}; a search key is a dotted path to one number or "
                "choice of the model entry (optimizer.lr, layers, alpha, hidden, ...)",
            )
        spec = search[key]
        out[key] = _choices(where, node, spec["choices"]) if "choices" in spec else _range(where, node, spec)
    return out
