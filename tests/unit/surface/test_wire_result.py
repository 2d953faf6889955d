"""A tool's result goes out as the mapping pydantic would dump it to, built directly."""

from __future__ import annotations

import mcp.types as types
import pytest

from kitaru_mcp.surface.server import wire_result

pytestmark = pytest.mark.unit


def _dumped(result: types.CallToolResult) -> dict:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


@pytest.mark.parametrize(
    "result",
    [
        types.CallToolResult(
            content=[types.TextContent(type="text", text='{"executions": []}')],
            structured_content={"executions": [{"exec_id": "a", "ended_at": None}], "n": 1.5},
        ),
        types.CallToolResult(
            content=[types.TextContent(type="text", text='{"code": "not_found"}')], is_error=True
        ),
    ],
)
def test_the_mapping_is_what_pydantic_dumps(result: types.CallToolResult) -> None:
    assert wire_result(result) == _dumped(result)
    assert isinstance(wire_result(result), dict)


def test_anything_else_goes_as_it_is() -> None:
    form = types.ElicitRequestFormParams(message="ok?", requested_schema={"type": "object"})
    asked = types.InputRequiredResult(input_requests={"k": types.ElicitRequest(params=form)})
    annotated = types.CallToolResult(
        content=[types.TextContent(type="text", text="x", annotations=types.Annotations())]
    )
    with_meta = types.CallToolResult(content=[], _meta={"k": "v"})
    for result in (asked, annotated, with_meta):
        assert wire_result(result) is result
