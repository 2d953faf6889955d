"""Loaded artifact values -> exact JSON, or a bounded, typed preview. Never raises.

``to_json`` converts only what has one faithful JSON form: str, int, float
(finite), bool, None, lists and tuples, dicts with string keys, pydantic models
(``model_dump(mode="json")``) and dataclass instances. Everything else (sets,
bytes, NaN, custom objects) is not JSON: ``shape`` then returns its repr as a
preview. Both paths are capped so a huge value never becomes a huge result.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

_MAX_DEPTH = 200


class NotJson(Exception):
    """The value has no faithful JSON form."""


def type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def to_json(value: Any, _depth: int = 0) -> Any:
    """The value as plain JSON data, or NotJson."""
    if _depth > _MAX_DEPTH:
        raise NotJson("nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass (e.g. a StrEnum) as its plain text
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson("not a finite number")
        return float(value)
    if isinstance(value, list | tuple):
        return [to_json(item, _depth + 1) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise NotJson("a key is not a string")
        return {str(key): to_json(item, _depth + 1) for key, item in value.items()}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and hasattr(type(value), "model_fields"):
        try:
            return to_json(model_dump(mode="json"), _depth + 1)
        except NotJson:
            raise
        except Exception as exc:
            raise NotJson(f"model_dump failed: {exc}") from exc
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_json(getattr(value, field.name), _depth + 1)
            for field in dataclasses.fields(value)
        }
    raise NotJson(f"{type_name(value)} has no JSON form")


def _cut(text: str, max_bytes: int) -> tuple[str, bool]:
    """Text cut to at most max_bytes of UTF-8 (never inside a character)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), True


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a broken __repr__ must not break the tool
        return f"<{type_name(value)} object; repr failed: {type(exc).__name__}>"


def shape(value: Any, max_bytes: int) -> dict[str, Any]:
    """The value_type/format/json_value/preview/size_bytes/truncated part of a result."""
    try:
        data = to_json(value)
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (NotJson, RecursionError, ValueError, TypeError):
        text = _safe_repr(value)
        preview, truncated = _cut(text, max_bytes)
        return {
            "value_type": type_name(value),
            "format": "repr",
            "json_value": None,
            "preview": preview,
            "size_bytes": len(text.encode("utf-8")),
            "truncated": truncated,
        }
    size = len(text.encode("utf-8"))
    if size <= max_bytes:
        return {
            "value_type": type_name(value),
            "format": "json",
            "json_value": data,
            "preview": None,
            "size_bytes": size,
            "truncated": False,
        }
    preview, _ = _cut(text, max_bytes)
    return {
        "value_type": type_name(value),
        "format": "json",
        "json_value": None,
        "preview": preview,
        "size_bytes": size,
        "truncated": True,
    }


def metadata(values: dict[str, Any] | None) -> dict[str, Any]:
    """Artifact metadata as JSON: exact where possible, else the repr (metadata is small)."""
    result: dict[str, Any] = {}
    for key, item in (values or {}).items():
        try:
            result[str(key)] = to_json(item)
        except (NotJson, RecursionError):
            result[str(key)] = _safe_repr(item)[:2000]
    return result
