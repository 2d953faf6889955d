"""Artifact tools: list an execution's artifacts, load one value as bounded JSON or a preview."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.generated import models
from kitaru_mcp.handlers import sdk, serialize, values

from kitaru_mcp import cursor
from kitaru_mcp.errors import Unsupported


def _artifact(ref: Any) -> dict[str, Any]:
    return {**serialize.artifact_ref(ref), "metadata": values.metadata(ref.metadata)}


def list_artifacts(params: models.KitaruArtifactsListInput) -> models.KitaruArtifactsListOutput:
    """The execution's artifacts, filtered by checkpoint and name, at most ``limit``."""
    with sdk.missing_execution(params.exec_id):
        found = sdk.client().artifacts.list(
            params.exec_id, name=params.name, producing_call=params.checkpoint
        )
    filters = {"exec_id": params.exec_id, "name": params.name, "checkpoint": params.checkpoint}
    page = cursor.paginate(
        [_artifact(ref) for ref in found], "artifact_id", params.limit, params.cursor, filters
    )
    return models.KitaruArtifactsListOutput.model_validate(
        {
            "exec_id": params.exec_id,
            "artifacts": page["items"],
            "count": len(page["items"]),
            "has_more": page["has_more"],
            "next_cursor": page["next_cursor"],
        }
    )


def _get_ref(artifact_id: str) -> Any:
    with sdk.not_found_as(
        f"No artifact with artifact_id {artifact_id!r}.",
        field="artifact_id",
        hint="List an execution's artifacts with kitaru_artifacts_list to find a valid id.",
    ):
        return sdk.client().artifacts.get(artifact_id)


def _is_import_failure(exc: BaseException) -> bool:
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return False
        if isinstance(current, ImportError | AttributeError):
            return True
        current = current.__cause__ or current.__context__
    return False


def get_artifact(params: models.KitaruArtifactsGetInput) -> models.KitaruArtifactsGetOutput:
    """Load the value; exact JSON when it fits, else a typed preview cut to ``max_bytes``."""
    ref = _get_ref(params.artifact_id)
    try:
        loaded = ref.load()
    except Exception as exc:
        if not _is_import_failure(exc):
            raise
        raise Unsupported(
            f"Artifact {params.artifact_id!r} ({ref.name}) holds a value whose type this "
            f"server cannot import: {exc}",
            field="artifact_id",
            hint=(
                "Start kitaru-mcp where the flow's code is importable (its project folder "
                "as working directory, or on PYTHONPATH); kitaru_artifacts_list still "
                "shows its metadata."
            ),
        ) from exc
    return models.KitaruArtifactsGetOutput.model_validate(
        {"artifact": _artifact(ref), **values.shape(loaded, params.max_bytes)}
    )
