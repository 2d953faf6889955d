"""Artifact tools: list an execution's artifacts, load one value as bounded JSON or a preview."""

from __future__ import annotations

import json
from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import values

from kitaru_mcp.calls import budget, cursor
from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import Unsupported
from kitaru_mcp.gateway.artifacts import ArtifactLoadFailed
from kitaru_mcp.gateway.ports import GatewayPort


def list_artifacts(
    gw: GatewayPort, params: models.KitaruArtifactsListInput
) -> models.KitaruArtifactsListOutput:
    """The execution's artifacts, filtered by checkpoint and name, one page of at most ``limit``."""
    found = gw.list_artifacts(params.exec_id, name=params.name, checkpoint=params.checkpoint)
    filters = {"exec_id": params.exec_id, "name": params.name, "checkpoint": params.checkpoint}
    page = cursor.paginate(
        found, "artifact_id", params.limit, params.cursor, filters, current().max_result_chars
    )
    return models.KitaruArtifactsListOutput.model_validate(
        cursor.answer(page, "artifacts", exec_id=params.exec_id)
    )


def is_import_failure(exc: BaseException | None) -> bool:
    """Whether an ImportError or AttributeError (a class that cannot be imported) caused it."""
    current = exc
    for _ in range(10):
        if current is None:
            return False
        if isinstance(current, ImportError | AttributeError):
            return True
        current = current.__cause__ or current.__context__
    return False


def fit_value(result: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """An artifacts_get result within ``max_chars`` of JSON: the value as a preview cut to
    the budget (``truncated``, with a note) when ``max_bytes`` alone let it be larger."""
    if budget.size(result) <= max_chars:
        return result
    text = result["preview"]
    if text is None:
        text = json.dumps(result["json_value"], ensure_ascii=False)
    cut = {**result, "json_value": None, "preview": "", "truncated": True}
    cut["note"] = (
        f"The value was cut to this server's result budget ({max_chars} characters of JSON, "
        "--max-result-chars), below max_bytes; size_bytes is its full size."
    )
    cut["preview"], _ = budget.cut_text(text, budget.room_for(cut, "preview", max_chars))
    return cut


def get_artifact(
    gw: GatewayPort, params: models.KitaruArtifactsGetInput
) -> models.KitaruArtifactsGetOutput:
    """Load the value; exact JSON when it fits, else a typed preview cut to ``max_bytes``
    (or to the result budget, when that is smaller)."""
    try:
        loaded = gw.load_artifact(params.artifact_id)
    except ArtifactLoadFailed as exc:
        failed = exc
    else:
        result = {"artifact": loaded.artifact, **values.shape(loaded.value, params.max_bytes)}
        return models.KitaruArtifactsGetOutput.model_validate(
            fit_value(result, current().max_result_chars)
        )
    cause = failed.__cause__ or failed
    if not is_import_failure(cause):
        raise cause  # outside the except block: the cause as it was, for the error boundary
    raise Unsupported(
        f"Artifact {params.artifact_id!r} ({failed.artifact['name']}) holds a value whose "
        f"type this server cannot import: {cause}",
        field="artifact_id",
        hint=(
            "Start kitaru-mcp where the flow's code is importable (its project folder "
            "as working directory, or on PYTHONPATH); kitaru_artifacts_list still "
            "shows its metadata."
        ),
    ) from cause
