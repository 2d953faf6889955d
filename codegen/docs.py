"""The rows of docs/tools.md, computed here so the template only lays them out.

Inputs are described from the bundled contract (references resolved, so an
enum shows its values); outputs from the tool files as written, so a shared
shape keeps its name and links to its own table under "Shared shapes".
"""

from __future__ import annotations

import json
from typing import Any

from kitaru_mcp.auth.scopes import scope_for

from .loader import SchemaSet, ToolDef
from .text import summary

_PREFIX = "#/$defs/"

# What each ToolError code tells the caller (the ladder in kitaru_mcp/core/errors.py).
ERROR_MEANINGS = {
    "not_found": "the execution, flow, wait or other object named does not exist",
    "invalid_argument": "an argument breaks the input schema or a rule of the tool; "
    "`field` names it",
    "conflict": "the object is not in a state that allows this (e.g. already finished)",
    "backend_unavailable": "the Kitaru server or store cannot be reached (retryable)",
    "timeout": "the backend was too slow to answer (retryable)",
    "unsupported": "this connection or stack cannot do it",
    "internal": "an unexpected failure; the server log has details",
}

_CONSTRAINTS = {
    "minimum": "≥ {}",
    "exclusiveMinimum": "> {}",
    "maximum": "≤ {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "pattern": "matches `{}`",
    "minItems": "items ≥ {}",
    "maxItems": "items ≤ {}",
}


def _cell(text: str) -> str:
    """One table cell: a single line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(def_name: str) -> str:
    return f"shape-{def_name.lower()}"


def _is_shape(schema: dict[str, Any]) -> bool:
    """A shared definition worth its own table: an object with named fields."""
    return bool(schema.get("properties"))


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref[len(_PREFIX) :] if isinstance(ref, str) and ref.startswith(_PREFIX) else None


def type_label(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short, readable type: enum values, unions, arrays, links to shared shapes."""
    name = _ref_name(schema)
    if name is not None:
        target = defs[name]
        return f"[`{name}`](#{_anchor(name)})" if _is_shape(target) else type_label(target, defs)
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(type_label(option, defs) for option in schema[combinator])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {type_label(schema.get('items', {}), defs)}"
    if kind == "object" and not schema.get("properties"):
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values:
            return f"object of {type_label(values, defs)}"
    return kind


def _constraints(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    name = _ref_name(schema)
    if name is not None and not _is_shape(defs[name]):
        schema = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return ", ".join(fmt.format(schema[key]) for key, fmt in _CONSTRAINTS.items() if key in schema)


def _description(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    text = schema.get("description")
    name = _ref_name(schema)
    if not text and name is not None:
        text = defs[name].get("description", "")
    return _cell(text or "")


def field_rows(
    schema: dict[str, Any], defs: dict[str, Any], prefix: str = ""
) -> list[dict[str, str]]:
    """One row per property; inline objects add dotted rows for their own fields."""
    name = _ref_name(schema)
    if name is not None and not prefix:
        schema = defs[name]
    required = set(schema.get("required", []))
    rows: list[dict[str, str]] = []
    for field, prop in schema.get("properties", {}).items():
        path = f"{prefix}{field}"
        rows.append(
            {
                "name": path,
                "type": type_label(prop, defs),
                "required": "yes" if field in required else "no",
                "default": json.dumps(prop["default"]) if "default" in prop else "",
                "constraints": _cell(_constraints(prop, defs)),
                "description": _description(prop, defs),
            }
        )
        if prop.get("properties") and _ref_name(prop) is None:
            rows.extend(field_rows(prop, defs, prefix=f"{path}."))
    return rows


def _shapes_used(node: Any, defs: dict[str, Any], found: set[str]) -> set[str]:
    """Names of the shared object shapes reachable from ``node``."""
    if isinstance(node, list):
        for item in node:
            _shapes_used(item, defs, found)
    elif isinstance(node, dict):
        name = _ref_name(node)
        if name is not None and name not in found:
            if _is_shape(defs[name]):
                found.add(name)
            _shapes_used(defs[name], defs, found)
        for key, value in node.items():
            if key != "$ref":
                _shapes_used(value, defs, found)
    return found


def _when_to_use(description: str) -> str:
    text = " ".join(description.split())
    return text[len(summary(text)) :].strip()


_HINTS = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]


def _hint_names(annotations: dict[str, bool]) -> list[str]:
    return [h for h in _HINTS if h in annotations] + sorted(set(annotations) - set(_HINTS))


def tool_page(entry: dict[str, Any], tool: ToolDef, defs: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows for one tool."""
    output = tool.raw["output"]
    output_ref = _ref_name(output)
    input_schema = entry["inputSchema"]
    return {
        "name": entry["name"],
        "title": entry["title"],
        "group": entry["group"],
        "purpose": summary(entry["description"]),
        "when": _when_to_use(entry["description"]),
        "read_only": entry["annotations"]["readOnlyHint"],
        "scope": scope_for(entry["annotations"]),
        "annotation_names": _hint_names(entry["annotations"]),
        "annotation_values": [
            "yes" if entry["annotations"][hint] else "no"
            for hint in _hint_names(entry["annotations"])
        ],
        "input_rows": field_rows(input_schema, {}),
        "input_closed": input_schema.get("additionalProperties") is False,
        "output_shape": f"[`{output_ref}`](#{_anchor(output_ref)})" if output_ref else "",
        "output_rows": field_rows(output, defs),
        "output_schema": entry["outputSchema"],
        "errors": [{"code": code, "meaning": ERROR_MEANINGS[code]} for code in entry["errors"]],
        "examples": [
            {
                "title": example["title"],
                "arguments": json.dumps(example["arguments"], ensure_ascii=False),
                "result": example["result"],
            }
            for example in entry["examples"]
        ],
        "source": tool.source,
    }


def index(pages: list[dict[str, Any]], headings: dict[str, str]) -> list[dict[str, Any]]:
    """The tools grouped for the index, toolsets in the order schemas/contract.yaml lists them."""
    groups = []
    for group, heading in headings.items():
        members = [p for p in pages if p["group"] == group]
        if members:
            groups.append({"group": group, "heading": heading, "tools": members})
    return groups


def shapes(schemas: SchemaSet) -> list[dict[str, Any]]:
    """The shared object shapes the outputs use, sorted by name, with their field tables."""
    found: set[str] = set()
    for tool in schemas.tools:
        _shapes_used(tool.raw["output"], schemas.defs, found)
    found.discard("ToolError")
    return [
        {
            "name": name,
            "anchor": _anchor(name),
            "description": _cell(schemas.defs[name].get("description", "")),
            "rows": field_rows(schemas.defs[name], schemas.defs),
        }
        for name in sorted(found)
    ]


def docs_context(schemas: SchemaSet, bundle: dict[str, Any]) -> dict[str, Any]:
    """The template's whole input for docs/tools.md."""
    codes = bundle["toolError"]["properties"]["code"]["enum"]
    missing = sorted(set(codes) - set(ERROR_MEANINGS))
    if missing:
        raise ValueError(f"codegen/docs.py ERROR_MEANINGS lacks: {', '.join(missing)}")
    by_name = {tool.name: tool for tool in schemas.tools}
    pages = [tool_page(entry, by_name[entry["name"]], schemas.defs) for entry in bundle["tools"]]
    return {
        "contract_version": bundle["contract_version"],
        "lead_keys": bundle["resultLayout"]["lead"],
        "groups": index(pages, schemas.toolsets),
        "tools": pages,
        "shapes": shapes(schemas),
        "error_rows": field_rows(bundle["toolError"], {}),
        "error_codes": [{"code": code, "meaning": ERROR_MEANINGS[code]} for code in codes],
        "tool_error": bundle["toolError"],
    }
