"""`kitaru-mcp install` / `uninstall` against real client files in a temporary HOME, with
Claude Code, Codex and Gemini CLI themselves (pinned in tests/clients) as the judges.

Each test owns its HOME and project folder. The clients' CLIs are installed by npm on
first use; in CI they run, never skip.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import node_clients
import pytest
from conftest import home_env

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

OURS = str(Path(sys.executable).parent / "kitaru-mcp")
SECRET = "s3cret-value-0123"


def plain_env(home: Path) -> dict[str, str]:
    """A HOME of its own and a PATH without the clients' CLIs: install edits the files."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "APPDATA")}
    env.update(home_env(home))
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not Path(p, "claude").exists()
    )
    return env


def client_env(home: Path) -> dict[str, str]:
    """The clients' CLIs first on PATH (Node 22 with them), as a user who has them."""
    env = node_clients.env(home, **home_env(home))
    env.pop("XDG_CONFIG_HOME", None)
    return env


def kitaru_mcp(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OURS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def cli(name: str, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node_clients.binary(name), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


# Each client's user file as the client itself would have it, with someone else's server.
SEEDS: dict[str, tuple[str, str]] = {
    "claude-code": (
        ".claude.json",
        json.dumps({"numStartups": 3, "mcpServers": {"other": {"type": "stdio", "command": "o"}}}),
    ),
    "claude-desktop": (
        ".config/Claude/claude_desktop_config.json",
        json.dumps({"globalShortcut": "", "mcpServers": {"other": {"command": "o"}}}),
    ),
    "codex": (
        ".codex/config.toml",
        '# my Codex settings\nmodel = "o3"\n\n[mcp_servers.other]\ncommand = "o"  # keep\n',
    ),
    "cursor": (".cursor/mcp.json", json.dumps({"mcpServers": {"other": {"command": "o"}}})),
    "vscode": (
        ".config/Code/User/mcp.json",
        json.dumps({"inputs": [], "servers": {"other": {"type": "stdio", "command": "o"}}}),
    ),
    "windsurf": (
        ".codeium/windsurf/mcp_config.json",
        json.dumps({"mcpServers": {"other": {"command": "o"}}}),
    ),
    "gemini": (
        ".gemini/settings.json",
        json.dumps({"theme": "GitHub", "mcpServers": {"other": {"command": "o"}}}),
    ),
}


def read(path: Path) -> dict[str, Any]:
    text = path.read_text()
    return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)


def servers(path: Path) -> dict[str, Any]:
    doc = read(path)
    key = (
        "servers" if "servers" in doc else "mcp_servers" if path.suffix == ".toml" else "mcpServers"
    )
    return doc.get(key, {})


def seed(home: Path, client: str) -> Path:
    relative, text = SEEDS[client]
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("client", list(SEEDS))
def test_install_edits_only_our_entry_in_each_clients_file(tmp_path: Path, client: str) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    path = seed(home, client)
    before = path.read_text()
    before_doc = read(path)
    env = plain_env(home)
    args = ["--mode", "read-only", "--toolsets", "execution,artifact"]
    args += ["--allow-target-root", str(project), "--env", f"TOKEN={SECRET}"]

    done = kitaru_mcp(env, project, "install", client, *args)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    entry = servers(path)["kitaru"]
    assert entry["command"] == OURS
    assert entry["args"] == [
        "--mode", "read-only", "--toolsets", "execution,artifact",
        "--allow-target-root", str(project.resolve()),
    ]  # fmt: skip
    assert entry["env"] == {"TOKEN": SECRET}
    assert servers(path)["other"]["command"] == "o"
    assert {
        k: v for k, v in read(path).items() if k not in ("mcpServers", "servers", "mcp_servers")
    } == {k: v for k, v in before_doc.items() if k not in ("mcpServers", "servers", "mcp_servers")}
    if client == "codex":
        assert path.read_text().startswith('# my Codex settings\nmodel = "o3"')
        assert 'command = "o"  # keep' in path.read_text()
    assert mode_of(path) == 0o600  # it holds an --env value
    backup = path.with_name(path.name + ".kitaru-mcp.bak")
    assert backup.read_text() == before

    written = path.read_bytes(), path.stat().st_mtime_ns
    again = kitaru_mcp(env, project, "install", client, *args)
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert (path.read_bytes(), path.stat().st_mtime_ns) == written

    gone = kitaru_mcp(env, project, "uninstall", client)
    assert gone.returncode == 0, gone.stderr
    assert "kitaru" not in servers(path)
    assert servers(path)["other"]["command"] == "o"
    assert backup.read_text() == before  # the backup is of the file before our first change
    assert kitaru_mcp(env, project, "uninstall", client).stdout.count("nothing changed") == 1


def test_project_scope_writes_the_file_in_the_current_folder(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    done = kitaru_mcp(plain_env(home), project, "install", "vscode", "--scope", "project")
    assert done.returncode == 0, done.stderr
    doc = json.loads((project / ".vscode" / "mcp.json").read_text())
    assert doc == {"servers": {"kitaru": {"type": "stdio", "command": OURS, "args": []}}}
    assert mode_of(project / ".vscode" / "mcp.json") == 0o644
    refused = kitaru_mcp(plain_env(home), project, "install", "windsurf", "--scope", "project")
    assert refused.returncode == 2
    assert "has no project scope" in refused.stderr


def test_a_files_mode_is_kept_when_no_secret_is_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = seed(home, "cursor")
    os.chmod(path, 0o640)
    done = kitaru_mcp(plain_env(home), tmp_path, "install", "cursor")
    assert done.returncode == 0, done.stderr
    assert mode_of(path) == 0o640
    assert servers(path)["kitaru"] == {"command": OURS, "args": []}


def test_dry_run_prints_the_change_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = seed(home, "gemini")
    before = path.read_text()
    done = kitaru_mcp(
        plain_env(home), tmp_path, "install", "gemini", "--dry-run", "--env", f"TOKEN={SECRET}"
    )
    assert done.returncode == 0, done.stderr
    assert f"would change {path}" in done.stdout
    assert f'+      "command": "{OURS}",' in done.stdout
    assert '+        "TOKEN": "***"' in done.stdout
    assert SECRET not in done.stdout
    assert path.read_text() == before
    assert not path.with_name(path.name + ".kitaru-mcp.bak").exists()


def test_a_same_name_entry_that_starts_something_else_needs_force(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = home / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    old = {"mcpServers": {"kitaru": {"command": "/old/venv/bin/kitaru-mcp", "args": ["-v"]}}}
    path.write_text(json.dumps(old))
    env = plain_env(home)
    refused = kitaru_mcp(env, tmp_path, "install", "cursor")
    assert refused.returncode == 1
    assert "starts something else: /old/venv/bin/kitaru-mcp -v" in refused.stderr
    assert "--force" in refused.stderr
    assert json.loads(path.read_text()) == old
    assert kitaru_mcp(env, tmp_path, "uninstall", "cursor").returncode == 1
    forced = kitaru_mcp(env, tmp_path, "install", "cursor", "--force")
    assert forced.returncode == 0, forced.stderr
    assert servers(path)["kitaru"] == {"command": OURS, "args": []}
    beside = kitaru_mcp(
        env, tmp_path, "install", "cursor", "--name", "kitaru-ro", "--mode", "read-only"
    )
    assert beside.returncode == 0, beside.stderr
    assert set(servers(path)) == {"kitaru", "kitaru-ro"}


@pytest.mark.parametrize(
    ("client", "text", "line"),
    [
        ("gemini", '{\n  "theme": "GitHub",\n  "mcpServers": {,}\n}\n', "line 3"),
        ("codex", 'model = "o3"\n\n[mcp_servers.other\ncommand = "o"\n', "line 3"),
    ],
)
def test_an_invalid_config_is_never_overwritten(
    tmp_path: Path, client: str, text: str, line: str
) -> None:
    home = tmp_path / "home"
    path = home / SEEDS[client][0]
    path.parent.mkdir(parents=True)
    path.write_text(text)
    done = kitaru_mcp(plain_env(home), tmp_path, "install", client)
    assert done.returncode == 1
    assert str(path) in done.stderr and line in done.stderr
    assert "unchanged" in done.stderr
    assert path.read_text() == text
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_missing_config_folder_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = kitaru_mcp(plain_env(home), tmp_path, "install", "windsurf")
    assert done.returncode == 1
    assert f"the folder {home / '.codeium' / 'windsurf'} does not exist" in done.stderr
    assert not (home / ".codeium").exists()


def test_an_unknown_client_lists_the_known_ones(tmp_path: Path) -> None:
    done = kitaru_mcp(plain_env(tmp_path), tmp_path, "install", "notepad")
    assert done.returncode == 2
    for name in SEEDS:
        assert f"'{name}'" in done.stderr


def test_bad_options_are_usage_errors_and_write_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = seed(home, "cursor")
    before = path.read_text()
    toolsets = kitaru_mcp(plain_env(home), tmp_path, "install", "cursor", "--toolsets", "nope")
    assert toolsets.returncode == 2
    assert "unknown toolset(s) nope" in toolsets.stderr
    env = kitaru_mcp(plain_env(home), tmp_path, "install", "cursor", "--env", SECRET)
    assert env.returncode == 2
    assert "--env takes KEY=VALUE" in env.stderr and SECRET not in env.stderr
    assert path.read_text() == before


def _claude_lists(env: dict[str, str], cwd: Path) -> str:
    listed = cli("claude", env, cwd, "mcp", "list")
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


@pytest.mark.parametrize("via", ["cli", "file"])
def test_claude_code_connects_after_install_and_forgets_after_uninstall(
    tmp_path: Path, via: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = client_env(home)
    extra = ["--no-cli"] if via == "file" else []
    done = kitaru_mcp(env, home, "install", "claude-code", "--mode", "read-only", *extra)
    assert done.returncode == 0, done.stderr
    listed = _claude_lists(env, home)
    line = next(row for row in listed.splitlines() if row.startswith("kitaru:"))
    assert f"{OURS} --mode read-only" in line and "✔ Connected" in line, listed
    got = cli("claude", env, home, "mcp", "get", "kitaru")
    assert got.returncode == 0 and f"Command: {OURS}" in got.stdout, got.stdout
    gone = kitaru_mcp(env, home, "uninstall", "claude-code", *extra)
    assert gone.returncode == 0, gone.stderr
    assert "kitaru:" not in _claude_lists(env, home)
    assert cli("claude", env, home, "mcp", "get", "kitaru").returncode != 0


@pytest.mark.parametrize("via", ["cli", "file"])
def test_codex_lists_our_server_after_install_and_not_after_uninstall(
    tmp_path: Path, via: str
) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    env = client_env(home)
    extra = ["--no-cli"] if via == "file" else []
    done = kitaru_mcp(env, home, "install", "codex", "--env", f"KITARU_API_KEY={SECRET}", *extra)
    assert done.returncode == 0, done.stderr
    got = cli("codex", env, home, "mcp", "get", "kitaru")
    assert got.returncode == 0, got.stderr
    assert f"command: {OURS}" in got.stdout
    assert "env: KITARU_API_KEY=*****" in got.stdout
    assert mode_of(home / ".codex" / "config.toml") == 0o600
    listed = cli("codex", env, home, "mcp", "list")
    assert any(row.split()[:2] == ["kitaru", OURS] for row in listed.stdout.splitlines())
    gone = kitaru_mcp(env, home, "uninstall", "codex", *extra)
    assert gone.returncode == 0, gone.stderr
    assert cli("codex", env, home, "mcp", "get", "kitaru").returncode != 0
    listed = cli("codex", env, home, "mcp", "list")
    assert not any(row.startswith("kitaru") for row in listed.stdout.splitlines())


@pytest.mark.parametrize("via", ["cli", "file"])
def test_gemini_lists_our_server_after_install_and_not_after_uninstall(
    tmp_path: Path, via: str
) -> None:
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text('{"mcpServers": {"other": {"command": "o"}}}')
    env = client_env(home)
    extra = ["--no-cli"] if via == "file" else []
    done = kitaru_mcp(env, home, "install", "gemini", "--mode", "destructive", *extra)
    assert done.returncode == 0, done.stderr
    listed = cli("gemini", env, home, "mcp", "list")  # it prints the list on stderr
    assert listed.returncode == 0, listed.stderr
    assert f"kitaru: {OURS} --mode destructive (stdio)" in listed.stdout + listed.stderr
    gone = kitaru_mcp(env, home, "uninstall", "gemini", *extra)
    assert gone.returncode == 0, gone.stderr
    listed = cli("gemini", env, home, "mcp", "list")
    assert listed.returncode == 0, listed.stderr
    assert "kitaru:" not in listed.stdout + listed.stderr
    assert "other: o  (stdio)" in listed.stdout + listed.stderr
