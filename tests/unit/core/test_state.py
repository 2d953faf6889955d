"""Runner exit records: one shape, whoever saw the runner end."""

from __future__ import annotations

import signal

import pytest

from kitaru_mcp.core import state

pytestmark = pytest.mark.unit


def test_an_exit_record_says_the_code_the_signal_and_who_saw_it() -> None:
    state.record_exit("t1", 41, 3, "runner")
    state.record_exit("t2", 42, -signal.SIGKILL, "template")
    state.record_exit("t3", 43, -250, "server")  # no such signal: named by number
    state.record_exit(None, 44, 0, "runner")  # a runner with no launch token records nothing
    one, two, three = (state.read_json(state.exit_path(t)) for t in ("t1", "t2", "t3"))
    assert one is not None and two is not None and three is not None
    assert (one["pid"], one["returncode"], one["by"], "signal" in one) == (41, 3, "runner", False)
    assert (two["returncode"], two["signal"], two["by"]) == (-9, "SIGKILL", "template")
    assert three["signal"] == "signal 250" and three["at"] > 0
    assert sorted(p.name for p in state.subdir("exits").iterdir()) == [
        "t1.json",
        "t2.json",
        "t3.json",
    ]
