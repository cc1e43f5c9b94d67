"""The study config's JSON schema: where every default is written, and the one code that applies them.

Core layer: the plan validates configs against it, and the training and target
stages complete a config entry with it, so a default exists in one place only
(``schemas/config.schema.yaml``). Defaults are applied as Snakemake's ``validate``
applies them when it parses a study: an absent key of an object takes the
``default`` of its property schema, recursively, in the branch of the entry's kind.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

__all__ = ["SCHEMA_PATH", "load_schema", "with_defaults"]

#: The JSON schema of a study config, shipped inside the package so every entry point finds it.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


@functools.cache
def load_schema() -> dict[str, Any]:
    """The parsed schema (read once per process)."""
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _fill_defaults(validator, properties, instance, schema):
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if isinstance(subschema, Mapping) and "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
    yield from _PROPERTIES(validator, properties, instance, schema)


_PROPERTIES = jsonschema.Draft202012Validator.VALIDATORS["properties"]
_FILLING = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": _fill_defaults})


def with_defaults(section: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a config entry with every schema default filled in.

    ``section`` is ``targets`` or ``models`` (one entry of them), another top-level
    section (``evaluation``, ``compute``, ``figures``), or the name of a shared
    definition of the schema (``optimizer``, ``device``). Idempotent: an entry
    read from a validated study config comes back unchanged. Validity is not checked
    here (the plan refuses invalid configs before any job).
    """
    schema = load_schema()
    entry = copy.deepcopy(dict(entry))
    if section in ("targets", "models"):
        for _ in _FILLING(schema).iter_errors({section: {"entry": entry}}):
            pass
        return entry
    if section in schema["properties"]:  # a top-level section: evaluation, compute, figures
        for _ in _FILLING(schema).iter_errors({section: entry}):
            pass
        return entry
    if section not in schema["$defs"]:
        allowed = ", ".join(sorted({*schema["properties"], *schema["$defs"]}))
        raise ValueError(f"section must be one of {allowed}; got {section!r}")
    for _ in _FILLING({"$defs": schema["$defs"], "$ref": f"#/$defs/{section}"}).iter_errors(entry):
        pass
    return entry
