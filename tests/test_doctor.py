"""`kitaru-mcp doctor` in a HOME of its own: what it reports, its exit status, that it
never prints a credential, and that it writes nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import home_env

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

OURS = str(Path(sys.executable).parent / "kitaru-mcp")
SECRET = "k1t4ru-api-key-value"


def doctor(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KITARU_", "ZENML_STORE")) and k != "XDG_CONFIG_HOME"
    }
    base.update(home_env(home))
    base["PATH"] = os.pathsep.join(
        p for p in base.get("PATH", "").split(os.pathsep) if not Path(p, "kitaru-mcp").exists()
    )
    base.update(env)
    return subprocess.run(
        [OURS, "doctor", *args], env=base, cwd=home, capture_output=True, text=True, timeout=120
    )


def checks(done: subprocess.CompletedProcess) -> dict[str, dict[str, Any]]:
    payload = json.loads(done.stdout)
    assert payload["ok"] == (done.returncode == 0)
    return {check["name"]: check for check in payload["checks"]}


def tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_fresh_home_is_healthy_and_doctor_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    started = time.monotonic()
    done = doctor(home, "--json")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    found = checks(done)
    assert found["versions"]["ok"]
    assert "Kitaru 0.21." in found["versions"]["detail"]
    assert (
        f"Python {sys.version_info.major}.{sys.version_info.minor}" in found["versions"]["detail"]
    )
    database = home / ".config" / "kitaru" / "local_stores" / "default_zen_store" / "zenml.db"
    assert found["connection"]["detail"].startswith(
        f"embedded local store, to be created at {database}"
    )
    assert found["target roots"]["detail"].startswith(str(home))
    assert found["PATH"]["detail"].startswith("no kitaru-mcp on PATH")
    assert found["settings"]["ok"]
    assert tree(home) == {}  # nothing written: no store, no config
    assert took < 10, f"doctor took {took:.1f} s"


def test_a_client_that_starts_another_installation_fails_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".cursor").mkdir(parents=True)
    (home / ".claude.json").write_text(
        json.dumps({"mcpServers": {"kitaru": {"type": "stdio", "command": OURS, "args": []}}})
    )
    (home / ".cursor" / "mcp.json").write_text(
        json.dumps({"mcpServers": {"kitaru": {"command": "/old/venv/bin/kitaru-mcp"}}})
    )
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text('{"mcpServers": {,}}')
    before = tree(home)
    done = doctor(home)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert (
        f"✓ claude-code (user): 'kitaru' in {home / '.claude.json'} starts this installation"
        in lines
    )
    cursor = lines.index(
        f"✗ cursor (user): 'kitaru' in {home / '.cursor' / 'mcp.json'} starts "
        "/old/venv/bin/kitaru-mcp, not this installation"
    )
    assert lines[cursor + 1] == "    fix: kitaru-mcp install cursor --scope user --force"
    assert any(
        line.startswith(
            f"✗ gemini (user): {home / '.gemini' / 'settings.json'} is not valid JSON (line 1"
        )
        for line in lines
    )
    assert tree(home) == before


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'"OK"' if self.path == "/health" else b"{}"
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)


def test_a_server_that_answers_and_credentials_never_shown(
    tmp_path: Path, health_server: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    url = health_server.replace("http://", f"http://admin:{SECRET}@") + "/?token=" + SECRET
    done = doctor(home, "--json", KITARU_SERVER_URL=url, KITARU_API_KEY=SECRET)
    assert done.returncode == 0, done.stdout
    assert SECRET not in done.stdout + done.stderr
    found = checks(done)
    assert found["connection"]["detail"] == (
        f"local Kitaru server at {health_server}/ (from KITARU_SERVER_URL): answers"
    )
    assert found["credentials"]["detail"] == "present, from KITARU_API_KEY (not shown)"


def test_a_server_that_does_not_answer_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = doctor(home, KITARU_SERVER_URL=f"http://127.0.0.1:{port}", ZENML_STORE_API_KEY=SECRET)
    assert done.returncode == 1
    assert SECRET not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    failed = next(line for line in lines if line.startswith("✗ connection:"))
    assert (
        f"local Kitaru server at http://127.0.0.1:{port} (from KITARU_SERVER_URL) does not answer"
        in failed
    )
    assert lines[lines.index(failed) + 1].startswith("    fix: start it with `kitaru login`")
    assert "✓ credentials: present, from ZENML_STORE_API_KEY (not shown)" in lines


def test_another_kitaru_mcp_first_on_path_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    other = tmp_path / "old-venv" / "bin"
    home.mkdir()
    other.mkdir(parents=True)
    (other / "kitaru-mcp").write_text("#!/bin/sh\nexit 0\n")
    (other / "kitaru-mcp").chmod(0o755)
    done = doctor(home, "--json", PATH=f"{other}{os.pathsep}{os.environ['PATH']}")
    assert done.returncode == 1
    found = checks(done)["PATH"]
    assert not found["ok"]
    assert found["detail"].startswith(
        f"kitaru-mcp on PATH is {other / 'kitaru-mcp'}, not this installation"
    )
    assert found["fix"].startswith(f"put {Path(OURS).parent} first on PATH")


def test_a_setting_the_server_would_refuse_fails_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = doctor(home, "--json", KITARU_MCP_CALL_TIMEOUT="soon")
    assert done.returncode != 0
    found = checks(done)["settings"]
    assert not found["ok"] and "the server will not start" in found["fix"]
    assert (
        found["detail"]
        == "KITARU_MCP_CALL_TIMEOUT must be a number of seconds above 0, not 'soon'."
    )
    served = subprocess.run(
        [OURS],
        env={**os.environ, **home_env(home), "KITARU_MCP_CALL_TIMEOUT": "soon"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert (
        "kitaru-mcp: KITARU_MCP_CALL_TIMEOUT must be a number of seconds above 0" in served.stderr
    )
