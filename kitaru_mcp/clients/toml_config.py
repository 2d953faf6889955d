"""Codex keeps its servers in TOML (``[mcp_servers.NAME]``); tomlkit keeps comments and order."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from kitaru_mcp.clients.files import ConfigError


def parse(path: Path, text: str | None) -> Any:
    """The file as a tomlkit document; ConfigError names the file and line."""
    if text is None:
        return tomlkit.document()
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc}); fix it and run again: it was left unchanged"
        ) from None
    return tomlkit.parse(text)


def servers(path: Path, doc: Any, key: str) -> Any:
    found = doc.get(key)
    if found is None:
        return None
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: {key!r} is not a table; left unchanged")
    return found


def get(path: Path, doc: Any, key: str, name: str) -> Any:
    table = servers(path, doc, key)
    if table is None or name not in table:
        return None
    value = table[name]
    return value.unwrap() if hasattr(value, "unwrap") else value


def put(path: Path, doc: Any, key: str, name: str, entry: dict[str, Any]) -> None:
    table = servers(path, doc, key)
    if table is None:
        table = tomlkit.table(is_super_table=True)
        doc[key] = table
    item: Table = tomlkit.table()
    item["command"] = entry["command"]
    item["args"] = list(entry.get("args", []))
    env = entry.get("env") or {}
    if env:
        env_table = tomlkit.table()
        for env_key, value in env.items():
            env_table[env_key] = value
        item["env"] = env_table
    if name in table:
        del table[name]
    table[name] = item


def remove(path: Path, doc: Any, key: str, name: str) -> bool:
    table = servers(path, doc, key)
    if table is None or name not in table:
        return False
    del table[name]
    return True


def dump(doc: Any) -> str:
    return tomlkit.dumps(doc)
