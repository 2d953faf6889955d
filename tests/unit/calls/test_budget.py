# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""The result budget on a fake gateway: cutting helpers, each handler's own cut, the
dispatcher's last resort and the command line's check (no server, no store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import artifacts, diff, executions, logs

from kitaru_mcp.calls import budget, layout
from kitaru_mcp.calls.context import CallContext, activate, current
from kitaru_mcp.core.errors import InvalidArgument
from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions, check_budget
from unit.fakes import FakeGateway, execution
from unit.fakes_reads import ReadsFake

pytestmark = pytest.mark.unit

SMALL = budget.MIN_MAX_RESULT_CHARS
WIDE = 200_000  # a budget every whole answer of these tests fits in


def sent(result) -> dict:
    """A handler's result as the stub sends it: dumped, in the contract's layout."""
    return layout.lay_out(result.model_dump(mode="json", by_alias=True, exclude_unset=True))


@pytest.fixture
def small_budget():
    """Handlers called directly see a 10,000-character budget."""
    token = activate(CallContext(max_result_chars=SMALL, runs=current().runs))
    yield SMALL
    from kitaru_mcp.calls.context import _current

    _current.reset(token)


# ---------------------------------------------------------------------- helpers


def test_parse_refuses_a_budget_below_the_minimum_or_not_a_number() -> None:
    assert budget.parse("25_000") == 25_000 and budget.parse(10_000) == 10_000
    with pytest.raises(budget.BudgetConfigError, match="below the minimum of 10000"):
        budget.parse("9999")
    with pytest.raises(budget.BudgetConfigError, match="whole number"):
        budget.parse("lots")


def test_fit_items_keeps_a_page_from_the_start_or_a_tail_from_the_end() -> None:
    items = [{"n": i, "text": "y" * 90} for i in range(100)]
    page, cut = budget.fit_items(items, 1_000)
    tail, cut_tail = budget.fit_items(items, 1_000, from_end=True)
    assert cut and cut_tail
    assert [i["n"] for i in page] == list(range(len(page))) and 5 < len(page) < 12
    assert [i["n"] for i in tail] == list(range(100 - len(tail), 100))
    assert budget.size(page) <= 1_000 and budget.size(tail) <= 1_000
    assert budget.fit_items(items[:3], 10_000) == (items[:3], False)


def test_cut_text_counts_json_escapes_and_never_splits_a_character() -> None:
    text = '"quoted" \\ é ' * 2_000
    cut, was_cut = budget.cut_text(text, 5_000)
    assert was_cut and budget.size(cut) <= 5_000 and text.startswith(cut)
    assert budget.size(cut) > 4_900  # the longest prefix that fits, not a rough guess
    assert budget.cut_text("short", 100) == ("short", False)


# ------------------------------------------------------------------------- logs


def _runner_lines(tmp_path, monkeypatch, exec_id: str, count: int) -> None:
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    log = tmp_path / "runner.log"
    log.write_text("".join(f"line {i:05d} of the big flow\n" for i in range(count)))
    current().runs.records[exec_id] = {"logs": [str(log)]}


def _logs(gw, **arguments):
    return logs.get_execution_logs(gw, models.GetExecutionLogsInput(**arguments))


def test_a_20000_line_log_is_cut_to_the_budget_and_pages_backwards(
    tmp_path, monkeypatch, small_budget
) -> None:
    gw = ReadsFake([execution("aaaa0001")])
    _runner_lines(tmp_path, monkeypatch, "aaaa0001", 20_000)
    first = _logs(gw, exec_id="aaaa0001", tail=5000)
    dumped = sent(first)
    assert budget.size(dumped) <= SMALL
    assert first.truncated is True and first.next_cursor and "result budget" in first.note
    assert first.entries[-1].message == "line 19999 of the big flow"  # the newest kept
    seen = [e.message for e in first.entries]
    token, pages = first.next_cursor, 1
    while token and pages < 3:
        older = _logs(gw, exec_id="aaaa0001", tail=5000, cursor=token)
        assert budget.size(sent(older)) <= SMALL
        seen = [e.message for e in older.entries] + seen
        token, pages = older.next_cursor, pages + 1
    expected = [f"line {i:05d} of the big flow" for i in range(20_000 - len(seen), 20_000)]
    assert seen == expected, "pages join without a gap or an overlap"


def test_the_oldest_page_has_no_cursor(tmp_path, monkeypatch) -> None:
    gw = ReadsFake([execution("aaaa0001")])
    _runner_lines(tmp_path, monkeypatch, "aaaa0001", 30)
    newest = _logs(gw, exec_id="aaaa0001", tail=20)
    assert newest.truncated is True and newest.returned == 20
    oldest = _logs(gw, exec_id="aaaa0001", tail=20, cursor=newest.next_cursor)
    assert oldest.entries[0].message == "line 00000 of the big flow"
    assert oldest.returned == 10 and oldest.truncated is False and oldest.next_cursor is None
    with pytest.raises(InvalidArgument) as other_filters:
        _logs(gw, exec_id="aaaa0001", level="ERROR", cursor=newest.next_cursor)
    assert other_filters.value.field == "cursor"


def _record(timestamp: str, message: str, level: object) -> str:
    return json.dumps({"timestamp": timestamp, "level": level, "message": message})


def test_since_and_level_filter_checkpoint_records(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    gw = ReadsFake([execution("aaaa0001", checkpoints=["greet"])])
    gw.log_lines["aaaa0001"] = [
        (
            "greet",
            [
                _record("2026-01-01T00:00:01", "early info", 20),
                _record("2026-01-01T00:00:02", "early error", "ERROR"),
                _record("2026-01-01T00:00:03", "late warning", 30),
                _record("", "undated", "CRITICAL"),
            ],
        )
    ]
    since = _logs(gw, exec_id="aaaa0001", since="2026-01-01T00:00:02Z")
    assert [e.message for e in since.entries] == ["early error", "late warning"]
    level = _logs(gw, exec_id="aaaa0001", level="WARNING")
    assert [e.message for e in level.entries] == ["undated", "early error", "late warning"]
    both = _logs(gw, exec_id="aaaa0001", level="ERROR", since="2026-01-01T00:00:01")
    assert [e.message for e in both.entries] == ["early error"]
    none = _logs(gw, exec_id="aaaa0001", level="CRITICAL", since="2026-01-01T00:00:01")
    assert none.entries == [] and "match the filters" in none.note
    with pytest.raises(InvalidArgument) as bad:
        _logs(gw, exec_id="aaaa0001", since="yesterday")
    assert bad.value.field == "since"


def test_a_server_connection_reads_the_log_api_not_the_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    gw = ReadsFake([execution("aaaa0001", checkpoints=["greet"])])
    gw.log_lines["aaaa0001"] = [("greet", [_record("2026-01-01T00:00:01", "from a file", 20)])]
    gw.api_logs = {
        "aaaa0001": [
            {
                "timestamp": "2026-01-01T00:00:01",
                "level": "INFO",
                "checkpoint": "greet",
                "message": "from the server",
            },
        ]
    }
    got = _logs(gw, exec_id="aaaa0001", source="checkpoints")
    assert [(e.message, e.checkpoint) for e in got.entries] == [("from the server", "greet")]
    assert got.records_from == "server_log_api" and got.entries[0].level == "INFO"
    assert "checkpoint_log_lines" not in gw.names()


# ------------------------------------------------------------- executions_get


def _big_execution(count: int) -> dict:
    big = execution("aaaa0001", checkpoints=[f"step_{i:03d}" for i in range(count)])
    big["artifacts"] = [
        {
            "artifact_id": f"{i:08d}-0000",
            "name": f"big::step_{i:03d}::output",
            "kind": None,
            "save_type": "step_output",
            "checkpoint": f"step_{i:03d}",
        }
        for i in range(count)
    ]
    return big


def test_an_execution_of_150_checkpoints_is_paged_within_the_budget(small_budget) -> None:
    gw = ReadsFake([_big_execution(150)])
    seen: list[str] = []
    token = None
    for _ in range(20):
        params = models.KitaruExecutionsGetInput(exec_id="aaaa0001", checkpoints_cursor=token)
        got = executions.get_execution(gw, params)
        data = sent(got)
        assert budget.size(data) <= SMALL
        assert data["truncated"] is True and data["checkpoints_total"] == 150
        assert data["artifacts_total"] == 150 and len(data["artifacts"]) < 150
        seen += [c["name"] for c in data["checkpoints"]]
        token = data["checkpoints_next_cursor"]
        if token is None:
            break
    assert seen == [f"step_{i:03d}" for i in range(150)]


def test_a_checkpoint_page_can_be_asked_for_and_a_small_execution_is_untouched() -> None:
    gw = ReadsFake([_big_execution(60)])
    whole = executions.get_execution(gw, models.KitaruExecutionsGetInput(exec_id="aaaa0001"))
    dumped = sent(whole)
    assert len(dumped["checkpoints"]) == 60 and "truncated" not in dumped
    page = executions.get_execution(
        gw, models.KitaruExecutionsGetInput(exec_id="aaaa0001", checkpoints_limit=10)
    )
    assert [c.name for c in page.checkpoints] == [f"step_{i:03d}" for i in range(10)]
    assert page.truncated is True and page.checkpoints_next_cursor
    assert "checkpoints 1-10 of 60" in page.note


# ------------------------------------------------------------------- artifacts


def test_a_5_mb_artifact_is_cut_to_the_budget_even_with_a_large_max_bytes(small_budget):
    gw = ReadsFake([execution("aaaa0001")])
    gw.artifacts["aaaa0001"] = []
    value = "x" * (5 * 1024 * 1024)
    loaded = {
        "artifact_id": "dddd0001",
        "name": "big",
        "kind": None,
        "save_type": "step_output",
        "checkpoint": "step",
        "metadata": {},
    }
    result = {"artifact": loaded, **artifacts.values.shape(value, 1_048_576)}
    fitted = artifacts.fit_value(result, SMALL)
    assert budget.size(fitted) <= SMALL
    assert fitted["truncated"] is True and fitted["json_value"] is None
    assert fitted["size_bytes"] == 5 * 1024 * 1024 + 2 and "result budget" in fitted["note"]
    assert fitted["preview"].startswith('"xxxx') and len(fitted["preview"]) > SMALL // 2
    small = {"artifact": loaded, **artifacts.values.shape({"a": 1}, 65_536)}
    assert artifacts.fit_value(small, SMALL) is small


# ------------------------------------------------------------------------ diff


def test_a_diff_over_the_budget_keeps_the_differing_rows_first() -> None:
    rows = [
        {
            "name": f"c{i}",
            "base_status": "completed",
            "other_status": "completed",
            "status_match": i % 10 != 0,
            "outputs_match": True,
        }
        for i in range(300)
    ]
    result = {
        "exec_id": "a",
        "other_exec_id": "b",
        "identical": False,
        "inputs": [],
        "checkpoints": rows,
        "outputs": [{"checkpoint": "c0", "artifact": "o", "base_preview": "p" * 2000}] * 20,
        "differences": {"inputs": [], "checkpoint_statuses": [], "checkpoint_outputs": []},
    }
    fitted = diff.fit_diff(result, SMALL)
    assert budget.size(fitted) <= SMALL and fitted["truncated"] is True
    assert {r["name"] for r in fitted["checkpoints"]} == {f"c{i}" for i in range(0, 300, 10)}
    assert "of 20 outputs" in fitted["note"] and "30 of 300 checkpoints" in fitted["note"]


def test_a_list_page_over_the_budget_is_cut_and_its_cursor_walks_the_rest() -> None:
    flows = [f"flow_with_a_long_name_{'x' * 60}_{i}" for i in range(200)]
    gw = FakeGateway([execution(f"{i:04d}beef", flow=flows[i], minutes=i) for i in range(200)])
    narrow = Dispatcher(ServeOptions(max_result_chars=SMALL), gateway=lambda: gw)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        arguments = {"limit": 200, **({"cursor": token} if token else {})}
        page = anyio.run(narrow.run, "kitaru_executions_list", arguments)
        pages += 1
        assert budget.size(page) <= SMALL
        seen += [e["exec_id"] for e in page["executions"]]
        token = page["next_cursor"]
        assert page["has_more"] is (token is not None)
        if token is None:
            break
    assert pages > 2  # 200 summaries do not fit one page of 10,000 characters
    assert seen == [f"{i:04d}beef" for i in reversed(range(200))]


@pytest.mark.parametrize("group_by", [["flow"], ["flow", "day"]])
def test_statistics_over_the_budget_keep_what_kitaru_keeps_and_say_so(group_by) -> None:
    """The largest groups first; by day, the newest days (as Kitaru's max_groups cut)."""
    many = [
        execution(f"{i:04d}cafe", flow=f"flow_{i:03d}_{'y' * 80}", minutes=i * 1440)
        for i in range(300)
    ]
    gw = ReadsFake(many)
    narrow = Dispatcher(ServeOptions(max_result_chars=SMALL), gateway=lambda: gw)
    arguments = {"group_by": group_by, "max_groups": 1000}
    cut = anyio.run(narrow.run, "kitaru_executions_statistics", arguments)
    assert budget.size(cut) <= SMALL and cut["truncated"] is True
    kept = len(cut["groups"])
    assert 10 < kept < 300
    assert cut["total"] == sum(g["count"] for g in cut["groups"])
    wide = Dispatcher(ServeOptions(max_result_chars=WIDE), gateway=lambda: gw)
    whole = anyio.run(wide.run, "kitaru_executions_statistics", arguments)
    assert len(whole["groups"]) == 300 and whole["truncated"] is False
    if "day" in group_by:
        assert cut["groups"] == whole["groups"][-kept:]
        assert cut["groups"][-1]["flow"].startswith("flow_299")  # the newest day is there
    else:
        assert cut["groups"] == whole["groups"][:kept]


def test_a_cohort_over_the_budget_keeps_its_newest_members_and_says_so() -> None:
    gw = ReadsFake([execution(f"{i:04d}f00d", flow="two_steps", minutes=i) for i in range(150)])
    gw.inputs = {e: {"name": "same", "notes": "n" * 250} for e in gw.executions}
    narrow = Dispatcher(ServeOptions(max_result_chars=SMALL), gateway=lambda: gw)
    arguments = {"flow": "two_steps", "inputs": {"name": "same"}, "limit": 150}
    cut = anyio.run(narrow.run, "kitaru_executions_cohort", arguments)
    assert budget.size(cut) <= SMALL and cut["truncated"] is True
    assert 5 < cut["count"] == len(cut["executions"]) < 150
    newest = [f"{i:04d}f00d" for i in reversed(range(150))]
    assert [e["exec_id"] for e in cut["executions"]] == newest[: cut["count"]]
    whole = anyio.run(
        Dispatcher(ServeOptions(max_result_chars=WIDE), gateway=lambda: gw).run,
        "kitaru_executions_cohort",
        arguments,
    )
    assert whole["count"] == 150 and "truncated" not in whole


def test_a_cancel_of_a_large_execution_answers_within_the_budget(small_budget) -> None:
    from kitaru_mcp.handlers import lifecycle

    big = _big_execution(300)
    big["status"] = "running"
    gw = ReadsFake([big])
    done = lifecycle.cancel(gw, models.KitaruExecutionsCancelInput(exec_id="aaaa0001"))
    data = sent(done)
    assert ("request_cancel", ("aaaa0001",)) in gw.calls  # the cancel happened...
    assert data["status"] == "cancelled" and budget.size(data) <= SMALL  # ...and is answered
    assert data["truncated"] is True and data["checkpoints_total"] == 300


def test_a_huge_failure_message_is_cut_and_the_execution_still_answers(small_budget) -> None:
    failed = execution("aaaa0001", status="failed", checkpoints=["one", "two"])
    failed["failure"] = {"message": "boom " * 20_000, "exception_type": "RuntimeError"}
    failed["status_reason"] = "reason " * 10_000
    gw = ReadsFake([failed])
    got = executions.get_execution(gw, models.KitaruExecutionsGetInput(exec_id="aaaa0001"))
    data = sent(got)
    assert budget.size(data) <= SMALL
    assert data["failure"]["message"].startswith("boom boom")
    assert data["failure"]["message"].endswith("budget: 100000 characters in all)")
    assert data["status_reason"].endswith("70000 characters in all)")
    assert [c["name"] for c in data["checkpoints"]] == ["one", "two"]


def test_a_checkpoint_with_a_huge_failure_message_still_gets_onto_a_page(small_budget) -> None:
    failed = execution("aaaa0001", status="failed", checkpoints=["one", "two", "three"])
    failed["checkpoints"][1]["failure"] = {"message": "x" * 50_000, "exception_type": "E"}
    gw = ReadsFake([failed])
    got = executions.get_execution(gw, models.KitaruExecutionsGetInput(exec_id="aaaa0001"))
    data = sent(got)
    assert budget.size(data) <= SMALL
    assert [c["name"] for c in data["checkpoints"]] == ["one", "two", "three"]
    assert data["checkpoints"][1]["failure"]["message"].endswith("50000 characters in all)")


# ------------------------------------------------------------ dispatch and CLI


def test_the_budget_in_serve_options_reaches_the_handler() -> None:
    gw = ReadsFake([_big_execution(200)])
    wide = Dispatcher(ServeOptions(max_result_chars=WIDE), gateway=lambda: gw)
    narrow = Dispatcher(ServeOptions(max_result_chars=SMALL), gateway=lambda: gw)
    full = anyio.run(wide.run, "kitaru_executions_get", {"exec_id": "aaaa0001"})
    cut = anyio.run(narrow.run, "kitaru_executions_get", {"exec_id": "aaaa0001"})
    assert len(full["checkpoints"]) == 200 and "truncated" not in full
    assert budget.size(full) <= WIDE
    assert cut["truncated"] is True and budget.size(cut) <= SMALL


def test_the_last_resort_refuses_a_result_over_the_budget() -> None:
    data = {"blob": "z" * 20_000}
    with pytest.raises(InvalidArgument) as caught:
        check_budget("some_tool", data, SMALL)
    assert "over this server's budget of 10000" in caught.value.message
    assert "--max-result-chars" in caught.value.hint
    assert check_budget("some_tool", {"a": 1}, SMALL) == {"a": 1}


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["--max-result-chars", "9000", "tools"], {}), (["tools"], {budget.ENV: "500"})],
)
def test_a_budget_below_the_minimum_is_refused_at_start(argv, env) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert done.returncode == 2
    assert "below the minimum of 10000" in done.stderr and done.stdout == ""
