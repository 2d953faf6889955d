"""Entry points: ours is the kitaru-mcp on PATH, and start-up never imports Kitaru."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mcp_client import StdioClient

from kitaru_mcp import __version__

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


def test_initialize_and_list_tools_import_neither_kitaru_nor_zenml(tmp_path: Path) -> None:
    modules_file = tmp_path / "modules.txt"
    probe = (
        "import atexit, runpy, sys\n"
        f"out = {str(modules_file)!r}\n"
        "atexit.register(lambda: open(out, 'w').write('\\n'.join(sys.modules)))\n"
        "sys.argv = ['kitaru-mcp']\n"
        "runpy.run_module('kitaru_mcp', run_name='__main__')\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(probe)
    with StdioClient([sys.executable, str(script)]) as client:
        assert client.init_result.server_info.name == "kitaru-mcp"
        assert len(client.list_tools()) >= 5
    loaded = set(modules_file.read_text().split())
    assert "kitaru_mcp.generated.tools" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"kitaru", "zenml"}}
