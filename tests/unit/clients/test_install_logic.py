"""`install` / `uninstall` decisions in-process on a temporary HOME (file edits only, no
client CLI): idempotence, the --force rule, dry runs, and what the messages say."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kitaru_mcp.clients import install
from kitaru_mcp.clients.entry import Entry, this_command
from kitaru_mcp.clients.files import ConfigError
from kitaru_mcp.clients.registry import CLIENTS

pytestmark = pytest.mark.unit


def target(tmp_path: Path, client: str = "cursor", scope: str = "user") -> install.Target:
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".cursor").mkdir(parents=True, exist_ok=True)
    project.mkdir(exist_ok=True)
    return install.Target(CLIENTS[client], scope, "kitaru", home, project, use_cli=False)


def test_install_then_again_then_a_change_of_options(tmp_path: Path) -> None:
    where = target(tmp_path)
    out = io.StringIO()
    first = Entry(this_command(), ("--mode", "read-only"))
    assert install.install(where, first, force=False, dry_run=False, out=out) == 0
    assert json.loads(where.path.read_text()) == {
        "mcpServers": {"kitaru": {"command": this_command(), "args": ["--mode", "read-only"]}}
    }
    out = io.StringIO()
    assert install.install(where, first, force=False, dry_run=False, out=out) == 0
    assert "nothing changed" in out.getvalue()
    # the same program with other options is ours: updated without --force
    out = io.StringIO()
    assert install.install(where, Entry(this_command()), force=False, dry_run=False, out=out) == 0
    assert out.getvalue().startswith("Updated 'kitaru' in Cursor (user)")
    assert json.loads(where.path.read_text())["mcpServers"]["kitaru"]["args"] == []


def test_someone_elses_entry_is_refused_and_described(tmp_path: Path) -> None:
    where = target(tmp_path)
    where.path.write_text(json.dumps({"mcpServers": {"kitaru": {"url": "http://127.0.0.1:9/mcp"}}}))
    with pytest.raises(ConfigError) as refused:
        install.install(where, Entry(this_command()), False, False, io.StringIO())
    assert "starts something else: {'url': 'http://127.0.0.1:9/mcp'}" in str(refused.value)
    with pytest.raises(ConfigError, match="--force to remove it anyway"):
        install.uninstall(where, False, False, io.StringIO())
    assert install.uninstall(where, True, False, io.StringIO()) == 0
    assert json.loads(where.path.read_text()) == {"mcpServers": {}}


def test_dry_run_of_a_new_file_shows_the_whole_file(tmp_path: Path) -> None:
    where = target(tmp_path, "gemini", "project")
    out = io.StringIO()
    entry = Entry(this_command(), (), {"KITARU_API_KEY": "abc123secret"})
    assert install.install(where, entry, False, True, out) == 0
    text = out.getvalue()
    assert text.splitlines()[0] == f"Gemini CLI (project): would change {where.path}"
    assert "--- (no file yet)" in text
    assert '+        "KITARU_API_KEY": "***"' in text and "abc123secret" not in text
    assert not where.path.exists() and not where.path.parent.exists()


def test_claude_desktop_is_told_to_restart(tmp_path: Path) -> None:
    where = target(tmp_path, "claude-desktop")
    where.path.parent.mkdir(parents=True)
    out = io.StringIO()
    assert install.install(where, Entry(this_command()), False, False, out) == 0
    assert "  next: restart Claude Desktop to load it" in out.getvalue().splitlines()
