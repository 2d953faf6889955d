"""Breaking-change check: the current contract against the last released one.

A client written against a released contract must keep working. So, with
inputs read contravariantly and outputs covariantly, these are breaking:

- a tool removed, or its annotations weakened (no longer read-only or
  idempotent, newly destructive);
- an input field removed or renamed, a newly required input field, an input
  type, enum, bound, length or pattern that rejects what it accepted, unknown
  input fields newly rejected;
- an output field removed or no longer always present, an output type or enum
  that allows what it never sent, or an output bound relaxed.

Breaking changes are allowed only with a new major ``contract_version``.
Run ``python -m kitaru_mcp.codegen.compat RELEASED CURRENT`` to compare any two
contract files; ``python -m kitaru_mcp.codegen --check`` runs it against
``contract/released.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ALL_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
# keyword -> True when a larger value accepts more (an upper bound)
_BOUNDS = {
    "minimum": False,
    "exclusiveMinimum": False,
    "minLength": False,
    "minItems": False,
    "minProperties": False,
    "maximum": True,
    "exclusiveMaximum": True,
    "maxLength": True,
    "maxItems": True,
    "maxProperties": True,
}
# annotation -> the released value a client may rely on
_SAFE_HINTS = {"readOnlyHint": True, "idempotentHint": True, "destructiveHint": False}


@dataclass
class Report:
    """What changed between two contracts."""

    released_version: str
    current_version: str
    breaking: list[str] = field(default_factory=list)
    additions: list[str] = field(default_factory=list)

    @property
    def major_bumped(self) -> bool:
        return _semver(self.current_version)[0] > _semver(self.released_version)[0]

    def problems(self) -> list[str]:
        """Why the current contract may not ship as it is (empty: it may)."""
        released, current = _semver(self.released_version), _semver(self.current_version)
        if current < released:
            return [
                f"contract_version {self.current_version} is older than the released "
                f"{self.released_version}"
            ]
        if self.breaking and not self.major_bumped:
            return self.breaking
        return []


def _semver(version: str) -> tuple[int, int, int]:
    parts = version.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"contract_version {version!r} is not MAJOR.MINOR.PATCH")
    return int(parts[0]), int(parts[1]), int(parts[2])


def _types(schema: Any) -> frozenset[str]:
    """The JSON types a schema admits (integer counted inside number)."""
    if not isinstance(schema, dict):
        return _ALL_TYPES if schema is not False else frozenset()
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        found = frozenset(json_type(v) for v in values)
    elif isinstance(schema.get("type"), str):
        found = frozenset({schema["type"]})
    elif isinstance(schema.get("type"), list):
        found = frozenset(schema["type"])
    else:
        found = _ALL_TYPES
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            union = frozenset().union(*(_types(option) for option in schema[combinator]))
            found = found & union if found != _ALL_TYPES else union
    return found | {"integer"} if "number" in found else found


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if "enum" in schema else None


def _variants(schema: dict[str, Any]) -> dict[frozenset[str], dict[str, Any]]:
    """oneOf/anyOf options keyed by the types they admit, to pair old with new."""
    options = schema.get("oneOf") or schema.get("anyOf") or []
    return {_types(option): option for option in options if isinstance(option, dict)}


def _compare(old: Any, new: Any, where: str, side: str, out: list[str]) -> None:
    """Append to ``out`` every way ``new`` breaks a client of ``old``.

    ``side`` is "input" (new must accept all old accepted) or "output" (new
    must send nothing old could not).
    """
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    narrower, wider = (new, old) if side == "input" else (old, new)
    lost = sorted(_types(wider) - _types(narrower))
    if lost:
        verb = "no longer accepts" if side == "input" else "may now send"
        out.append(f"{where}: {verb} type {', '.join(lost)}")

    old_values, new_values = _values(old), _values(new)
    wide_values, narrow_values = (
        (old_values, new_values) if side == "input" else (new_values, old_values)
    )
    if narrow_values is not None:
        if wide_values is None:
            what = "now limited to" if side == "input" else "no longer limited to"
            out.append(f"{where}: {what} {json.dumps(narrow_values)}")
        else:
            missing = [v for v in wide_values if v not in narrow_values]
            if missing:
                verb = "no longer accepts" if side == "input" else "may now send"
                out.append(f"{where}: {verb} {', '.join(json.dumps(v) for v in missing)}")

    for keyword, upper in _BOUNDS.items():
        tight, loose = narrower.get(keyword), wider.get(keyword)
        if tight is None:
            continue
        if loose is None or (tight < loose if upper else tight > loose):
            before = "none" if (old.get(keyword)) is None else old.get(keyword)
            after = "none" if new.get(keyword) is None else new.get(keyword)
            out.append(f"{where}: {keyword} changed from {before} to {after}")

    if narrower.get("pattern") is not None and narrower.get("pattern") != wider.get("pattern"):
        out.append(
            f"{where}: pattern changed from {old.get('pattern')!r} to {new.get('pattern')!r}"
        )

    _compare_object(old, new, where, side, out)
    if isinstance(old.get("items"), dict):
        _compare(old["items"], new.get("items", {}), f"{where}[]", side, out)
    new_variants = _variants(new)
    for kinds, option in _variants(old).items():
        if kinds in new_variants:
            _compare(option, new_variants[kinds], where, side, out)


def _compare_object(
    old: dict[str, Any], new: dict[str, Any], where: str, side: str, out: list[str]
) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    prefix = f"{where}." if where else ""
    for name in old_props:
        if name not in new_props:
            if side == "input":
                out.append(f"{prefix}{name}: input field removed or renamed")
            else:
                out.append(f"{prefix}{name}: output field removed")
        else:
            if side == "output" and name in old_required and name not in new_required:
                out.append(f"{prefix}{name}: output field no longer always present")
            _compare(old_props[name], new_props[name], f"{prefix}{name}", side, out)
    if side == "input":
        for name in sorted(new_required - old_required):
            out.append(f"{prefix}{name}: input field newly required")
        if (
            old.get("additionalProperties") is not False
            and new.get("additionalProperties") is False
            and old.get("type") == "object"
        ):
            out.append(f"{where or '(arguments)'}: unknown fields newly rejected")


def compare(released: dict[str, Any], current: dict[str, Any]) -> Report:
    """Every breaking change (and the additions) from ``released`` to ``current``."""
    report = Report(released["contract_version"], current["contract_version"])
    old_tools = {tool["name"]: tool for tool in released["tools"]}
    new_tools = {tool["name"]: tool for tool in current["tools"]}
    for name in sorted(set(new_tools) - set(old_tools)):
        report.additions.append(f"tool {name} added")
    for name, old in sorted(old_tools.items()):
        new = new_tools.get(name)
        if new is None:
            report.breaking.append(f"{name}: tool removed")
            continue
        for hint, safe in _SAFE_HINTS.items():
            was, now = old["annotations"].get(hint), new["annotations"].get(hint)
            if was == safe and now != safe:
                report.breaking.append(f"{name}: annotation {hint} changed from {was} to {now}")
        found: list[str] = []
        _compare(old["inputSchema"], new["inputSchema"], "", "input", found)
        report.breaking.extend(f"{name}: input {item}" for item in found)
        found = []
        _compare(old["outputSchema"], new["outputSchema"], "", "output", found)
        report.breaking.extend(f"{name}: output {item}" for item in found)
        for part in ("inputSchema", "outputSchema"):
            added = sorted(
                set(new[part].get("properties", {})) - set(old[part].get("properties", {}))
            )
            report.additions.extend(f"{name}: {part[:-6]} field {field} added" for field in added)
    found = []
    _compare(released.get("toolError", {}), current.get("toolError", {}), "", "output", found)
    report.breaking.extend(f"tool error {item}" for item in found)
    return report


def check_files(released_path: Path, current: dict[str, Any]) -> tuple[list[str], Report | None]:
    """Problems of ``current`` against the released file (none when there is no such file)."""
    if not released_path.exists():
        return [], None
    released = json.loads(released_path.read_text(encoding="utf-8"))
    report = compare(released, current)
    return report.problems(), report


def explain(problems: list[str], report: Report, released_label: str) -> list[str]:
    """The lines to print when the check fails."""
    major = _semver(report.released_version)[0] + 1
    return [
        f"{len(problems)} breaking change(s) against {released_label} "
        f"(contract {report.released_version}, now {report.current_version}):",
        *(f"  {problem}" for problem in problems),
        "Undo them, or release a new major contract: set contract_version in schemas/contract.yaml "
        f"to {major}.0.0, regenerate, and (once released) run "
        "`python -m kitaru_mcp.codegen --release`.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kitaru_mcp.codegen.compat",
        description="List breaking changes between two contract.json files.",
    )
    parser.add_argument("released", type=Path)
    parser.add_argument("current", type=Path)
    args = parser.parse_args(argv)
    current = json.loads(args.current.read_text(encoding="utf-8"))
    problems, report = check_files(args.released, current)
    if report is None:
        print(f"{args.released} does not exist", file=sys.stderr)
        return 2
    for line in report.additions:
        print(f"added: {line}")
    for line in report.breaking:
        print(f"breaking: {line}")
    if problems:
        print("\n".join(explain(problems, report, str(args.released))), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
