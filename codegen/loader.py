"""Load the schema files and check them, collecting every problem found."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .refs import inline


@dataclass(frozen=True)
class ToolDef:
    """One tool file, as written."""

    source: str  # path relative to the schemas folder, for messages
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def handler_module(self) -> str:
        return self.raw["handler"].split(".")[0]

    @property
    def handler_function(self) -> str:
        return self.raw["handler"].split(".")[1]

    @property
    def class_stem(self) -> str:
        """``kitaru_executions_get`` -> ``KitaruExecutionsGet``."""
        return "".join(part.capitalize() for part in self.name.split("_"))


@dataclass
class SchemaSet:
    """Everything under schemas/: shared definitions and tool files."""

    defs: dict[str, Any] = field(default_factory=dict)
    tools: list[ToolDef] = field(default_factory=list)
    contract_version: str = "0.0.0"
    toolsets: dict[str, str] = field(default_factory=dict)  # name -> heading, in order
    aliases: dict[str, list[str]] = field(default_factory=dict)
    lead_keys: list[str] = field(default_factory=list)  # result_layout.lead, in order


class SchemaErrors(Exception):
    """Raised with every problem found, each as ``file: path: reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _json_path(parts: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path.lstrip(".") or "(root)"


def _read_yaml(path: Path, problems: list[str], label: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.append(f"{label}: not valid YAML: {exc}")
        return None


def load(schemas_dir: Path) -> SchemaSet:
    """Read and validate every schema file; raise SchemaErrors listing all problems."""
    problems: list[str] = []
    result = SchemaSet()

    for path in sorted((schemas_dir / "defs").glob("*.yaml")):
        label = f"defs/{path.name}"
        data = _read_yaml(path, problems, label)
        if not isinstance(data, dict):
            problems.append(f"{label}: must be a mapping of definition name to JSON Schema")
            continue
        for name, schema in data.items():
            if name in result.defs:
                problems.append(f"{label}: {name}: defined twice")
            result.defs[name] = schema

    _load_contract_file(schemas_dir / "contract.yaml", result, problems)
    meta = json.loads((schemas_dir / "tool.schema.json").read_text(encoding="utf-8"))
    meta_validator = Draft202012Validator(meta)
    seen: set[str] = set()
    for path in sorted((schemas_dir / "tools").glob("*.yaml")):
        label = f"tools/{path.name}"
        data = _read_yaml(path, problems, label)
        if data is None:
            continue
        errors = sorted(meta_validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            for error in errors:
                error = best_match([error])
                problems.append(f"{label}: {_json_path(error.absolute_path)}: {error.message}")
            continue
        tool = ToolDef(source=label, raw=data)
        if tool.raw["group"] not in result.toolsets:
            known = ", ".join(result.toolsets)
            problems.append(f"{label}: group: '{tool.raw['group']}' is not a toolset ({known})")
        if path.stem != tool.name:
            problems.append(f"{label}: name: '{tool.name}' must match the file name '{path.stem}'")
        if tool.name in seen:
            problems.append(f"{label}: name: '{tool.name}' is defined twice")
        seen.add(tool.name)
        result.tools.append(tool)

    if not problems:
        problems.extend(_check_tools(result))
    if problems:
        raise SchemaErrors(problems)
    return result


def _load_contract_file(path: Path, result: SchemaSet, problems: list[str]) -> None:
    """contract.yaml: the contract version, the toolsets with their headings, aliases."""
    data = _read_yaml(path, problems, path.name)
    try:
        result.contract_version = str(data["contract_version"])
        result.toolsets = {str(t["name"]): str(t["heading"]) for t in data["toolsets"]}
        result.aliases = {str(k): [str(n) for n in v] for k, v in data.get("aliases", {}).items()}
        result.lead_keys = [str(key) for key in data.get("result_layout", {}).get("lead", [])]
    except (TypeError, KeyError, AttributeError) as exc:
        problems.append(f"{path.name}: needs contract_version and toolsets (name, heading): {exc}")
        return
    for alias, members in result.aliases.items():
        unknown = sorted(set(members) - set(result.toolsets))
        if unknown:
            problems.append(f"{path.name}: aliases.{alias}: unknown toolsets {unknown}")


def _check_tools(schemas: SchemaSet) -> list[str]:
    """Check references, schema validity and examples of every tool."""
    problems: list[str] = []
    try:  # the shared definitions once; each tool's parts below without them
        Draft202012Validator.check_schema({"$defs": schemas.defs})
    except Exception as exc:  # jsonschema.SchemaError
        problems.append(f"schemas/defs: not a valid JSON Schema: {exc}")
    for tool in schemas.tools:
        for part in ("input", "output"):
            document = {"$defs": schemas.defs, **tool.raw[part]}
            for ref in sorted(_refs(document)):
                if ref.removeprefix("#/$defs/") not in schemas.defs:
                    problems.append(f"{tool.source}: {part}: unknown reference {ref}")
            try:
                Draft202012Validator.check_schema(tool.raw[part])
            except Exception as exc:  # jsonschema.SchemaError
                problems.append(f"{tool.source}: {part}: not a valid JSON Schema: {exc}")
        if problems:
            continue
        output = inline(tool.raw["output"], schemas.defs)
        for where, name in sorted(_required_empty_in_entries(output)):
            problems.append(
                f"{tool.source}: output{where}: a repeated entry requires {name!r}, which may be "
                "null, [] or {}; entries leave such fields out (make it optional)"
            )
        for index, example in enumerate(tool.raw["examples"]):
            for part, key in (("input", "arguments"), ("output", "result")):
                validator = Draft202012Validator({"$defs": schemas.defs, **tool.raw[part]})
                for error in validator.iter_errors(example[key]):
                    where = _json_path(["examples", index, key, *error.absolute_path])
                    problems.append(f"{tool.source}: {where}: {error.message}")
    return problems


def _may_be_empty(schema: Any) -> bool:
    """Whether a value of ``schema`` may be null, an array or an object."""
    if not isinstance(schema, dict):
        return True
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds is None:
        options = schema.get("oneOf") or schema.get("anyOf")
        return True if not options else any(_may_be_empty(o) for o in options)
    return bool({"null", "array", "object"} & set(kinds))


def _required_empty_in_entries(
    node: Any, where: str = "", in_entry: bool = False
) -> set[tuple[str, str]]:
    """(path, field) of every required field of a repeated entry (an array's items, at any
    depth) that may be null, [] or {}: the result layout leaves those out of entries."""
    found: set[tuple[str, str]] = set()
    if isinstance(node, list):
        for option in node:
            found |= _required_empty_in_entries(option, where, in_entry)
        return found
    if not isinstance(node, dict):
        return found
    properties = node.get("properties", {})
    if in_entry:
        for name in node.get("required", []):
            if name in properties and _may_be_empty(properties[name]):
                found.add((where, name))
    for name, child in properties.items():
        found |= _required_empty_in_entries(child, f"{where}.{name}", in_entry)
    if isinstance(node.get("items"), dict):
        found |= _required_empty_in_entries(node["items"], f"{where}[]", True)
    for combinator in ("oneOf", "anyOf", "allOf"):
        found |= _required_empty_in_entries(node.get(combinator, []), where, in_entry)
    return found


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()
