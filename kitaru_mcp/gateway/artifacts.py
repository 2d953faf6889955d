"""Artifacts: list an execution's artifacts, describe one, load its value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway import serialize, values
from kitaru_mcp.gateway.base import GatewayBase, missing_execution, not_found_as

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Artifact


@dataclass(frozen=True)
class LoadedArtifact:
    """An artifact (the Artifact shape, metadata included) and its loaded Python value."""

    artifact: Artifact
    value: Any


class ArtifactLoadFailed(Exception):
    """The artifact exists but its value did not load; ``__cause__`` holds why."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(f"artifact {artifact['artifact_id']} did not load")
        self.artifact = artifact


def _artifact(ref: Any) -> Artifact:
    return {**serialize.artifact_ref(ref), "metadata": values.metadata(ref.metadata)}


class ArtifactsGateway(GatewayBase):
    def list_artifacts(
        self, exec_id: str, *, name: str | None = None, checkpoint: str | None = None
    ) -> list[Artifact]:
        """The execution's artifacts (Artifact shape), filtered by name and producing checkpoint."""
        with missing_execution(exec_id):
            found = self.client().artifacts.list(exec_id, name=name, producing_call=checkpoint)
        return [_artifact(ref) for ref in found]

    def _artifact_ref(self, artifact_id: str) -> Any:
        with not_found_as(
            f"No artifact with artifact_id {artifact_id!r}.",
            field="artifact_id",
            hint="List an execution's artifacts with kitaru_artifacts_list to find a valid id.",
        ):
            return self.client().artifacts.get(artifact_id)

    def load_artifact(self, artifact_id: str) -> LoadedArtifact:
        """The artifact and its value; ArtifactLoadFailed (from the cause) when loading fails."""
        ref = self._artifact_ref(artifact_id)
        artifact = _artifact(ref)
        try:
            value = ref.load()
        except Exception as exc:  # e.g. the value's class is not importable here
            raise ArtifactLoadFailed(artifact) from exc
        return LoadedArtifact(artifact=artifact, value=value)
