# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""Artifact kinds on a server connection: batched listings, and the SDK's way as fallback."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from kitaru_mcp.gateway import server_reads

pytestmark = pytest.mark.unit


class _Version:
    """An artifact version: its metadata as a hydrated one has it."""

    def __init__(self, artifact_id: str, kind: str | None) -> None:
        self.id = artifact_id
        self.run_metadata = {"kitaru_artifact_type": kind} if kind else {}


class _Client:
    """KitaruClient's ``_client()`` and ``_project``, answering ``oneof`` listings."""

    _project = "p1"

    def __init__(self, stored: dict[str, str], refuse: bool = False) -> None:
        self.stored, self.refuse, self.listings = stored, refuse, []

    def _client(self) -> Any:
        return self

    def list_artifact_versions(self, *, id: str, project: str, hydrate: bool, size: int) -> Any:
        if self.refuse:
            raise ValueError("unknown filter operation: oneof")
        wanted = json.loads(id.removeprefix("oneof:"))
        assert hydrate and project == "p1" and size == len(wanted) <= 100
        self.listings.append(wanted)
        found = [_Version(i, self.stored[i]) for i in wanted if i in self.stored]
        return SimpleNamespace(items=found)


def _artifacts(count: int) -> list[Any]:
    # unhydrated versions: their own metadata is what a lone request would read
    return [_Version(f"a{n:03}", "lone") for n in range(count)]


def test_kinds_come_100_artifacts_per_request() -> None:
    artifacts = _artifacts(250)
    client = _Client({a.id: "output" for a in artifacts})
    kinds = server_reads._artifact_kinds(client, artifacts + artifacts[:5])  # repeats once
    assert [len(ids) for ids in client.listings] == [100, 100, 50]
    assert set(kinds.values()) == {"output"} and len(kinds) == 250


def test_an_artifact_a_listing_leaves_out_is_read_on_its_own() -> None:
    artifacts = _artifacts(3)
    client = _Client({"a000": "context", "a002": "output"})
    assert server_reads._artifact_kinds(client, artifacts) == {
        "a000": "context",
        "a001": "lone",
        "a002": "output",
    }


def test_a_server_without_oneof_gets_the_sdks_requests() -> None:
    client = _Client({}, refuse=True)
    assert server_reads._artifact_kinds(client, _artifacts(2)) == {"a000": "lone", "a001": "lone"}
    assert server_reads._artifact_kinds(client, []) == {}
