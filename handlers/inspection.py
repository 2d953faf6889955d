"""What the inspection tools (statistics, diff, cohort) share: time windows, JSON values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kitaru_mcp.core.errors import InvalidArgument

PREVIEW_CHARS = 300


def instant(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time as a naive UTC datetime (how the store records times)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"{field}: {value!r} is not an ISO 8601 time.",
            field=field,
            hint="Use e.g. 2026-11-01, 2026-11-01T08:00:00 or 2026-11-01T08:00:00+02:00.",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def window(
    since_text: str | None, until_text: str | None
) -> tuple[datetime | None, datetime | None]:
    """(since, until) as naive UTC; InvalidArgument when unreadable or reversed."""
    since, until = instant(since_text, "since"), instant(until_text, "until")
    if since is not None and until is not None and since > until:
        raise InvalidArgument(
            f"since ({since.isoformat()}) is later than until ({until.isoformat()}).",
            field="since",
        )
    return since, until


def bounded(value: Any) -> Any:
    """A JSON value as is when small, else a preview string of it."""
    text = json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    if len(text) <= PREVIEW_CHARS:
        return json.loads(text)
    return text[:PREVIEW_CHARS] + "…"


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values (key order ignored)."""
    return json.dumps(left, default=str, sort_keys=True) == json.dumps(
        right, default=str, sort_keys=True
    )
