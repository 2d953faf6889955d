"""The pieces of `kitaru-mcp install`: entries, JSON and TOML edits, safe writes, the
clients' CLI command lines, the doctor's redaction (no server, no store, no client)."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from kitaru_mcp.clients import doctor, files, hint, json_config, native, toml_config
from kitaru_mcp.clients.entry import Entry, parse_env, same_program, this_command, this_entry
from kitaru_mcp.clients.files import ConfigError
from kitaru_mcp.clients.registry import CLIENTS

pytestmark = pytest.mark.unit

OURS = str(Path(sys.executable).parent / "kitaru-mcp")


def test_this_entry_is_the_absolute_script_next_to_this_interpreter(tmp_path: Path) -> None:
    entry = this_entry("read-only", "execution,artifact", [str(tmp_path / "a" / "..")], {"K": "v"})
    assert entry.command == OURS == this_command()
    assert Path(entry.command).is_absolute()
    assert entry.args == (
        "--mode",
        "read-only",
        "--toolsets",
        "execution,artifact",
        "--allow-target-root",
        str(tmp_path.resolve()),
    )
    assert entry.env == {"K": "v"}
    assert same_program(entry.command)
    assert not same_program("/usr/bin/true")


def test_entries_compare_by_command_args_and_env_not_by_type_key() -> None:
    raw = {"type": "stdio", "command": OURS, "args": ["--mode", "destructive"], "env": {}}
    assert Entry.from_mapping(raw) == Entry(OURS, ("--mode", "destructive"))
    assert Entry.from_mapping({"url": "http://127.0.0.1:1/mcp"}) is None
    assert Entry(OURS, (), {"TOKEN": "s3cret"}).describe() == f"{OURS} (env: TOKEN)"


def test_parse_env_takes_key_value_and_never_echoes_a_value() -> None:
    assert parse_env(["A=1", "B_2=x=y", "EMPTY="]) == {"A": "1", "B_2": "x=y", "EMPTY": ""}
    with pytest.raises(ValueError, match=r"\(no '='\)") as bad:
        parse_env(["s3cretvalue"])
    assert "s3cretvalue" not in str(bad.value)
    with pytest.raises(ValueError):
        parse_env(["=x"])


def test_json_edit_changes_only_our_entry(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    doc = json_config.parse(path, '{"theme": "dark", "mcpServers": {"other": {"command": "o"}}}')
    json_config.put(path, doc, "mcpServers", "kitaru", {"command": OURS, "args": []})
    assert doc == {
        "theme": "dark",
        "mcpServers": {"other": {"command": "o"}, "kitaru": {"command": OURS, "args": []}},
    }
    assert json_config.remove(path, doc, "mcpServers", "kitaru") is True
    assert json_config.remove(path, doc, "mcpServers", "kitaru") is False
    assert (
        json_config.dump(doc)
        == json.dumps({"theme": "dark", "mcpServers": {"other": {"command": "o"}}}, indent=2) + "\n"
    )


def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with pytest.raises(ConfigError) as bad:
        json_config.parse(path, '{\n  "a": 1,\n  "b": \n}\n')
    assert str(path) in str(bad.value)
    assert "line 4" in str(bad.value)
    assert json_config.parse(path, "  \n") == {}
    with pytest.raises(ConfigError, match="comments and trailing commas are not JSON"):
        json_config.parse(path, '{\n  // my servers\n  "servers": {}\n}\n')
    with pytest.raises(ConfigError, match="not an object"):
        json_config.get(path, {"mcpServers": []}, "mcpServers", "kitaru")


def test_toml_edit_keeps_comments_and_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = '# my settings\nmodel = "o3"\n\n[mcp_servers.other]\ncommand = "o"  # keep me\n'
    doc = toml_config.parse(path, text)
    toml_config.put(
        path,
        doc,
        "mcp_servers",
        "kitaru",
        {"command": OURS, "args": ["--mode", "read-only"], "env": {"K": "v"}},
    )
    out = toml_config.dump(doc)
    assert out.startswith(text)
    assert f'[mcp_servers.kitaru]\ncommand = "{OURS}"\nargs = ["--mode", "read-only"]' in out
    assert '[mcp_servers.kitaru.env]\nK = "v"' in out
    assert toml_config.get(path, toml_config.parse(path, out), "mcp_servers", "kitaru") == {
        "command": OURS,
        "args": ["--mode", "read-only"],
        "env": {"K": "v"},
    }
    assert toml_config.remove(path, doc, "mcp_servers", "kitaru")
    assert toml_config.dump(doc).rstrip() == text.rstrip()


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as bad:
        toml_config.parse(path, 'model = "o3"\n[mcp_servers\n')
    assert str(path) in str(bad.value) and "line 2" in str(bad.value)


def test_atomic_write_keeps_the_mode_and_narrows_for_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    files.write_atomic(path, '{"a": 1}\n')
    assert path.read_text() == '{"a": 1}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    files.write_atomic(path, '{"a": 2}\n', secret=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    new = tmp_path / "new.json"
    files.write_atomic(new, "{}\n", secret=True)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "new.json"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        files.write_atomic(tmp_path / "nope" / "mcp.json", "{}")


def test_backup_is_made_once_before_the_first_change(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    assert files.backup_once(path) is None
    path.write_text("first")
    backup = files.backup_once(path)
    path.write_text("second")
    assert files.backup_once(path) == backup
    assert backup is not None and backup.read_text() == "first"


def test_native_command_lines_and_secrets_hidden() -> None:
    entry = Entry(OURS, ("--mode", "read-only"), {"KITARU_API_KEY": "s3cret"})
    claude = native.add_argv("claude", "/bin/claude", "user", "kitaru", entry)
    assert claude == [
        "/bin/claude", "mcp", "add", "--scope", "user", "kitaru",
        "-e", "KITARU_API_KEY=s3cret", "--", OURS, "--mode", "read-only",
    ]  # fmt: skip
    codex = native.add_argv("codex", "/bin/codex", "user", "kitaru", entry)
    assert codex[:4] == ["/bin/codex", "mcp", "add", "kitaru"] and "--scope" not in codex
    gemini = native.add_argv("gemini", "/bin/gemini", "project", "kitaru", entry)
    assert gemini[-4:] == [OURS, "--", "--mode", "read-only"]
    bare = native.add_argv("gemini", "/bin/gemini", "user", "kitaru", Entry(OURS))
    assert bare == ["/bin/gemini", "mcp", "add", "--scope", "user", "kitaru", OURS]
    assert native.remove_argv("codex", "codex", "user", "kitaru") == [
        "codex",
        "mcp",
        "remove",
        "kitaru",
    ]
    assert "s3cret" not in native.shown(claude, entry)
    assert "KITARU_API_KEY=***" in native.shown(claude, entry)


def test_the_registry_knows_seven_clients_and_their_keys(tmp_path: Path) -> None:
    assert list(CLIENTS) == [
        "claude-code", "claude-desktop", "codex", "cursor", "vscode", "windsurf", "gemini",
    ]  # fmt: skip
    assert CLIENTS["vscode"].key == "servers"
    assert CLIENTS["codex"].key == "mcp_servers" and CLIENTS["codex"].format == "toml"
    assert (
        CLIENTS["claude-code"].path("project", tmp_path, tmp_path / "p")
        == tmp_path / "p" / ".mcp.json"
    )
    assert CLIENTS["windsurf"].scopes == ("user",)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("darwin", "Library/Application Support/Claude/claude_desktop_config.json"),
        ("linux", ".config/Claude/claude_desktop_config.json"),
    ],
)
def test_claude_desktops_file_per_os(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, expected: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert CLIENTS["claude-desktop"].path("user", tmp_path, tmp_path) == tmp_path / expected
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert CLIENTS["vscode"].path("user", tmp_path, tmp_path) == (
        tmp_path / "Roaming" / "Code" / "User" / "mcp.json"
    )


def test_doctor_redacts_urls() -> None:
    assert (
        doctor.redact("https://me:pw@example.com:8080/api?token=x#f")
        == "https://example.com:8080/api"
    )


def test_hint_only_for_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = io.StringIO()
    assert hint.print_hint(io.StringIO(), err) is False and err.getvalue() == ""
    assert hint.print_hint(Tty(), err) is True
    assert "kitaru-mcp install <client>" in err.getvalue() and "Ctrl-C" in err.getvalue()
