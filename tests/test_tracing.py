"""Traces from real servers, received by a small OTLP/HTTP receiver in the test: the span
tree of a call, a failing call, a run whose runner (forked or cold) joins the trace, and a
collector that is down."""

from __future__ import annotations

import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, fresh_home, wait_until
from mcp_client import StdioClient
from otlp_receiver import Receiver

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]

ERROR = 2  # span status code
UNKNOWN_ID = "0123456789abcdef0123"


def traceparent() -> tuple[str, str, str]:
    """(traceparent header, trace id, parent span id) of a made-up client span."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def start(tmp: Path, endpoint: str, **env: str) -> StdioClient:
    environment = {
        **fresh_home(tmp, "home"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        **env,
    }
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    client = StdioClient(command, env=environment, cwd=ROOT)
    return client.start(errlog_path=tmp / "stderr.log")


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StdioClient, Receiver]]:
    with Receiver() as receiver:
        client = start(tmp_path_factory.mktemp("traced"), receiver.endpoint)
        yield client, receiver
        client.close()


def of_trace(spans: list[dict[str, Any]], trace_id: str) -> dict[str, dict[str, Any]]:
    """The spans of one trace by name."""
    return {span["name"]: span for span in spans if span["trace_id"] == trace_id}


def tree(receiver: Receiver, trace_id: str, *names: str) -> dict[str, dict[str, Any]]:
    """Wait until the trace has every span in ``names``; the trace's spans by name."""
    return receiver.wait_for(
        lambda spans: (found := of_trace(spans, trace_id)) and set(names) <= set(found) and found,
        timeout=120,
    )


def run_traced(client: StdioClient, receiver: Receiver) -> tuple[str, dict[str, dict]]:
    header, trace_id, _ = traceparent()
    arguments = {"target": "examples/two_steps.py:two_steps", "args": {"name": "traced"}}
    result = client.call("kitaru_executions_run", arguments, meta={"traceparent": header})
    assert not result.is_error, result.content[0].text
    exec_id = result.structured_content["execution"]["exec_id"]
    spans = tree(
        receiver,
        trace_id,
        "tools/call kitaru_executions_run",
        "kitaru_mcp.runner.launch run",
        "kitaru_mcp.runner run",
    )
    return exec_id, spans


def check_runner_joins(exec_id: str, spans: dict[str, dict], via: str | None = None) -> None:
    launch, runner = spans["kitaru_mcp.runner.launch run"], spans["kitaru_mcp.runner run"]
    handler = spans["kitaru_mcp.handler kitaru_executions_run"]
    assert launch["parent_span_id"] == handler["span_id"]
    assert launch["attributes"]["kitaru_mcp.exec_id"] == exec_id
    assert "runner started" in launch["events"]
    assert runner["parent_span_id"] == launch["span_id"]  # across processes
    assert runner["resource"]["kitaru_mcp.process"] == "runner"
    assert launch["resource"]["kitaru_mcp.process"] == "server"
    assert runner["attributes"]["kitaru_mcp.exec_id"] == exec_id
    assert runner["attributes"]["kitaru_mcp.outcome"] == "ok"
    assert "exec_id reported" in runner["events"]
    assert runner["end"] > launch["end"]  # the runner goes on after the call answered


def test_a_run_is_traced_into_its_forked_runner(traced: tuple[StdioClient, Receiver]) -> None:
    client, receiver = traced
    exec_id, spans = run_traced(client, receiver)
    check_runner_joins(exec_id, spans)
    call = spans["kitaru_mcp.call kitaru_executions_run"]
    assert call["attributes"]["kitaru_mcp.mode"] == "destructive"
    assert call["attributes"]["kitaru_mcp.caller"] == "local"
    assert call["attributes"]["kitaru_mcp.exec_id"] == exec_id


def test_the_span_tree_of_executions_get(traced: tuple[StdioClient, Receiver]) -> None:
    client, receiver = traced
    exec_id = client.ok("kitaru_executions_list", {"limit": 1})["executions"][0]["exec_id"]
    header, trace_id, client_span = traceparent()
    result = client.call(
        "kitaru_executions_get", {"exec_id": exec_id}, meta={"traceparent": header}
    )
    assert not result.is_error
    spans = tree(
        receiver,
        trace_id,
        "tools/call kitaru_executions_get",
        "kitaru_mcp.call kitaru_executions_get",
        "kitaru_mcp.validate",
        "kitaru_mcp.handler kitaru_executions_get",
        "kitaru_mcp.gateway get_execution",
    )
    root = spans["tools/call kitaru_executions_get"]
    call = spans["kitaru_mcp.call kitaru_executions_get"]
    handler = spans["kitaru_mcp.handler kitaru_executions_get"]
    assert root["parent_span_id"] == client_span  # the client's _meta traceparent is honoured
    assert (
        root["scope"] == "mcp-python-sdk" and root["attributes"]["mcp.method.name"] == "tools/call"
    )
    assert call["parent_span_id"] == root["span_id"]
    assert spans["kitaru_mcp.validate"]["parent_span_id"] == call["span_id"]
    assert handler["parent_span_id"] == call["span_id"]
    assert spans["kitaru_mcp.gateway get_execution"]["parent_span_id"] == handler["span_id"]
    attributes = call["attributes"]
    assert attributes["kitaru_mcp.tool"] == "kitaru_executions_get"
    assert attributes["kitaru_mcp.outcome"] == "ok"
    assert attributes["kitaru_mcp.exec_id"] == exec_id
    assert attributes["kitaru_mcp.mode"] == "destructive"
    assert attributes["kitaru_mcp.caller"] == "local"
    assert all(span["status"] != ERROR for span in spans.values())
    assert root["resource"]["service.name"] == "kitaru-mcp"


def test_a_failing_call_records_its_error(traced: tuple[StdioClient, Receiver]) -> None:
    client, receiver = traced
    header, trace_id, _ = traceparent()
    arguments = {"exec_id": UNKNOWN_ID}
    result = client.call("kitaru_executions_get", arguments, meta={"traceparent": header})
    assert result.is_error
    spans = tree(
        receiver,
        trace_id,
        "tools/call kitaru_executions_get",
        "kitaru_mcp.call kitaru_executions_get",
        "kitaru_mcp.gateway get_execution",
    )
    call = spans["kitaru_mcp.call kitaru_executions_get"]
    assert call["status"] == ERROR
    assert call["attributes"]["kitaru_mcp.outcome"] == "not_found"
    assert call["attributes"]["error.type"] == "not_found"
    assert "exception" in call["events"]
    assert spans["tools/call kitaru_executions_get"]["attributes"]["error.type"] == "tool_error"

    header, trace_id, _ = traceparent()
    bad = client.call("kitaru_executions_list", {"limit": "x"}, meta={"traceparent": header})
    assert bad.is_error
    spans = tree(
        receiver, trace_id, "kitaru_mcp.validate", "kitaru_mcp.call kitaru_executions_list"
    )
    assert spans["kitaru_mcp.validate"]["status"] == ERROR
    assert spans["kitaru_mcp.validate"]["attributes"]["kitaru_mcp.outcome"] == "invalid_argument"
    assert "kitaru_mcp.handler kitaru_executions_list" not in spans  # refused before it ran


def test_a_cold_runner_joins_the_trace(tmp_path: Path) -> None:
    with Receiver() as receiver:
        client = start(tmp_path, receiver.endpoint, KITARU_MCP_WARM_RUNNER="0")
        try:
            exec_id, spans = run_traced(client, receiver)
        finally:
            client.close()
    check_runner_joins(exec_id, spans)


def test_a_collector_that_is_down_slows_no_call(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once closed
    client = start(tmp_path, dead, OTEL_EXPORTER_OTLP_TIMEOUT="1")
    log = tmp_path / "stderr.log"
    try:
        client.ok("kitaru_executions_list", {"limit": 1})  # the first call imports Kitaru
        times = []
        for _ in range(5):
            began = time.monotonic()
            client.ok("kitaru_executions_list", {"limit": 1})
            times.append(time.monotonic() - began)
        assert max(times) < 1.0, times

        def warnings() -> int:
            return log.read_text().count("traces could not be sent")

        wait_until(warnings, timeout=60, interval=0.2)
        for _ in range(3):
            client.ok("kitaru_executions_list", {"limit": 1})
    finally:
        client.close()
    assert log.read_text().count("traces could not be sent") == 1
