"""The MCP App wiring: the ui:// resource, the tools that link it, the capability."""

from __future__ import annotations

import json

import mcp.types as types
import pytest
from conftest import ROOT
from mcp.shared.exceptions import MCPError

from kitaru_mcp.surface import app_view
from kitaru_mcp.surface.dispatch import Dispatcher
from kitaru_mcp.surface.server import ServeOptions, build_server, to_mcp_tool

pytestmark = pytest.mark.store

LINKED = {
    "kitaru_executions_get",
    "kitaru_executions_latest",
    "kitaru_executions_run",
    "kitaru_executions_wait",
}


def test_constants_match_the_sdk() -> None:
    from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

    assert app_view.APP_MIME_TYPE == APP_MIME_TYPE
    assert app_view.EXTENSION_ID == EXTENSION_ID


def test_the_contract_links_the_execution_tools_to_the_view() -> None:
    contract = json.loads((ROOT / "generated" / "contract.json").read_text())
    linked = {t["name"] for t in contract["tools"] if "_meta" in t}
    assert linked == LINKED
    for tool in contract["tools"]:
        if tool["name"] in LINKED:
            assert tool["_meta"] == {"ui": {"resourceUri": app_view.EXECUTION_URI}}


def test_listed_tools_carry_the_meta_on_the_wire() -> None:
    served = Dispatcher(ServeOptions()).served
    wire = {
        name: to_mcp_tool(stub).model_dump(by_alias=True, exclude_none=True)
        for name, stub in served.items()
    }
    for name, tool in wire.items():
        if name in LINKED:
            assert tool["_meta"]["ui"]["resourceUri"] == "ui://kitaru/execution"
        else:
            assert "_meta" not in tool


def test_the_resource_is_listed_and_read_with_the_app_mime_type() -> None:
    [listed] = app_view.listing()
    assert str(listed.uri) == app_view.EXECUTION_URI
    assert listed.mime_type == "text/html;profile=mcp-app"
    assert listed.meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}
    read = app_view.read(app_view.EXECUTION_URI)
    [content] = read.contents
    assert isinstance(content, types.TextResourceContents)
    assert content.mime_type == "text/html;profile=mcp-app"
    assert content.text.startswith("<!doctype html>")
    with pytest.raises(MCPError):
        app_view.read("ui://kitaru/nothing")


def test_the_extension_is_advertised() -> None:
    server = build_server(ServeOptions())
    capabilities = server.get_capabilities()
    assert capabilities.extensions == {app_view.EXTENSION_ID: {}}


def test_resources_list_over_stdio_holds_the_view(mcp_server) -> None:
    listed = mcp_server._run(mcp_server.session.list_resources())
    assert [str(r.uri) for r in listed.resources] == [app_view.EXECUTION_URI]
    read = mcp_server._run(mcp_server.session.read_resource(app_view.EXECUTION_URI))
    assert read.contents[0].mime_type == app_view.APP_MIME_TYPE
