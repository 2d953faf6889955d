"""handlers.logs on a fake gateway: merging, ordering, tail, sources and checkpoints."""

from __future__ import annotations

import json

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import logs

from kitaru_mcp.calls.context import current
from kitaru_mcp.core.errors import InvalidArgument, NotFound
from unit.fakes import FakeRuns, execution
from unit.fakes_reads import ReadsFake

pytestmark = pytest.mark.unit


def _record(timestamp: str, message: str, level: object = "INFO") -> str:
    return json.dumps({"timestamp": timestamp, "level": level, "message": message})


@pytest.fixture
def reads(tmp_path, monkeypatch) -> ReadsFake:
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    gw = ReadsFake([execution("aaaa0001", checkpoints=["greet", "shout"])])
    gw.log_lines["aaaa0001"] = [
        (None, [_record("2026-01-01T00:00:00", "run started"), "not json", "42"]),
        ("greet", [_record("2026-01-01T00:00:02", "greeting", 20), _record("", "undated")]),
        ("shout", [_record("2026-01-01T00:00:01", "x" * 5000, 40)]),
    ]
    return gw


def _logs(gw, **arguments):
    return logs.get_execution_logs(gw, models.GetExecutionLogsInput(**arguments))


def _runner_log(tmp_path, exec_id: str, text: str) -> None:
    log = tmp_path / "runner.log"
    log.write_text(text)
    runs = current().runs
    assert isinstance(runs, FakeRuns)
    runs.records[exec_id] = {"logs": [str(log)]}


def test_checkpoint_records_are_merged_oldest_first(reads):
    got = _logs(reads, exec_id="aaaa0001", source="checkpoints")
    assert [(e.checkpoint, e.timestamp) for e in got.entries] == [
        ("greet", ""),  # no time sorts first, as Kitaru's own listing does
        (None, "2026-01-01T00:00:00"),
        ("shout", "2026-01-01T00:00:01"),
        ("greet", "2026-01-01T00:00:02"),
    ]
    shout = got.entries[2]
    assert shout.level == "ERROR" and len(shout.message) == logs.MAX_MESSAGE
    assert got.entries[3].level == "INFO" and got.entries[0].source == "checkpoints"
    assert got.returned == 4 and got.truncated is False and got.note is None


def test_tail_keeps_the_newest_entries(reads):
    got = _logs(reads, exec_id="aaaa0001", source="checkpoints", tail=2)
    assert [e.message[:8] for e in got.entries] == ["xxxxxxxx", "greeting"]
    assert got.returned == 2 and got.truncated is True


def test_one_checkpoint_only(reads):
    got = _logs(reads, exec_id="aaaa0001", checkpoint="greet")
    assert {e.checkpoint for e in got.entries} == {"greet"}
    assert ("checkpoint_log_lines", ("aaaa0001", "greet")) in reads.calls


def test_unknown_checkpoint_names_the_real_ones(reads):
    with pytest.raises(InvalidArgument) as caught:
        _logs(reads, exec_id="aaaa0001", checkpoint="whisper")
    assert caught.value.field == "checkpoint"
    assert "its checkpoints are: greet, shout." in caught.value.message
    assert "checkpoint_log_lines" not in reads.names()


def test_auto_prefers_the_runner_output_and_all_appends_it(reads, tmp_path):
    _runner_log(tmp_path, "aaaa0001", "hello from print\n\n  \nsecond line\n")
    auto = _logs(reads, exec_id="aaaa0001")
    assert [(e.source, e.message) for e in auto.entries] == [
        ("runner", "hello from print"),
        ("runner", "second line"),
    ]
    assert "checkpoint_log_lines" not in reads.names()
    everything = _logs(reads, exec_id="aaaa0001", source="all")
    assert [e.source for e in everything.entries] == ["checkpoints"] * 4 + ["runner"] * 2


def test_auto_without_runner_output_reads_checkpoints_and_notes_an_empty_result(reads):
    assert _logs(reads, exec_id="aaaa0001").returned == 4
    reads.log_lines["aaaa0001"] = []
    empty = _logs(reads, exec_id="aaaa0001")
    assert empty.entries == [] and empty.truncated is False
    assert empty.note and "No log records" in empty.note


def test_unknown_execution_is_not_found(reads):
    with pytest.raises(NotFound) as caught:
        _logs(reads, exec_id="ffff0009")
    assert caught.value.field == "exec_id"
