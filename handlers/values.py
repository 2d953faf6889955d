"""Loaded artifact values -> exact JSON, or a bounded, typed preview. Never raises.

A value with a faithful JSON form (``gateway.values.to_json``) is returned as
JSON when it fits in ``max_bytes``, else as a cut JSON text; anything else
(sets, bytes, NaN, custom objects) as its repr, cut the same way. Both paths
are capped, so a huge value never becomes a huge result.
"""

from __future__ import annotations

import json
from typing import Any

from kitaru_mcp.gateway.values import NotJson, safe_repr, to_json, type_name


def cut(text: str, max_bytes: int) -> tuple[str, bool]:
    """Text cut to at most max_bytes of UTF-8 (never inside a character), and whether it was."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), True


def shape(value: Any, max_bytes: int) -> dict[str, Any]:
    """The value_type/format/json_value/preview/size_bytes/truncated part of a result."""
    try:
        data = to_json(value)
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        fmt = "json"
    except (NotJson, RecursionError, ValueError, TypeError):
        data, text, fmt = None, safe_repr(value), "repr"
    size = len(text.encode("utf-8"))
    fits = fmt == "json" and size <= max_bytes
    preview, truncated = (None, False) if fits else cut(text, max_bytes)
    return {
        "value_type": type_name(value),
        "format": fmt,
        "json_value": data if fits else None,
        "preview": preview,
        "size_bytes": size,
        "truncated": truncated,
    }
