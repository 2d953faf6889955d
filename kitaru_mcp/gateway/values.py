"""Python values -> exact JSON data, or NotJson. Pure Python: imports neither Kitaru nor ZenML.

``to_json`` converts only what has one faithful JSON form: str, int, float
(finite), bool, None, lists and tuples, dicts with string keys, pydantic models
(``model_dump(mode="json")``) and dataclass instances. Everything else (sets,
bytes, NaN, custom objects) raises NotJson. The gateway uses it for artifact
metadata; ``handlers.values`` for loaded artifact values.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

_MAX_DEPTH = 200
_MAX_METADATA_REPR = 2000


class NotJson(Exception):
    """The value has no faithful JSON form."""


def type_name(value: Any) -> str:
    """``module.QualName`` of the value's class."""
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


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a placeholder when its ``__repr__`` fails."""
    try:
        return repr(value)
    except Exception as exc:  # a broken __repr__ must not break the tool
        return f"<{type_name(value)} object; repr failed: {type(exc).__name__}>"


def metadata(values: dict[str, Any] | None) -> dict[str, Any]:
    """Artifact metadata as JSON: exact where possible, else the repr (metadata is small)."""
    result: dict[str, Any] = {}
    for key, item in (values or {}).items():
        try:
            result[str(key)] = to_json(item)
        except (NotJson, RecursionError):
            result[str(key)] = safe_repr(item)[:_MAX_METADATA_REPR]
    return result
