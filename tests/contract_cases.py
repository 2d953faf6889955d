"""Test cases derived from generated/contract.json alone, so they cover every tool.

- ``invalid_cases``: for each tool, arguments that break its input schema in
  exactly one place (wrong type, missing required field, unknown enum value,
  number out of range, string too short or too long or off-pattern, unknown
  field), each with the ``field`` the error must name.
- ``example_calls`` / ``substitute``: the schema examples of read-only tools,
  with example ids replaced by real ones from the test store.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = json.loads((ROOT / "generated" / "contract.json").read_text(encoding="utf-8"))
EXTRA_FIELD = "unexpected_field"

# One value of each JSON type, tried in this order for a wrong-type case.
_WRONG_VALUES: list[tuple[str, Any]] = [
    ("integer", 12345),
    ("string", "not-the-right-type"),
    ("boolean", True),
    ("array", [1, 2]),
    ("object", {"nested": 1}),
    ("null", None),
]


@dataclass(frozen=True)
class InvalidCase:
    tool: str
    kind: str
    field: str
    arguments: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.tool}:{self.kind}:{self.field}"


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property admits; integers count as numbers."""
    found: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(kind)
    for value in schema.get("enum", []) + ([schema["const"]] if "const" in schema else []):
        found.add(_json_type(value))
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= _types(option)
    if "number" in found:
        found.add("integer")
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _bad_values(schema: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """(kind, value) pairs, each breaking ``schema`` in one way."""
    found: list[tuple[str, Any]] = []
    allowed = _types(schema)
    if allowed:
        wrong = [(kind, value) for kind, value in _WRONG_VALUES if kind not in allowed]
        if wrong:
            found.append(("wrong_type", wrong[0][1]))
    if isinstance(schema.get("enum"), list) and all(isinstance(v, str) for v in schema["enum"]):
        found.append(("unknown_enum", f"not_a_{name}_value"))
    declared = schema.get("type")
    declared = {declared} if isinstance(declared, str) else set(declared or [])
    integer_only = "integer" in declared and "number" not in declared
    if integer_only:
        found.append(("not_integer", 1.5))
    step = 1 if integer_only else 0.5
    if "minimum" in schema:
        found.append(("below_minimum", schema["minimum"] - step))
    if "exclusiveMinimum" in schema:
        found.append(("below_minimum", schema["exclusiveMinimum"]))
    if "maximum" in schema:
        found.append(("above_maximum", schema["maximum"] + step))
    if "exclusiveMaximum" in schema:
        found.append(("above_maximum", schema["exclusiveMaximum"]))
    if schema.get("minLength", 0) > 0:
        found.append(("too_short", "x" * (schema["minLength"] - 1)))
    if "maxLength" in schema:
        found.append(("too_long", "x" * (schema["maxLength"] + 1)))
    if "pattern" in schema:
        found.append(("off_pattern", "!! not matching !!"))
    validator = Draft202012Validator(schema)
    return [(kind, value) for kind, value in found if not validator.is_valid(value)]


def _baseline(tool: dict[str, Any]) -> dict[str, Any]:
    """Valid arguments to break one field at a time: the first example's."""
    return copy.deepcopy(tool["examples"][0]["arguments"])


def _object_cases(
    tool: str, schema: dict[str, Any], valid: dict[str, Any], path: list[str]
) -> list[tuple[str, str, list[str], Any]]:
    """(kind, field, path to the changed value, new value or _MISSING) for one object level."""
    label = ".".join(path)
    found: list[tuple[str, str, list[str], Any]] = []
    for name in schema.get("required", []):
        found.append(("missing_required", f"{label}.{name}".lstrip("."), [*path, name], _MISSING))
    if schema.get("additionalProperties") is False:
        extra = f"{label}.{EXTRA_FIELD}".lstrip(".")
        found.append(("extra_property", extra, [*path, EXTRA_FIELD], "surprise"))
    for name, prop in schema.get("properties", {}).items():
        field = f"{label}.{name}".lstrip(".")
        for kind, value in _bad_values(prop, name):
            found.append((kind, field, [*path, name], value))
        if prop.get("type") == "object" and prop.get("properties"):
            inner = valid.get(name)
            if not isinstance(inner, dict):
                if prop.get("required"):
                    continue  # no valid object to start from: its own fields are not probed
                inner = {}
            found.extend(_object_cases(tool, prop, inner, [*path, name]))
    return found


class _Missing:
    pass


_MISSING = _Missing()


def _apply(arguments: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(arguments)
    node = changed
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if value is _MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return changed


def invalid_cases(contract: dict[str, Any] = CONTRACT) -> list[InvalidCase]:
    cases: list[InvalidCase] = []
    for tool in contract["tools"]:
        schema = tool["inputSchema"]
        valid = _baseline(tool)
        for kind, field, path, value in _object_cases(tool["name"], schema, valid, []):
            arguments = _apply(valid, path, value)
            assert not Draft202012Validator(schema).is_valid(arguments), (tool["name"], kind)
            cases.append(InvalidCase(tool["name"], kind, field, arguments))
    return cases


def read_only_examples(contract: dict[str, Any] = CONTRACT) -> list[tuple[str, int]]:
    """(tool, example index) for every example of every read-only tool."""
    return [
        (tool["name"], index)
        for tool in contract["tools"]
        if tool["annotations"]["readOnlyHint"]
        for index in range(len(tool["examples"]))
    ]


def tool_spec(name: str, contract: dict[str, Any] = CONTRACT) -> dict[str, Any]:
    return next(tool for tool in contract["tools"] if tool["name"] == name)


def substitute(example: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The example's arguments with its made-up ids replaced by real ones.

    ``exec_id`` becomes a real execution in the status the example's result
    shows (completed when it shows none); any other argument named like a key
    of ``ids`` (e.g. ``artifact_id``) takes that id.
    """
    status = example["result"].get("status")
    status = status if isinstance(status, str) else None  # diff: a comparison, not a status
    arguments = copy.deepcopy(example["arguments"])
    for key in arguments:
        if key == "exec_id":
            arguments[key] = ids.get(status or "completed", ids["completed"])
        elif key == "other_exec_id":
            arguments[key] = ids.get("failed", ids["completed"])
        elif key in ids:
            arguments[key] = ids[key]
    return arguments


def example_plan(ids: dict[str, str], contract: dict[str, Any] = CONTRACT) -> list[dict[str, Any]]:
    """Every example of every tool with real ids, for a client to run (read-only ones only)."""
    return [
        {
            "tool": tool["name"],
            "title": example["title"],
            "arguments": substitute(example, ids),
        }
        for tool in contract["tools"]
        for example in tool["examples"]
    ]
