"""Render the config schema as a Markdown reference table (``qgenflow config-docs``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

__all__ = ["schema_rows", "render_config_docs"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        name = ref.split("/")[-1]
        node = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type_text(node: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    typ = node.get("type", "object" if "properties" in node else "")
    if isinstance(typ, list):
        typ = " or ".join(typ)
    if typ == "array":
        return f"list of {_type_text(node.get('items', {})) or 'values'}"
    return str(typ)


def _bounds_text(node: dict[str, Any]) -> str:
    parts = []
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{sym} {node[key]}")
    if "minItems" in node:
        parts.append(f"at least {node['minItems']} item(s)")
    return ", ".join(parts)


def schema_rows(schema: dict[str, Any], node: dict[str, Any] | None = None, prefix: str = "") -> Iterator[tuple[str, ...]]:
    """(key, type, bounds, default, required, description) for every key of the schema."""
    node = _resolve(schema, schema if node is None else node)
    required = set(node.get("required", []))
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(schema, sub)
        path = f"{prefix}{key}"
        default = json.dumps(sub["default"]) if "default" in sub else ""
        yield (path, _type_text(sub), _bounds_text(sub), default, "yes" if key in required else "", sub.get("description", ""))
        if "properties" in sub:
            yield from schema_rows(schema, sub, prefix=f"{path}.")
        entry = sub.get("additionalProperties")
        if isinstance(entry, dict):
            entry = _resolve(schema, entry)
            yield from schema_rows(schema, entry, prefix=f"{path}.<name>.")
            for branch in entry.get("allOf", []):
                kind = branch["if"]["properties"]["kind"]["const"]
                yield from schema_rows(schema, branch["then"], prefix=f"{path}.<name>[kind={kind}].")
        items = sub.get("items")
        if isinstance(items, dict) and "properties" in _resolve(schema, items):
            yield from schema_rows(schema, items, prefix=f"{path}[].")


def render_config_docs(schema_path: str | Path) -> str:
    """Markdown reference of every config key, generated from the JSON schema."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    lines = [
        "# Configuration reference",
        "",
        "Generated from `workflow/schemas/config.schema.yaml` by `qgenflow config-docs`; do not edit by hand.",
        "A config is validated against the schema before any job runs: unknown keys, values out of",
        "bounds and unknown kinds fail with a message naming the key.",
        "",
        "| key | type | bounds | default | required | description |",
        "|---|---|---|---|---|---|",
    ]
    for row in schema_rows(schema):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in (f"`{row[0]}`", *row[1:])) + " |")
    return "\n".join(lines) + "\n"
