"""``$ref`` resolution: the shared definitions inlined where they are referenced."""

from __future__ import annotations

import copy
from typing import Any

PREFIX = "#/$defs/"


def inline(node: Any, defs: dict[str, Any]) -> Any:
    """Return ``node`` with every ``#/$defs/X`` reference replaced by X itself."""
    if isinstance(node, list):
        return [inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith(PREFIX):
        target = inline(copy.deepcopy(defs[node["$ref"][len(PREFIX) :]]), defs)
        siblings = {k: inline(v, defs) for k, v in node.items() if k != "$ref"}
        target.pop("examples", None)
        return {**target, **siblings}
    return {key: inline(value, defs) for key, value in node.items()}
