"""Idempotency claims in the Kitaru server: ZenML tags, and the runs that carry them.

The queries behind ``kitaru_mcp.runs.shared_keys`` (which names the tags and
decides). ZenML's tag names are unique in a server, so creating one is an
atomic claim. Public ZenML client calls (``create_tag``, ``list_tags``,
``update_tag``, ``delete_tag``, ``list_pipeline_runs(tags=...)``) except one:
a run's tags are added with ``zen_store.update_run(PipelineRunUpdate(add_tags))``,
the call ZenML's own tagging makes (pinned in ``tests/test_gateway_pins.py``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from kitaru_mcp.gateway.sdk import import_sdk
from kitaru_mcp.gateway.store_lock import ensure_store

PAGE = 100


def _epoch(moment: datetime) -> float:
    """ZenML's timestamps are naive UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _client() -> Any:
    import_sdk()
    from zenml.client import Client

    ensure_store()
    return Client()


class ServerClaims:
    """``shared_keys.ClaimStore`` on the connected Kitaru server."""

    def claims(self, prefix: str) -> list[tuple[str, float, float]]:
        """Every tag whose name starts with ``prefix``: (name, created, updated)."""
        page = _client().list_tags(name=f"startswith:{prefix}", size=PAGE)
        return [(tag.name, _epoch(tag.created), _epoch(tag.updated)) for tag in page.items]

    def create(self, name: str) -> bool:
        """Create the tag; False when it exists already (another replica claimed it)."""
        from zenml.exceptions import EntityExistsError

        try:
            _client().create_tag(name=name, color="grey")
        except EntityExistsError:
            return False
        return True

    def touch(self, name: str) -> None:
        """Bump the tag's ``updated`` (the claim's lease)."""
        _client().update_tag(name, color="grey")

    def release(self, name: str) -> None:
        with contextlib.suppress(KeyError):  # gone already
            _client().delete_tag(name)

    def tagged_execution(self, names: list[str]) -> str | None:
        """The exec_id of the newest run carrying one of ``names``, if any."""
        client = _client()
        for name in names:
            runs = client.list_pipeline_runs(tags=[name], size=1, sort_by="desc:created")
            if runs.items:
                return str(runs.items[0].id)
        return None

    def tag_execution(self, exec_id: str, name: str) -> None:
        """Add tag ``name`` to the run (a no-op when it has it)."""
        from zenml.models import PipelineRunUpdate

        client = _client()
        run = client.get_pipeline_run(exec_id, hydrate=False)
        client.zen_store.update_run(run.id, PipelineRunUpdate(add_tags=[name]))
