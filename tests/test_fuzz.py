"""Property-based fuzzing of every tool from its own input schema (Hypothesis).

- Valid arguments (hypothesis-jsonschema's ``from_schema``; ids sometimes swapped
  for real ones) go to READ-ONLY tools only, so fuzzing never starts a flow or
  changes state: each call succeeds with a result of the output schema, or fails
  with a known, non-internal error code.
- Invalid arguments (valid ones broken in one random way) go to EVERY tool: each
  must come back as ``invalid_argument`` naming a field the schema rejected. In
  process the handler is replaced by one that fails the test if it is reached.

Most cases run in process through ``kitaru_mcp.surface.dispatch.Dispatcher`` (the code
path of an MCP call, minus the transport); a smaller sample goes through the
real stdio server. Every call is bounded: a hang fails the test. Examples are
derandomized, so a run is reproducible.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import sys
from collections import Counter
from functools import cache
from typing import Any

import anyio
import pytest
from contract_cases import CONTRACT
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from mcp_client import StdioClient

from kitaru_mcp.calls.stubs import ToolStub, _field_path

pytestmark = [pytest.mark.server, pytest.mark.slow]

TOOLS = {tool["name"]: tool for tool in CONTRACT["tools"]}
READ_TOOLS = sorted(name for name, tool in TOOLS.items() if tool["annotations"]["readOnlyHint"])
KNOWN_CODES = {
    "not_found",
    "invalid_argument",
    "conflict",
    "backend_unavailable",
    "timeout",
    "unsupported",
}
CALL_BOUND_S = 30  # no single call may take longer (a hang fails the test)
COUNTS: Counter[str] = Counter()  # printed by conftest in the session summary
ID_KEYS = ("exec_id", "other_exec_id", "artifact_id")

SETTINGS = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
    "phases": (Phase.explicit, Phase.generate, Phase.shrink),
}
IN_PROCESS_VALID, IN_PROCESS_INVALID = 10, 15
STDIO_VALID, STDIO_INVALID = 4, 5


# --- strategies ---------------------------------------------------------------------------


@cache
def schema_values(tool: str) -> st.SearchStrategy[Any]:
    """hypothesis-jsonschema's strategy for a tool's input (built once: that is the slow part)."""
    return from_schema(TOOLS[tool]["inputSchema"])


@functools.cache
def _dispatcher() -> Any:
    from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions

    return Dispatcher(ServeOptions(mode="destructive"))


async def call_stub(stub: Any, arguments: Any) -> Any:
    """One call through the server's dispatch path (every tool served)."""
    return await _dispatcher().call_tool(stub.name, arguments)


def json_values(finite: bool = True) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63)
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=6,
    )


def _object_paths(schema: dict[str, Any], value: Any, path: tuple[str, ...] = ()) -> list:
    """(path, schema) of every object level present in ``value``."""
    found = [(path, schema)]
    for name, prop in schema.get("properties", {}).items():
        if isinstance(value, dict) and isinstance(value.get(name), dict) and "properties" in prop:
            found += _object_paths(prop, value[name], (*path, name))
    return found


@st.composite
def broken_arguments(draw, tool: str, finite: bool = True, objects_only: bool = True) -> Any:
    """Valid arguments broken in one random way; never valid afterwards."""
    schema = TOOLS[tool]["inputSchema"]
    arguments = copy.deepcopy(draw(schema_values(tool)))
    kinds = ["wrong_value", "unknown_key", "drop_required"]
    if not objects_only:
        kinds.append("not_an_object")
    kind = draw(st.sampled_from(kinds))
    if kind == "not_an_object":
        arguments = draw(json_values(finite).filter(lambda v: not isinstance(v, dict | None)))
    else:
        path, level = draw(st.sampled_from(_object_paths(schema, arguments)))
        node = arguments
        for part in path:
            node = node[part]
        names = sorted(level.get("properties", {}))
        if kind == "wrong_value" and names:
            node[draw(st.sampled_from(names))] = draw(json_values(finite))
        elif kind == "unknown_key":
            key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in names))
            node[key] = draw(json_values(finite))
        elif kind == "drop_required" and level.get("required"):
            node.pop(draw(st.sampled_from(sorted(level["required"]))), None)
    assume(not Draft202012Validator(schema).is_valid(arguments))
    return arguments


@st.composite
def valid_arguments(draw, tool: str, ids: dict[str, list[str]]) -> dict[str, Any]:
    """Schema-valid arguments; ids are real ones half of the time."""
    schema = TOOLS[tool]["inputSchema"]
    arguments = copy.deepcopy(draw(schema_values(tool)))
    for key in ID_KEYS:
        if key in arguments and ids.get(key) and draw(st.booleans()):
            arguments[key] = draw(st.sampled_from(ids[key]))
    if not Draft202012Validator(schema).is_valid(arguments):
        arguments = draw(schema_values(tool))
    return arguments


# --- checks -------------------------------------------------------------------------------


def check_invalid(tool: str, arguments: Any, result: Any) -> None:
    text = result.content[0].text
    assert result.is_error, f"{tool} accepted invalid arguments {arguments!r}: {text}"
    assert "Traceback" not in text
    error = json.loads(text)
    assert error["code"] == "invalid_argument", (tool, arguments, error)
    assert error["retryable"] is False
    validator = Draft202012Validator(TOOLS[tool]["inputSchema"])
    rejected = {_field_path(e) for e in validator.iter_errors(arguments)}
    assert isinstance(error["field"], str) and error["field"], error
    assert error["field"] in rejected, (tool, arguments, error, rejected)
    assert error["field"] in error["message"], error


def check_valid(tool: str, arguments: dict[str, Any], result: Any) -> None:
    """A result of the output schema, or a known error (a flow's own logs may hold a
    traceback as data, so only errors are scanned for one)."""
    text = result.content[0].text
    if result.is_error:
        assert "Traceback" not in text, (tool, arguments, text)
        error = json.loads(text)
        assert error["code"] in KNOWN_CODES, (tool, arguments, error)
        assert error["message"], error
    else:
        assert json.loads(text) == result.structured_content
        Draft202012Validator(TOOLS[tool]["outputSchema"]).validate(result.structured_content)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _environment_restored():
    """Importing Kitaru in process sets ZENML_* variables: later servers must not inherit them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def real_ids(example_ids: dict[str, str]) -> dict[str, list[str]]:
    executions = [example_ids[k] for k in ("completed", "failed", "waiting")]
    return {
        "exec_id": executions,
        "other_exec_id": executions,
        "artifact_id": [example_ids["artifact_id"]],
        # waiting on a waiting execution would last its whole timeout: finished ones only
        "wait": [example_ids["completed"], example_ids["failed"]],
    }


def _stubs() -> dict[str, ToolStub]:
    from kitaru_mcp.generated.tools import TOOLS as stubs

    return stubs


def _call_in_process(stub: ToolStub, arguments: Any) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(CALL_BOUND_S):
            return await call_stub(stub, arguments)

    try:
        return anyio.run(bounded)
    except TimeoutError:
        pytest.fail(f"{stub.name} hung for {CALL_BOUND_S} s on {arguments!r}")


def _call_stdio(client: StdioClient, tool: str, arguments: dict[str, Any]) -> Any:
    try:
        return client._run(client.session.call_tool(tool, arguments), timeout=CALL_BOUND_S)
    except TimeoutError:
        pytest.fail(f"{tool} hung for {CALL_BOUND_S} s over stdio on {arguments!r}")


def _forbidden(arguments: dict[str, Any]) -> Any:
    raise AssertionError(f"the handler was reached with invalid arguments {arguments!r}")


# --- in process ---------------------------------------------------------------------------


@pytest.mark.parametrize("tool", READ_TOOLS)
def test_valid_arguments_in_process(tool: str, real_ids, monkeypatch) -> None:
    # ZenML finds its source root from __main__'s file; a pytest-xdist worker's
    # __main__ has none (a server process always has one), so lend it this file.
    monkeypatch.setattr(sys.modules["__main__"], "__file__", __file__, raising=False)
    stub = _stubs()[tool]
    ids = (
        {**real_ids, "exec_id": real_ids["wait"]} if tool == "kitaru_executions_wait" else real_ids
    )

    @settings(max_examples=IN_PROCESS_VALID, **SETTINGS)
    @given(valid_arguments(tool, ids))
    def run(arguments: dict[str, Any]) -> None:
        COUNTS["valid, in process"] += 1
        check_valid(tool, arguments, _call_in_process(stub, arguments))

    run()


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_invalid_arguments_in_process(tool: str) -> None:
    guarded = ToolStub(_stubs()[tool].spec, _forbidden)  # validation must stop every call

    @settings(max_examples=IN_PROCESS_INVALID, **SETTINGS)
    @given(broken_arguments(tool, finite=False, objects_only=False))
    def run(arguments: Any) -> None:
        COUNTS["invalid, in process"] += 1
        check_invalid(tool, arguments, _call_in_process(guarded, arguments))

    run()


# --- through the stdio server -------------------------------------------------------------


def _finite(value: Any) -> bool:
    """JSON-RPC carries no NaN or infinity."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@pytest.mark.parametrize("tool", READ_TOOLS)
def test_valid_arguments_over_stdio(tool: str, mcp_server: StdioClient, real_ids) -> None:
    ids = (
        {**real_ids, "exec_id": real_ids["wait"]} if tool == "kitaru_executions_wait" else real_ids
    )

    @settings(max_examples=STDIO_VALID, **SETTINGS)
    @given(valid_arguments(tool, ids))
    def run(arguments: dict[str, Any]) -> None:
        assume(_finite(arguments))
        COUNTS["valid, stdio"] += 1
        check_valid(tool, arguments, _call_stdio(mcp_server, tool, arguments))

    run()


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_invalid_arguments_over_stdio(tool: str, mcp_server: StdioClient) -> None:
    @settings(max_examples=STDIO_INVALID, **SETTINGS)
    @given(broken_arguments(tool))
    def run(arguments: dict[str, Any]) -> None:
        COUNTS["invalid, stdio"] += 1
        check_invalid(tool, arguments, _call_stdio(mcp_server, tool, arguments))

    run()
    assert mcp_server.list_tools(), "the server keeps answering"
