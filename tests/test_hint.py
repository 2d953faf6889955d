"""Started by hand in a terminal, kitaru-mcp says on stderr what it is and how to add it to
a client; started by a client (stdin a pipe), stderr stays as it was."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import home_env
from mcp_client import StdioClient

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

OURS = str(Path(sys.executable).parent / "kitaru-mcp")
NOTE = "It now waits for an MCP client on stdin"


def test_a_terminal_gets_the_note_and_the_server_keeps_serving(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [OURS],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **home_env(tmp_path)},
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(secondary)
    try:
        said = b""
        deadline = time.monotonic() + 120
        while b"Ctrl-C" not in said and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], deadline - time.monotonic())
            if not ready:
                break
            chunk = os.read(process.stderr.fileno(), 4096)  # type: ignore[union-attr]
            if not chunk:
                break
            said += chunk
        text = said.decode()
        assert NOTE in text, text
        assert "kitaru-mcp install <client>" in text and "kitaru-mcp doctor" in text
        assert len(text.strip().splitlines()) == 2
        assert process.poll() is None  # still serving, waiting on the terminal
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        os.close(primary)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_ctrl_c_while_it_starts_ends_it_quietly(tmp_path: Path, inherited: str) -> None:
    """Ctrl-C at once after the note (Kitaru and the server's modules still loading, the
    event loop not yet listening for signals): exit 0 within seconds, no traceback. Also
    when the server was started with SIGINT ignored (a shell's background job, a test
    runner's worker): before, that Ctrl-C was lost and the server served on."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [OURS],
        stdin=secondary,
        stderr=subprocess.PIPE,
        env={**os.environ, **home_env(tmp_path)},
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=_ignore_sigint if inherited == "ignored" else None,
    )
    os.close(secondary)
    try:
        said = b""
        while b"Ctrl-C" not in said:
            ready, _, _ = select.select([process.stderr], [], [], 60)
            chunk = os.read(process.stderr.fileno(), 4096) if ready else b""  # type: ignore[union-attr]
            assert chunk, f"no note: {said!r}"
            said += chunk
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        rest = process.stderr.read().decode()  # type: ignore[union-attr]
        assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)


def test_a_client_on_a_pipe_sees_no_note(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    client = StdioClient([OURS], env=home_env(tmp_path), cwd=tmp_path)
    client.start(errlog_path=log)
    try:
        assert any(tool.name == "kitaru_executions_list" for tool in client.list_tools())
    finally:
        client.close()
    assert NOTE not in log.read_text()
