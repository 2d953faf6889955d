"""The audit log's pure logic (lines, redaction, digests, bounds, the shared file) and the
tracing switch, without a server or a store."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kitaru_mcp.observe import audit, callers, tracing

pytestmark = pytest.mark.unit

KEY = b"k" * 32
CATALOG = audit.Catalog(
    tool_arguments={
        "kitaru_executions_run": frozenset({"target", "args", "stack"}),
        "kitaru_executions_input": frozenset({"exec_id", "wait", "value"}),
        "kitaru_secrets_set": frozenset({"name", "secret_value", "api_token"}),
    },
    prompt_arguments={"debug_failed_execution": frozenset({"exec_id"})},
    resource_tool=lambda uri: "kitaru_executions_get" if uri.startswith("kitaru://") else None,
)


def entry(method: str = "tools/call", params: dict | None = None, **overrides) -> dict:
    fields: dict[str, Any] = {
        "catalog": CATALOG,
        "key": KEY,
        "method": method,
        "params": params or {},
        "caller": callers.Caller(),
        "protocol": "2025-11-25",
        "outcome": "ok",
        "result_data": None,
        "note": audit.Note(),
        "duration_s": 0.0125,
        "trace": None,
    }
    fields.update(overrides)
    return audit.build_entry(**fields)


def test_a_line_names_the_call_and_digests_every_value() -> None:
    params = {
        "name": "kitaru_executions_input",
        "arguments": {"exec_id": "0123456789abcdef", "wait": "approve", "value": {"ok": True}},
    }
    result = {"execution": {"exec_id": "0123456789abcdef", "status": "running"}}
    line = json.loads(audit.bounded_line(entry(params=params, result_data=result)))
    assert line["tool"] == "kitaru_executions_input"
    assert line["caller"] == "local" and line["transport"] == "stdio"
    assert line["protocol"] == "2025-11-25" and line["outcome"] == "ok"
    assert line["exec_ids"] == ["0123456789abcdef"]
    assert line["duration_ms"] == 12.5
    assert sorted(line["arguments"]) == ["exec_id", "value", "wait"]
    assert all(v.startswith("hmac-sha256:") for v in line["arguments"].values())
    assert "approve" not in json.dumps(line) and '"ok"' not in json.dumps(line["arguments"])
    assert line["time"].endswith("Z") and line["pid"] == os.getpid()


def test_secret_looking_names_get_no_digest_and_unknown_names_are_not_written() -> None:
    params = {
        "name": "kitaru_secrets_set",
        "arguments": {"name": "db", "secret_value": "hunter2", "api_token": "t", "sk_live_x": 1},
    }
    line = json.loads(audit.bounded_line(entry(params=params)))
    assert line["arguments"]["secret_value"] == "***"
    assert line["arguments"]["api_token"] == "***"
    assert line["arguments"]["name"].startswith("hmac-sha256:")
    assert line["unknown_arguments"] == 1
    assert "sk_live_x" not in json.dumps(line)


def test_an_unknown_tool_name_is_only_a_digest() -> None:
    line = json.loads(audit.bounded_line(entry(params={"name": "AKIA-secret-tool"})))
    assert line["tool"] == "(unknown)"
    assert line["name_digest"].startswith("hmac-sha256:")
    assert "AKIA" not in json.dumps(line)


def test_digests_are_keyed_canonical_and_stable() -> None:
    a = audit.digest({"b": 1, "a": [1, 2]}, KEY)
    assert a == audit.digest({"a": [1, 2], "b": 1}, KEY)  # key order does not matter
    assert a != audit.digest({"a": [1, 2], "b": 2}, KEY)
    assert a != audit.digest({"b": 1, "a": [1, 2]}, b"other key" * 4)
    assert len(a) == len("hmac-sha256:") + 32


def test_deep_and_huge_arguments_give_a_bounded_line() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    huge = "y" * 5_000_000
    params = {"name": "kitaru_executions_run", "arguments": {"args": deep, "target": huge}}
    line = audit.bounded_line(entry(params=params))
    assert len(line) <= audit.MAX_LINE_CHARS
    data = json.loads(line)
    assert data["arguments"]["args"] == "too_deep"
    assert "yyyy" not in line


def test_a_line_over_the_bound_drops_its_lists_first() -> None:
    ids = [f"{i:016x}" for i in range(audit.MAX_EXEC_IDS)]
    many = {f"name{i}": "hmac-sha256:" + "0" * 32 for i in range(400)}
    line = audit.bounded_line({"time": "t", "arguments": many, "exec_ids": ids, "outcome": "ok"})
    data = json.loads(line)
    assert len(line) <= audit.MAX_LINE_CHARS
    assert data["truncated"] is True and data["arguments_left_out"] == 400
    assert data["exec_ids"] == ids and data["outcome"] == "ok"


def test_exec_ids_come_from_arguments_and_results_bounded_and_checked() -> None:
    result = {
        "executions": [{"exec_id": f"{i:016x}"} for i in range(50)],
        "source": {"original_exec_id": "aaaaaaaa-bbbb"},
    }
    ids = audit.exec_ids({"exec_id": "not an id!", "other_exec_id": "ffffffffffff"}, result)
    assert ids[0] == "ffffffffffff"
    assert "not an id!" not in ids
    assert len(ids) == audit.MAX_EXEC_IDS


def test_outcomes_of_results_and_errors() -> None:
    error = {"isError": True, "content": [{"type": "text", "text": '{"code": "not_found"}'}]}
    assert audit.result_data(error) == ("not_found", None)
    assert audit.result_data({"resultType": "input_required"})[0] == "input_required"
    ok = {"content": [], "structuredContent": {"exec_id": "0123456789abcdef"}}
    assert audit.result_data(ok) == ("ok", {"exec_id": "0123456789abcdef"})
    read = {"contents": [{"uri": "kitaru://x", "text": '{"exec_id": "0123456789abcdef"}'}]}
    assert audit.result_data(read)[1] == {"exec_id": "0123456789abcdef"}

    class Error:
        code, message = -32602, "Unknown tool"

    class Raised(Exception):
        error = Error()

    assert audit.outcome_of_error(Raised()) == "invalid_params"
    assert audit.outcome_of_error(RuntimeError("boom")) == "internal"


def test_resources_and_prompts_lines() -> None:
    read = json.loads(
        audit.bounded_line(entry("resources/read", {"uri": "kitaru://executions/0123456789abcdef"}))
    )
    assert read["resource"] == "kitaru://executions/0123456789abcdef"
    assert read["tool"] == "kitaru_executions_get"
    assert read["exec_ids"] == ["0123456789abcdef"]
    unknown = json.loads(audit.bounded_line(entry("resources/read", {"uri": "file:///etc/pw"})))
    assert unknown["resource"] == "(unknown)" and "etc" not in json.dumps(unknown)
    prompt = json.loads(
        audit.bounded_line(
            entry(
                "prompts/get",
                {"name": "debug_failed_execution", "arguments": {"exec_id": "0123456789abcdef"}},
            )
        )
    )
    assert prompt["prompt"] == "debug_failed_execution"
    assert prompt["exec_ids"] == ["0123456789abcdef"]


SECRET_WORDS = st.sampled_from(["token", "SECRET", "passwd", "api_key", "Credential", "auth"])
SECRET_VALUES = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789_-", min_size=12, max_size=40)
FREE = st.recursive(
    st.none() | st.booleans() | st.integers() | SECRET_VALUES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SECRET_VALUES, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    secret_name=st.tuples(st.text("abcxyz_", max_size=6), SECRET_WORDS, st.text("_xy", max_size=4)),
    secret=SECRET_VALUES,
    args=FREE,
    value=FREE,
    unknown=st.dictionaries(SECRET_VALUES, SECRET_VALUES, max_size=3),
)
def test_fuzzed_secrets_never_reach_a_line(secret_name, secret, args, value, unknown) -> None:
    name = "".join(secret_name)
    catalog = audit.Catalog(
        tool_arguments={"tool": frozenset({name, "args", "value"})},
        prompt_arguments={},
        resource_tool=lambda uri: None,
    )
    arguments = {name: secret, "args": args, "value": value, **unknown}
    line = audit.bounded_line(
        entry(params={"name": "tool", "arguments": arguments}, catalog=catalog)
    )
    data = json.loads(line)
    assert data["arguments"][name] == "***"
    for text in [secret, *unknown, *unknown.values(), *_strings(args), *_strings(value)]:
        assert text not in line, f"{text!r} leaked into {line}"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_resolve_the_log_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.AUDIT_ENV, raising=False)
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "state"))
    assert audit.resolve(None) is None  # off by default (stdio)
    assert audit.resolve(None, default_on=True) == tmp_path / "state" / "audit.log"  # oauth
    assert audit.resolve("off", default_on=True) is None
    assert audit.resolve(str(tmp_path / "a.log")) == tmp_path / "a.log"
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "env.log"))
    assert audit.resolve(None) == tmp_path / "env.log"


def test_the_file_is_0600_and_threads_never_interleave(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(audit.MAX_BYTES_ENV, "20000")
    monkeypatch.setenv(audit.BACKUPS_ENV, "50")
    path = tmp_path / "logs" / "audit.log"
    log = audit.open_log(path)

    def write(n: int) -> None:
        for i in range(200):
            log.write({"time": "t", "thread": n, "i": i, "pad": "p" * (i * 7 % 1500)})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    files = sorted(path.parent.glob("audit.log*"))
    lines = [
        line
        for f in files
        if not f.name.endswith((".lock", ".key"))
        for line in f.read_text().splitlines()
    ]
    assert len(lines) == 800
    assert sorted((d["thread"], d["i"]) for d in map(json.loads, lines)) == sorted(
        (n, i) for n in range(4) for i in range(200)
    )
    assert len([f for f in files if f.name.startswith("audit.log.") and f.suffix[1:].isdigit()])
    assert all(f.stat().st_size <= 20000 for f in files if not f.name.endswith(".key"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((path.parent / "audit.log.key").stat().st_mode) == 0o600


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(audit.AuditConfigError, match="cannot write the audit log"):
        audit.open_log(blocker / "audit.log")


def test_refused_lines_copy_no_text_of_the_caller(tmp_path: Path) -> None:
    log = audit.open_log(tmp_path / "audit.log")
    audit.install(log)
    try:
        audit.refused(method="tools/call", name="evil-name", outcome="unauthorized", stage="token")
        audit.refused(method="x" * 500, outcome="unauthorized", stage="token")
    finally:
        audit.install(None)
        log.close()
    first, second = map(json.loads, (tmp_path / "audit.log").read_text().splitlines())
    assert first["method"] == "tools/call" and first["refused"] == "token"
    assert first["caller"] == "anonymous" and first["outcome"] == "unauthorized"
    assert "evil" not in json.dumps(first) and first["name_digest"].startswith("hmac")
    assert second["method"] == "(other)"


def test_mark_refused_is_a_no_op_outside_a_call() -> None:
    audit.mark_refused("arguments")  # nothing to note, nothing raised


def test_tracing_wants_an_endpoint_and_yields_to_the_kill_switch() -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"})
    both = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}
    assert not tracing.wanted(both)
    off = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}
    assert not tracing.wanted(off)


def test_tracing_off_costs_a_shared_no_op() -> None:
    assert not tracing.enabled()
    assert tracing.span("a") is tracing.span("b")  # one shared null context
    with tracing.span("a", x=1) as span:
        assert span is None
    assert tracing.carrier() is None and tracing.trace_id() is None
    gateway = object()
    assert tracing.traced_gateway(gateway) is gateway


def test_callers() -> None:
    from kitaru_mcp.auth.verify import Identity
    from kitaru_mcp.surface.http_auth import IDENTITY_KEY

    assert callers.IDENTITY_KEY == IDENTITY_KEY
    scope: dict = {"type": "http"}
    assert callers.of_scope(scope) == callers.Caller("local", None, "http", None)
    assert callers.of_scope({IDENTITY_KEY: Identity("token")}).caller == "token"
    alice = Identity("alice", "claude-code", frozenset({"kitaru:read"}))
    who = callers.of_scope({IDENTITY_KEY: alice})
    assert who == callers.Caller("alice", "claude-code", "http", frozenset({"kitaru:read"}))

    class Ctx:
        request = None

    assert callers.identify(Ctx()) == callers.Caller()


def test_an_endpoint_without_the_exporter_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    assert tracing.configure() is False
    assert not tracing.enabled()
    err = capsys.readouterr().err
    assert "pip install 'kitaru-mcp[telemetry]'" in err and "Serving without traces" in err
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure() is False
    assert capsys.readouterr().err == ""  # disabled: not a word


def test_http_refusals_are_audited_with_what_is_known(tmp_path: Path) -> None:
    import anyio

    from kitaru_mcp.auth.verify import Identity
    from kitaru_mcp.surface.http_auth import IDENTITY_KEY
    from kitaru_mcp.surface.http_transport import AuditRefusals

    def replying(status: int) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app

    async def sent(message: Any) -> None:
        pass

    async def request(app: Any, scope: dict[str, Any]) -> None:
        await app(scope, None, sent)

    headers = [(b"mcp-method", b"tools/call"), (b"mcp-name", b"kitaru_executions_cancel")]
    log = audit.open_log(tmp_path / "audit.log")
    audit.install(log)
    try:
        scope = {"type": "http", "headers": headers}
        anyio.run(request, AuditRefusals(replying(401), 401, "unauthorized", "token"), scope)
        alice = {**scope, IDENTITY_KEY: Identity("alice", "claude-code", frozenset())}
        anyio.run(request, AuditRefusals(replying(403), 403, "forbidden", "scope"), alice)
        anyio.run(request, AuditRefusals(replying(200), 403, "forbidden", "scope"), alice)
    finally:
        audit.install(None)
        log.close()
    token, scoped = map(json.loads, (tmp_path / "audit.log").read_text().splitlines())
    assert (token["caller"], token["refused"], token["outcome"]) == (
        "anonymous",
        "token",
        "unauthorized",
    )
    assert (scoped["caller"], scoped["client_id"], scoped["refused"]) == (
        "alice",
        "claude-code",
        "scope",
    )
    assert scoped["method"] == "tools/call" and "kitaru_executions_cancel" not in json.dumps(scoped)
