"""Clients that keep their servers in a JSON file (all but Codex)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kitaru_mcp.clients.files import ConfigError


def parse(path: Path, text: str | None) -> dict[str, Any]:
    """The file as a dict ({} when missing or empty); ConfigError names the file and line."""
    if text is None or not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        commented = "//" in text or "/*" in text
        note = (
            " (comments and trailing commas are not JSON: add the entry by hand)"
            if commented
            else ""
        )
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"fix it and run again: it was left unchanged{note}"
        ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} holds a JSON {type(doc).__name__}, not an object; unchanged")
    return doc


def servers(path: Path, doc: dict[str, Any], key: str) -> dict[str, Any] | None:
    found = doc.get(key)
    if found is None:
        return None
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: {key!r} is not an object; left unchanged")
    return found


def get(path: Path, doc: dict[str, Any], key: str, name: str) -> Any:
    table = servers(path, doc, key)
    return None if table is None else table.get(name)


def put(path: Path, doc: dict[str, Any], key: str, name: str, entry: dict[str, Any]) -> None:
    table = servers(path, doc, key)
    if table is None:
        table = doc[key] = {}
    table[name] = entry


def remove(path: Path, doc: dict[str, Any], key: str, name: str) -> bool:
    table = servers(path, doc, key)
    if table is None or name not in table:
        return False
    del table[name]
    return True


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
