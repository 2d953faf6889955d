"""Resolve ``$ref``s into the self-contained contract that clients see."""

from __future__ import annotations

from typing import Any

from .loader import SchemaSet
from .refs import PREFIX as _PREFIX
from .refs import inline


def contract(schemas: SchemaSet) -> dict[str, Any]:
    """The published contract: every tool with resolved input and output schemas."""
    tools = []
    for tool in sorted(schemas.tools, key=lambda t: t.name):
        raw = tool.raw
        tools.append(
            {
                "name": raw["name"],
                "title": raw["title"],
                "group": raw["group"],
                "description": " ".join(raw["description"].split()),
                "annotations": raw["annotations"],
                "errors": sorted(set(raw.get("errors", [])) | {"invalid_argument"}),
                "inputSchema": inline(raw["input"], schemas.defs),
                "outputSchema": inline(raw["output"], schemas.defs),
                "examples": raw["examples"],
                **({"timeoutSeconds": raw["timeoutSeconds"]} if "timeoutSeconds" in raw else {}),
                **({"_meta": {"ui": raw["ui"]}} if "ui" in raw else {}),
            }
        )
    return {
        "contract_version": schemas.contract_version,
        "resultLayout": {"lead": list(schemas.lead_keys)},
        "toolError": inline({"$ref": "#/$defs/ToolError"}, schemas.defs),
        "tools": tools,
    }


def model_document(schemas: SchemaSet) -> dict[str, Any]:
    """One JSON Schema document whose ``$defs`` become the pydantic models."""
    defs = dict(schemas.defs)
    for tool in schemas.tools:
        for part, suffix in (("input", "Input"), ("output", "Output")):
            schema = tool.raw[part]
            if "$ref" not in schema:
                defs[tool.class_stem + suffix] = schema
    return {"$defs": dict(sorted(defs.items()))}


def model_name(tool_schema: dict[str, Any], stem: str, suffix: str) -> str:
    """The generated class for a tool's input or output."""
    ref = tool_schema.get("$ref")
    return ref[len(_PREFIX) :] if ref else stem + suffix
