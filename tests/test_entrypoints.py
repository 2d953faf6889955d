"""Entry points: ours is the kitaru-mcp on PATH, and start-up never imports Kitaru."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import home_env
from mcp_client import StdioClient

from kitaru_mcp import __version__

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent


def test_kitaru_mcp_on_path_is_ours() -> None:
    script = shutil.which("kitaru-mcp", path=str(BIN))
    assert script is not None
    assert "kitaru_mcp" in Path(script).read_text()
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"kitaru-mcp {__version__}"


def test_python_dash_m_prints_the_same_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == f"kitaru-mcp {__version__}"


def _probe(tmp_path: Path, warm_up: bool) -> Path:
    """A server script that records its modules when it exits (and when Kitaru arrives)."""
    modules_file = tmp_path / "modules.txt"
    probe = (
        "import os, runpy, sys, threading, time\n"
        f"out = {str(modules_file)!r}\n"
        f"os.environ['KITARU_MCP_WARMUP'] = {'1' if warm_up else '0'!r}\n"
        "def record():\n"
        "    open(out, 'w').write('\\n'.join(list(sys.modules)))\n"
        "real_exit = os._exit\n"
        "os._exit = lambda code: (record(), real_exit(code))\n"
        "def watch():\n"
        "    while 'kitaru.client' not in sys.modules:\n"
        "        time.sleep(0.05)\n"
        "    open(out + '.warm', 'w').write(str(time.monotonic()))\n"
        "threading.Thread(target=watch, daemon=True).start()\n"
        "sys.argv = ['kitaru-mcp']\n"
        "runpy.run_module('kitaru_mcp', run_name='__main__')\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(probe)
    return script


def test_initialize_and_list_tools_import_neither_kitaru_nor_zenml(tmp_path: Path) -> None:
    script = _probe(tmp_path, warm_up=False)
    # its own HOME: runner records left by other tests would make the reaper open the store
    with StdioClient([sys.executable, str(script)], env=home_env(tmp_path / "home")) as client:
        assert client.init_result.server_info.name == "kitaru-mcp"
        assert len(client.list_tools()) >= 5
    loaded = set((tmp_path / "modules.txt").read_text().split())
    assert "kitaru_mcp.generated.tools" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"kitaru", "zenml"}}
    assert not (tmp_path / "modules.txt.warm").exists()


def test_kitaru_warms_up_in_the_background_after_tools_list(tmp_path: Path) -> None:
    """No call needed: Kitaru is imported and connected while the user thinks."""
    script = _probe(tmp_path, warm_up=True)
    # its own HOME: runner records left by other tests would make the reaper open the store
    with StdioClient([sys.executable, str(script)], env=home_env(tmp_path / "home")) as client:
        assert len(client.list_tools()) >= 5
        listed_at = time.monotonic()
        deadline = listed_at + 60
        while not (tmp_path / "modules.txt.warm").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "modules.txt.warm").exists(), "Kitaru was not imported after tools/list"
        started = time.monotonic()
        listed = client.ok("kitaru_executions_list", {"limit": 1})
        assert listed["count"] <= 1
    assert time.monotonic() - started < 30
