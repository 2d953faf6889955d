"""A run on an orchestrator that runs flows elsewhere: reported at submission, never waited on
here (``gateway.runtime``'s submission hook, without ZenML), and left alone by the reaper."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kitaru_mcp.core import state
from kitaru_mcp.gateway import runtime
from kitaru_mcp.runs import reaper

pytestmark = pytest.mark.unit


def test_the_submission_is_reported_and_its_wait_dropped() -> None:
    reported: list[str] = []
    waits: list[str] = []
    result = SimpleNamespace(wait_for_completion=lambda: waits.append("waited"))

    def submit(**kwargs: object) -> SimpleNamespace:
        assert not reported, "reported only once the orchestrator accepted the run"
        return result

    submitted = runtime._reporting(submit, SimpleNamespace(id="e-remote"), reported.append)
    assert submitted(snapshot=None, stack=None) is result
    assert reported == ["e-remote"]
    assert result.wait_for_completion is None and waits == []


def test_a_failed_submission_reports_nothing() -> None:
    reported: list[str] = []

    def submit(**kwargs: object) -> None:
        raise RuntimeError("the cluster said no")

    submitted = runtime._reporting(submit, SimpleNamespace(id="e-remote"), reported.append)
    with pytest.raises(RuntimeError):
        submitted()
    assert reported == []


def test_the_reaper_never_fails_a_run_carried_elsewhere() -> None:
    state.write_json(
        state.record_path("e-away"), {"exec_id": "e-away", "pid": 999_999, "elsewhere": True}
    )
    failed: dict[str, str] = {}
    reaper.reconcile(fail=failed.__setitem__, status=lambda _: "running")
    assert "e-away" not in failed


def test_the_reaper_never_imports_kitaru_first_to_learn_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    # An earlier file in this worker may have imported Kitaru: hide it, as in a fresh server.
    monkeypatch.delitem(sys.modules, "kitaru.client", raising=False)
    zenml_before = "zenml" in sys.modules
    assert reaper._shared() is None, "not known yet: looked at again on the next pass"
    assert "kitaru.client" not in sys.modules
    assert ("zenml" in sys.modules) == zenml_before
