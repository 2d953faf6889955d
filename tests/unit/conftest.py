"""The unit tier: no server, no store, no Kitaru import; handlers get a fake gateway."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_mcp.calls.context import CallContext, _current, activate
from unit.fakes import FakeGateway, FakeRuns, execution


@pytest.fixture
def gw() -> FakeGateway:
    """Three executions of two flows: newest first is c, b, a."""
    return FakeGateway(
        [
            execution("aaaa0001", flow="greet", status="completed", minutes=0),
            execution("bbbb0002", flow="greet", status="failed", minutes=1),
            execution("cccc0003", flow="sum", status="running", minutes=2),
        ]
    )


@pytest.fixture(autouse=True)
def _no_kitaru_import():
    """A unit test that imports Kitaru or ZenML fails: the tier must stay fast.

    (In a whole-suite run a worker may have imported them for an earlier file;
    the check then has nothing to tell.)
    """
    before = {name for name in ("kitaru", "zenml") if name in sys.modules}
    yield
    leaked = sorted(n for n in ("kitaru", "zenml") if n in sys.modules and n not in before)
    assert not leaked, f"a unit test imported {leaked}"


@pytest.fixture(autouse=True)
def _no_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server built here never warms Kitaru up in the background (``build_server`` would
    half a second later, in a thread that outlives the test and creates a real store)."""
    monkeypatch.setenv("KITARU_MCP_WARMUP", "0")


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unit test has a state directory of its own: a runner record another test
    left behind (in this worker, whatever the order) is never seen."""
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "own-state"))


@pytest.fixture(autouse=True)
def runs() -> Iterator[FakeRuns]:
    """The runs port a handler called directly sees (a Dispatcher hands its own)."""
    fake = FakeRuns()
    token = activate(CallContext(runs=fake))
    yield fake
    _current.reset(token)
