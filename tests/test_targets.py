"""Target roots: `.py` targets outside the allowed roots are refused before anything runs.

The session server (cwd = the repository) uses the default root, its working
directory; other servers here are started with ``--allow-target-root`` or
``KITARU_MCP_TARGET_ROOTS``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT
from mcp_client import StdioClient

from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import InvalidArgument

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> dict[str, Path]:
    """An allowed root with a real flow and two symlinks leading out, and a file outside."""
    base = tmp_path_factory.mktemp("targets")
    allowed, outside = base / "allowed", base / "outside"
    allowed.mkdir()
    outside.mkdir()
    shutil.copy(EXAMPLES / "two_steps.py", allowed / "allowed_flow.py")
    shutil.copy(EXAMPLES / "two_steps.py", outside / "evil_flow.py")
    (allowed / "link_flow.py").symlink_to(outside / "evil_flow.py")
    (allowed / "linked_dir").symlink_to(outside, target_is_directory=True)
    return {"allowed": allowed, "outside": outside, "evil": outside / "evil_flow.py"}


def refused(client: StdioClient, target: str, tool: str = "kitaru_executions_run") -> dict:
    error = client.error(tool, {"target": target})
    assert error["code"] == "invalid_argument", error
    assert error["field"] == "target", error
    assert "outside the allowed target roots" in error["message"], error
    assert "--allow-target-root" in error["hint"]
    return error


def test_dotdot_escape_is_refused(mcp_server: StdioClient, layout) -> None:
    relative = os.path.relpath(layout["evil"], ROOT)
    assert relative.startswith("..")
    error = refused(mcp_server, f"{relative}:two_steps")
    assert str(layout["evil"]) in error["message"], "the resolved path is named"
    assert str(ROOT) in error["message"], "and so are the allowed roots"
    refused(mcp_server, "examples/../../../etc/passwd.py:flow")


def test_absolute_path_outside_is_refused(mcp_server: StdioClient, layout) -> None:
    refused(mcp_server, f"{layout['evil']}:two_steps")
    refused(mcp_server, f"{layout['evil']}:two_steps", tool="kitaru_deployments_deploy")
    # a file that does not exist outside the roots is refused the same way: no probing
    refused(mcp_server, f"{layout['outside']}/no_such_file.py:flow")


def test_paths_inside_the_default_root_still_work(mcp_server: StdioClient) -> None:
    missing = mcp_server.error("kitaru_executions_run", {"target": "examples/missing.py:flow"})
    assert "does not exist" in missing["message"]
    absolute = mcp_server.ok(
        "kitaru_executions_run",
        {"target": f"{EXAMPLES / 'two_steps.py'}:two_steps", "args": {"name": "rooted"}},
    )
    assert absolute["available"] is True


def test_symlink_escape_is_refused_and_the_allowed_root_works(layout) -> None:
    allowed = layout["allowed"]
    command = [sys.executable, "-m", "kitaru_mcp", "--allow-target-root", str(allowed)]
    with StdioClient(command, cwd=ROOT) as client:
        error = refused(client, f"{allowed / 'link_flow.py'}:two_steps")
        assert str(layout["evil"]) in error["message"], "the symlink is resolved"
        refused(client, f"{allowed / 'linked_dir' / 'evil_flow.py'}:two_steps")
        # the repository is not a root of this server: only --allow-target-root is
        refused(client, "examples/two_steps.py:two_steps")

        started = client.ok(
            "kitaru_executions_run",
            {"target": f"{allowed / 'allowed_flow.py'}:two_steps", "args": {"name": "allowed"}},
        )
        assert started["available"] is True
        assert started["execution"]["flow"] == "two_steps"
        # module targets are imported by name, not checked against the roots
        module = client.error("kitaru_executions_run", {"target": "no_such_module_xyz:flow"})
        assert "cannot be found" in module["message"]


def test_roots_from_the_environment(layout, monkeypatch) -> None:
    """KITARU_MCP_TARGET_ROOTS holds several roots, os.pathsep-separated."""
    monkeypatch.setenv(
        settings.TARGET_ROOTS_ENV, os.pathsep.join([str(ROOT), str(layout["allowed"])])
    )
    assert settings.target_roots() == [ROOT.resolve(), layout["allowed"].resolve()]
    settings.check_target(f"{layout['allowed'] / 'allowed_flow.py'}:two_steps")
    settings.check_target("examples/two_steps.py:two_steps")
    settings.check_target("my_pkg.flows:agent")  # a module: imported by name
    for bad in (layout["evil"], layout["allowed"] / "link_flow.py"):
        with pytest.raises(InvalidArgument, match="outside the allowed target roots") as caught:
            settings.check_target(f"{bad}:two_steps")
        assert caught.value.field == "target"
    monkeypatch.delenv(settings.TARGET_ROOTS_ENV)
    assert settings.target_roots() == [Path.cwd().resolve()]
