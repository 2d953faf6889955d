"""Secret tools: list (metadata only) and create (values in, never out).

Secret values never appear in a result, an error message or the server log:
every failure is rebuilt here from a message with the values cut out, and
nothing from the backend's exception is chained to it.
"""

from __future__ import annotations

import re
from typing import Any

from kitaru_mcp.generated import models

from kitaru_mcp.calls import cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import (
    BackendUnavailable,
    Conflict,
    Internal,
    InvalidArgument,
    ToolFailure,
    logger,
)
from kitaru_mcp.gateway.ports import GatewayPort

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def list_secrets(
    gw: GatewayPort, params: models.KitaruSecretsListInput
) -> models.KitaruSecretsListOutput:
    """Names, ids and visibility, filtered by name; values are never fetched."""
    needle = (params.name_contains or "").lower()
    found = [s for s in gw.list_secrets() if needle in s["name"].lower()]
    page = cursor.paginate(
        found,
        "id",
        params.limit,
        params.cursor,
        {"name_contains": params.name_contains},
        current().max_result_chars,
    )
    return models.KitaruSecretsListOutput.model_validate(
        cursor.answer(page, "secrets", total=len(found))
    )


def _text_values(values: dict[str, Any]) -> dict[str, str]:
    """Values as the strings the backend stores; errors name the key, never the value."""
    text: dict[str, str] = {}
    for key, value in values.items():
        if not _KEY.match(key):
            raise InvalidArgument(
                f"values: key {key!r} is not an env-var style name.",
                field=f"values.{key}",
                hint="Use letters, digits and underscores, not starting with a digit.",
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value))
        if not isinstance(value, str | int | float) or str(value) == "":
            raise InvalidArgument(
                f"values.{key}: must be a non-empty string (value not shown).",
                field=f"values.{key}",
            )
        text[key] = str(value)
    return text


def _scrub(message: str, values: dict[str, str]) -> str:
    for value in sorted(values.values(), key=len, reverse=True):
        if value:
            message = message.replace(value, "***")
    return message


def _failure(exc: BaseException, name: str, values: dict[str, str]) -> ToolFailure:
    """The error ladder entry for a failed create, its message scrubbed of every value."""
    if isinstance(exc, ToolFailure):  # ours already (e.g. the server is down): keep its kind
        return type(exc)(_scrub(exc.message, values), field=exc.field, hint=exc.hint)
    kinds: set[str] = set()
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            break
        kinds |= {cls.__name__ for cls in type(current).__mro__}
        current = current.__cause__ or current.__context__
    message = _scrub(" ".join(str(exc).split())[:1000], values)
    if "EntityExistsError" in kinds or "already exists" in message:
        return Conflict(
            f"A secret named {name!r} already exists; nothing was changed.",
            field="name",
            hint="Pick another name (see kitaru_secrets_list).",
        )
    if kinds & {"KitaruUsageError", "ValidationError", "ValueError", "TypeError"}:
        return InvalidArgument(message, field="values")
    if kinds & {"ConnectionError", "MaxRetryError", "AuthorizationException", "TimeoutError"}:
        return BackendUnavailable(
            message, hint="Check the connection with kitaru_status, then try again."
        )
    logger.error("creating secret %r failed with %s", name, type(exc).__name__)
    return Internal(f"Creating secret {name!r} failed: {message}")


def create_secret(gw: GatewayPort, params: models.KitaruSecretsCreateInput) -> models.SecretSummary:
    """Create the secret; return its name, id and key names only."""
    values = _text_values(dict(params.values))
    try:
        created = gw.create_secret(params.name, values, private=bool(params.private))
    except Exception as exc:
        failure = _failure(exc, params.name, values)
    else:
        return models.SecretSummary.model_validate({**created, "keys": sorted(values)})
    raise failure  # outside the except block: the backend's exception is not chained to it
