"""The bench's shared pieces: timing helpers, an isolated HOME, the store's seeding
and a stdio session on the tests' own raw client (``tests/raw_wire.py``)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# ---------------------------------------------------------------------------- helpers


@functools.cache
def _dispatcher() -> Any:
    from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions

    return Dispatcher(ServeOptions(mode="destructive"))


async def call_stub(stub: Any, arguments: Any) -> Any:
    """One call through the server's dispatch path (every tool served)."""
    return await _dispatcher().call_tool(stub.name, arguments)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1e3


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("nan")


def isolate(home: Path | None = None) -> Path:
    """``home`` (else a fresh one) as HOME for everything this run starts; no inherited
    Kitaru/ZenML settings."""
    home = home or Path(tempfile.mkdtemp(prefix="kitaru-mcp-bench-"))
    for name in list(os.environ):
        if name.startswith(("KITARU_", "ZENML_")):
            del os.environ[name]
    os.environ.update(
        {
            "HOME": str(home),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "KITARU_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "AUTO_OPEN_DASHBOARD": "false",
        }
    )
    return home


def state_dir(home: Path) -> Path:
    return home / ".config" / "kitaru" / "mcp"


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "kitaru-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kitaru_mcp"]


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process, in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    kb = int(re.search(r"VmHWM:\s+(\d+)", text).group(1))
    return round(kb / 1024, 1)


_BEGAN = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - _BEGAN:5.1f} s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- store set-up


def run_flow(work: Path, example: str, flow: str, **args: Any) -> tuple[str, subprocess.Popen]:
    """Run an example flow to its end in a child process: its exec_id, and the process.

    Returns as soon as the flow finished; the process may still be tearing
    down (ZenML flushes for a few seconds at exit): ``wait()`` on it.
    """
    script = work / "run_flow.py"  # ZenML needs a main module with a file
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
        f"from {Path(example).stem} import {flow} as flow\n"
        "from kitaru_mcp.gateway.store_lock import ensure_store\n"
        "ensure_store()  # the store is created once, under the lock every process takes\n"
        "handle = flow.run(**json.loads(sys.argv[1]))\n"
        "print('EXEC_ID=' + handle.exec_id, flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=work,
    )
    for line in process.stdout:
        if line.startswith("EXEC_ID="):
            return line.strip().removeprefix("EXEC_ID="), process
    process.wait()
    raise RuntimeError(f"{example}:{flow} did not run (exit code {process.returncode})")


def connect_sdk() -> None:
    """Import Kitaru in this process and open its store (the first call pays both)."""
    from kitaru import KitaruClient

    KitaruClient().executions.list(limit=1)


def execution_count() -> int:
    from zenml.client import Client

    return Client().list_pipeline_runs(size=1).total


def seed_executions(template_exec_id: str, total: int) -> float:
    """Copy one real run's row until the store holds ``total`` executions, each completed
    and newer than the last (``bench/seed.py``); seconds taken."""
    import seed  # bench/seed.py, beside this module

    return seed.seed([template_exec_id], total, days=0, statuses=("completed",), replays=0)


# ---------------------------------------------------------------------------- stdio sessions


class Session:
    """One kitaru-mcp server over stdio, on the tests' client (``tests/mcp_client.py``)."""

    def __init__(self, work: Path, env: dict[str, str] | None = None, name: str = "server"):
        self.work = work
        self.env = {**os.environ, **(env or {})}
        self.name = name
        self.session: Any = None

    async def __aenter__(self) -> Session:
        from mcp_client import StdioSession  # the tests' client

        self.spawned = time.perf_counter()
        self._stack = contextlib.AsyncExitStack()
        await self._stack.__aenter__()
        errlog = self._stack.enter_context((self.work / f"{self.name}.stderr.log").open("a"))
        command = [*server_command(), "--mode", "destructive"]
        stdio = StdioSession(command, self.env, cwd=ROOT, errlog=errlog)
        self.session = (await self._stack.enter_async_context(stdio)).session
        await self.session.list_tools()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.__aexit__(*exc)

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        with anyio.fail_after(300):
            result = await self.session.call_tool(name, arguments or {})
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content[0].text}")
        return result.structured_content

    async def timed(self, name: str, arguments: dict[str, Any] | None = None) -> float:
        start = time.perf_counter()
        await self.call(name, arguments)
        return ms_since(start)
