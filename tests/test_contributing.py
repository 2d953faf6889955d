"""CONTRIBUTING.md, followed word for word: its two files make a tool that works.

The page's file blocks are written into a copy of the repository, the
generator runs there as a developer would run it, and the new tool is called
over MCP (both protocol revisions, in memory, on the unit tier's fake
gateway) from a process whose generated code and handlers are the copy's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import codegen, copy_shapes

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parent.parent

CALL = r"""
import json, sys
from pathlib import Path
copy = Path(sys.argv[1])
sys.path.insert(0, sys.argv[2])
import importlib.util
import kitaru_mcp
for folder in ("generated", "handlers"):  # the copy's packages stand in for the installed ones
    spec = importlib.util.spec_from_file_location(
        f"kitaru_mcp.{folder}", copy / folder / "__init__.py",
        submodule_search_locations=[str(copy / folder)],
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    setattr(kitaru_mcp, folder, package)
import anyio, mcp
from fakes import FakeGateway, execution
from kitaru_mcp.surface.server import build_server
import kitaru_mcp.surface.server
kitaru_mcp.surface.server._start_warm_up = lambda *args: None
gw = FakeGateway([
    execution("aaaa0001", flow="greet", status="completed", minutes=0),
    execution("bbbb0002", flow="greet", status="failed", minutes=1),
    execution("cccc0003", flow="greet", status="completed", minutes=2),
    execution("dddd0004", flow="sum", status="running", minutes=3),
])

async def main():
    answers = {}
    for era, mode in (("2025-11-25", "legacy"), ("2026-07-28", "auto")):
        async with mcp.Client(build_server(gateway=lambda: gw), mode=mode) as client:
            listed = [t.name for t in (await client.list_tools()).tools]
            ok = await client.call_tool("kitaru_executions_count", {"flow": "greet"})
            bad = await client.call_tool("kitaru_executions_count", {"flow": "greet", "window": 0})
            answers[era] = {
                "listed": "kitaru_executions_count" in listed,
                "ok": ok.structured_content,
                "bad": json.loads(bad.content[0].text),
            }
    print(json.dumps(answers))

anyio.run(main)
"""


def _file_blocks() -> dict[str, str]:
    """Every fenced block of CONTRIBUTING.md whose first line is ``# file: <path>``."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    blocks = re.findall(r"```\w+\n# file: (\S+)\n(.*?)```", text, flags=re.S)
    return dict(blocks)


def test_the_guide_names_one_schema_and_one_handler() -> None:
    assert sorted(_file_blocks()) == [
        "handlers/counting.py",
        "schemas/tools/kitaru_executions_count.yaml",
    ]


def test_following_the_guide_adds_a_working_tool(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for folder in ("schemas", "generated", "docs", "contract", "handlers"):
        shutil.copytree(ROOT / folder, copy / folder)
    copy_shapes(copy)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    for relative, text in _file_blocks().items():
        (copy / relative).write_text(text)

    made = codegen("--root", str(copy))
    assert made.returncode == 0, made.stderr
    assert codegen("--check", "--root", str(copy)).returncode == 0
    assert "class KitaruExecutionsCountInput" in (copy / "generated" / "models.py").read_text()
    assert "kitaru_executions_count" in (copy / "docs" / "tools.md").read_text()
    assert "kitaru_executions_count" in (copy / "README.md").read_text()

    called = subprocess.run(
        [sys.executable, "-c", CALL, str(copy), str(ROOT / "tests" / "unit")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path), "KITARU_MCP_STATE_DIR": str(tmp_path / "state")},
    )
    assert called.returncode == 0, called.stderr[-3000:]
    answers = json.loads(called.stdout.strip().splitlines()[-1])
    for era, answer in answers.items():
        assert answer["listed"], era
        assert answer["ok"] == {"flow": "greet", "counts": {"completed": 2, "failed": 1}}, era
        assert answer["bad"]["code"] == "invalid_argument", era
        assert "window" in answer["bad"]["message"], era
