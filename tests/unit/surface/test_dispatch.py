# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""The one dispatch path: served tools, checks, worker thread, time limit, errors."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from kitaru_mcp.calls.stubs import ToolStub, load_contract
from kitaru_mcp.core.errors import NotFound, ToolFailure
from kitaru_mcp.core.nesting import nesting_depth
from kitaru_mcp.surface.dispatch import (
    MAX_DEPTH,
    Dispatcher,
    NotServed,
    ServeOptions,
)
from unit.fakes import FakeGateway

pytestmark = pytest.mark.unit


def _dispatcher(gw: FakeGateway, **options) -> Dispatcher:
    return Dispatcher(ServeOptions(**options), gateway=lambda: gw)


def _run(dispatcher: Dispatcher, name: str, arguments) -> dict:
    return anyio.run(dispatcher.run, name, arguments)


def _error(dispatcher: Dispatcher, name: str, arguments) -> dict:
    result = anyio.run(dispatcher.call_tool, name, arguments)
    assert result.is_error
    return json.loads(result.content[0].text)


def test_a_served_tool_returns_the_handlers_checked_result(gw) -> None:
    data = _run(_dispatcher(gw), "kitaru_executions_list", {"limit": 2})
    assert [e["exec_id"] for e in data["executions"]] == ["cccc0003", "bbbb0002"]
    assert data["has_more"] is True


def test_read_only_mode_refuses_a_writing_tool_before_any_check(gw) -> None:
    dispatcher = _dispatcher(gw, mode="read-only")
    with pytest.raises(NotServed) as caught:
        anyio.run(dispatcher.run, "kitaru_executions_cancel", {"exec_id": "aaaa0001"})
    assert "not served in read-only mode" in str(caught.value)
    assert gw.calls == []


def test_standard_mode_refuses_destructive_tools(gw) -> None:
    with pytest.raises(NotServed, match="not served in standard mode"):
        _dispatcher(gw).lookup("kitaru_executions_cancel")


def test_toolsets_filter_and_say_why(gw) -> None:
    dispatcher = _dispatcher(gw, toolsets=frozenset({"artifact"}))
    assert set(dispatcher.served) == {"kitaru_artifacts_get", "kitaru_artifacts_list"}
    with pytest.raises(NotServed, match="toolset 'execution' is not served"):
        dispatcher.lookup("kitaru_executions_list")


def test_unknown_tool(gw) -> None:
    with pytest.raises(NotServed, match="no tool has that name"):
        _dispatcher(gw).lookup("kitaru_nope")


def test_bad_arguments_name_the_field_and_reach_no_handler(gw) -> None:
    error = _error(_dispatcher(gw), "kitaru_executions_list", {"limit": "many"})
    assert error["code"] == "invalid_argument" and error["field"] == "limit"
    assert gw.calls == []


def test_a_huge_value_is_quoted_briefly(gw) -> None:
    started = time.perf_counter()
    error = _error(_dispatcher(gw), "kitaru_executions_get", {"exec_id": "x" * 5_000_000})
    assert time.perf_counter() - started < 2.0
    assert error["code"] == "invalid_argument" and error["field"] == "exec_id"
    assert len(error["message"]) < 1000 and "5000000 characters" in error["message"]


def test_over_deep_arguments_are_refused(gw) -> None:
    deep: dict = {}
    node = deep
    for _ in range(1000):
        node["a"] = {}
        node = node["a"]
    error = _error(_dispatcher(gw), "kitaru_executions_list", {"flow": deep})
    assert error["code"] == "invalid_argument" and str(MAX_DEPTH) in error["message"]
    assert nesting_depth({"a": [1, {"b": 2}]}, MAX_DEPTH) == 3
    assert nesting_depth(deep, MAX_DEPTH) == MAX_DEPTH + 1  # counting stops past the limit


def test_a_gateway_not_found_keeps_its_code(gw) -> None:
    error = _error(_dispatcher(gw), "kitaru_executions_get", {"exec_id": "dddd0004"})
    assert error["code"] == "not_found" and error["field"] == "exec_id"


def _stub_raising(exc: Exception, name: str = "kitaru_executions_get") -> dict[str, ToolStub]:
    def broken(gateway, arguments):
        raise exc

    return {name: ToolStub(load_contract()[name], broken)}


@pytest.mark.parametrize(
    "bug", [KeyError("exec_id"), IndexError("0"), TypeError("x"), ValueError()]
)
def test_a_handler_bug_is_internal_never_the_callers_fault(bug, caplog) -> None:
    dispatcher = Dispatcher(ServeOptions(), _stub_raising(bug), gateway=FakeGateway)
    error = _error(dispatcher, "kitaru_executions_get", {"exec_id": "aaaa0001"})
    assert error["code"] == "internal"
    logged = [r for r in caplog.records if "unexpected" in r.getMessage()]
    assert len(logged) == 1 and "Traceback" in logged[0].getMessage()


def test_an_output_that_fails_its_schema_is_internal(gw) -> None:
    class Shaped:
        def model_dump(self, **_):
            return {"exec_id": 42}

    stub = ToolStub(load_contract()["kitaru_executions_get"], lambda g, a: Shaped())  # type: ignore[arg-type,return-value]
    dispatcher = Dispatcher(ServeOptions(), {stub.name: stub}, gateway=lambda: gw)
    error = _error(dispatcher, stub.name, {"exec_id": "aaaa0001"})
    assert error["code"] == "internal" and "output schema" in error["message"]


def test_the_time_limit_is_a_timeout_error(gw) -> None:
    def slow(gateway, arguments):
        time.sleep(2)

    stub = ToolStub({**load_contract()["kitaru_executions_get"], "timeoutSeconds": 0.2}, slow)
    dispatcher = Dispatcher(ServeOptions(), {stub.name: stub}, gateway=lambda: gw)
    started = time.perf_counter()
    error = _error(dispatcher, stub.name, {"exec_id": "aaaa0001"})
    assert error["code"] == "timeout" and error["retryable"] is True
    assert time.perf_counter() - started < 1.5


def test_bad_input_is_refused_whatever_the_time_limit(gw) -> None:
    """Checking the arguments is not the work the limit bounds (on a busy machine it can
    take longer than a tiny limit): bad input is invalid_argument, never timeout."""

    class SlowToCheck(ToolStub):
        def check_arguments(self, arguments):
            time.sleep(0.3)
            return super().check_arguments(arguments)

    spec = {**load_contract()["kitaru_executions_get"], "timeoutSeconds": 0.05}
    stub = SlowToCheck(spec, lambda g, a: None)  # type: ignore[arg-type,return-value]
    dispatcher = Dispatcher(ServeOptions(), {stub.name: stub}, gateway=lambda: gw)
    error = _error(dispatcher, stub.name, {"exec_id": 7})
    assert (error["code"], error["field"]) == ("invalid_argument", "exec_id")


def test_a_timed_out_action_says_it_may_still_finish_and_is_not_retryable(gw) -> None:
    def slow(gateway, arguments):
        time.sleep(2)

    spec = {**load_contract()["kitaru_executions_cancel"], "timeoutSeconds": 0.2}
    stub = ToolStub(spec, slow)
    dispatcher = Dispatcher(ServeOptions(mode="destructive"), {stub.name: stub}, gateway=lambda: gw)
    error = _error(dispatcher, stub.name, {"exec_id": "aaaa0001"})
    assert error["code"] == "timeout" and error["retryable"] is False
    assert "may still finish" in error["message"] and "before calling again" in error["hint"]


def test_tool_failures_pass_through_unchanged(gw) -> None:
    failure = NotFound("gone", field="exec_id", hint="look elsewhere")
    dispatcher = Dispatcher(ServeOptions(), _stub_raising(failure), gateway=lambda: gw)
    with pytest.raises(ToolFailure) as caught:
        anyio.run(dispatcher.run, "kitaru_executions_get", {"exec_id": "aaaa0001"})
    assert caught.value is failure


def test_wait_looks_often_at_first_then_once_a_second() -> None:
    from kitaru_mcp.handlers.waiting import POLL_S, poll_interval

    pauses = [poll_interval(n) for n in range(10)]
    assert pauses[0] == pytest.approx(0.1) and pauses[1] == pytest.approx(0.15)
    assert pauses == sorted(pauses) and pauses[-1] == POLL_S
    assert sum(pauses[:4]) < 1.0  # four looks within the first second
