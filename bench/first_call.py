"""The first call of a session, against the anchor: Kitaru 0.21's bundled MCP server.

Used by ``bench/run.py`` (section 6, session). The anchor is Kitaru's own
``kitaru-mcp`` (``kitaru.mcp:main``, FastMCP from ``mcp`` 1.19, the release
``kitaru[mcp]`` asks for). It cannot import next to ``mcp`` 2.x, so its ``mcp``
1.19 (and ``httpx``, which 2.x no longer uses) go into a folder of the bench's
temporary work directory (``pip install --no-deps --target``, about 2 s) and the anchor runs
on this interpreter with that folder first on ``PYTHONPATH``: the same Kitaru,
ZenML and Python as kitaru-mcp.

Both servers are spoken to in raw JSON-RPC over pipes (the anchor's Kitaru
logging also writes to its stdout: lines that are not JSON are skipped). Each
round spawns one server per case, alternating kitaru-mcp and the anchor, so the
machine's drift hits both alike:

- **first read at once**: spawn, ``initialize``, ``tools/list``, then at once
  ``kitaru_executions_list(limit=20)``; times from spawn. On the existing store
  (the bench's, seeded) and on a fresh store (a new ``HOME`` per spawn: the
  first call creates the database).
- **first read 5 s after ``tools/list``** (kitaru-mcp only; the anchor is warm
  by then by construction: it imports Kitaru before it answers anything).
- **a run as the very first call**: spawn → ``kitaru_executions_run`` of
  ``examples/two_steps.py`` returned. The anchor runs the flow in its own
  process and returns when it ended; kitaru-mcp returns once it started.
- **memory**: after a read and a run (kitaru-mcp: an ``approval`` run, whose
  runner then waits for input), psutil's ``memory_full_info`` (RSS, USS =
  private, shared = RSS - USS, PSS) of that runner, then, once it is stopped,
  of what stays while idle: the server and its runner template; against the
  anchor after a read and a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from raw_wire import RawStdio, ms_since  # noqa: E402  (the tests' raw client)

PROTOCOL = "2025-06-18"  # the newest both servers speak (the anchor is on mcp 1.19)
ANCHOR_PACKAGES = ("mcp>=1.19,<1.20", "httpx<1", "httpx-sse", "httpcore")
TWO_STEPS = f"{ROOT / 'examples' / 'two_steps.py'}:two_steps"
APPROVAL = f"{ROOT / 'examples' / 'approval.py'}:approval"
TARGETS = {  # the issue's: ratios against the anchor in the same run, or absolute
    "read_at_once_existing_vs_anchor": 0.8,
    "read_after_5s_ms": 300,
    "run_first_existing_vs_anchor": 0.8,
    "idle_rss_vs_anchor": 1.5,
}


def anchor_site(work: Path) -> Path | None:
    """A folder holding the anchor's ``mcp`` 1.19; None when it cannot be installed."""
    site = work / "anchor-site"
    if (site / "mcp" / "server" / "fastmcp").is_dir():
        return site
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target"]
    done = subprocess.run([*command, str(site), *ANCHOR_PACKAGES], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"[bench] the anchor is not available: {done.stderr[-500:]}", file=sys.stderr)
        return None
    return site


class Servers:
    """How to spawn kitaru-mcp and the anchor in a given ``HOME``."""

    def __init__(self, ours: list[str], site: Path | None) -> None:
        self.ours = ours
        self.site = site
        self.anchor_script = Path(tempfile.mkdtemp(prefix="kitaru-anchor-")) / "anchor.py"
        self.anchor_script.write_text("from kitaru.mcp import main\n\nmain()\n")

    def spawn(self, kind: str, home: Path) -> RawStdio:
        env = {**os.environ, "HOME": str(home)}
        if kind == "anchor":
            assert self.site is not None
            env["PYTHONPATH"] = os.pathsep.join([str(self.site), env.get("PYTHONPATH", "")])
            return RawStdio([sys.executable, str(self.anchor_script)], cwd=ROOT, env=env)
        return RawStdio(self.ours, cwd=ROOT, env=env)

    def kinds(self) -> tuple[str, ...]:
        return ("ours", "anchor") if self.site is not None else ("ours",)


def _fresh_home(work: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix="fresh-", dir=work))


def read_at_once(servers: Servers, kind: str, home: Path) -> dict[str, float]:
    server = servers.spawn(kind, home)
    try:
        listed = server.start(PROTOCOL)[1]
        server.ok("kitaru_executions_list", {"limit": 20})
        return {"tools_list_ms": listed, "read_ms": ms_since(server.spawned)}
    finally:
        server.close()


def read_after_pause(servers: Servers, home: Path, pause_s: float = 5.0) -> float:
    server = servers.spawn("ours", home)
    try:
        server.start(PROTOCOL)
        time.sleep(pause_s)
        began = time.perf_counter()
        server.ok("kitaru_executions_list", {"limit": 20})
        return ms_since(began)
    finally:
        server.close()


def run_first(servers: Servers, kind: str, home: Path, name: str) -> float:
    server = servers.spawn(kind, home)
    try:
        server.start(PROTOCOL)
        server.ok("kitaru_executions_run", {"target": TWO_STEPS, "args": {"name": name}})
        return ms_since(server.spawned)
    finally:
        server.close()


def _memory(pid: int | None) -> dict[str, float]:
    import psutil

    try:
        info = psutil.Process(pid).memory_full_info()
    except (psutil.Error, ValueError):
        return {"rss_mb": float("nan"), "uss_mb": float("nan"), "pss_mb": float("nan")}
    mb = 2**20
    pss = getattr(info, "pss", info.uss)  # PSS is Linux's; elsewhere USS stands in
    return {
        "rss_mb": info.rss / mb,
        "uss_mb": info.uss / mb,
        "shared_mb": (info.rss - info.uss) / mb,
        "pss_mb": pss / mb,
    }


def _template_and_runner(server: int) -> tuple[int | None, int | None]:
    import psutil

    template = runner = None
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(server).children():
            if "--template" in child.cmdline():
                template = child.pid
                kids = child.children()
                runner = kids[0].pid if kids else None
    return template, runner


def idle_memory(servers: Servers, kind: str, home: Path, settle_s: float = 3.0) -> dict:
    """Memory of everything the server keeps while idle, after a read and a run."""
    server = servers.spawn(kind, home)
    try:
        server.start(PROTOCOL)
        server.ok("kitaru_executions_list", {"limit": 20})
        target = APPROVAL if kind == "ours" else TWO_STEPS  # the anchor would block on a wait
        started = server.ok("kitaru_executions_run", {"target": target, "args": {}})
        time.sleep(settle_s)
        if kind == "anchor":
            return {"server": _memory(server.process.pid)}
        template, runner = _template_and_runner(server.process.pid)
        found = {"runner": _memory(runner)}  # while it waits for input, beside its template
        _kill_runner(home, started.get("execution", {}).get("exec_id"), runner)
        time.sleep(settle_s)  # idle: what stays once no flow runs
        found.update(server=_memory(server.process.pid), template=_memory(template))
        return found
    finally:
        server.close()


def _kill_runner(home: Path, exec_id: str | None, pid: int | None) -> None:
    record = home / ".config" / "kitaru" / "mcp" / "runs" / f"{exec_id}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        pid = int(json.loads(record.read_text())["pid"])
    if pid:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def measure(ours: list[str], home: Path, work: Path, rounds: int, log: Any) -> dict[str, Any]:
    """Every case, ``rounds`` times, alternating the servers; medians and worsts."""
    servers = Servers(ours, anchor_site(work))
    samples: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    for index in range(rounds):
        for kind in servers.kinds():
            for store in ("existing", "fresh"):
                where = home if store == "existing" else _fresh_home(work)
                got = read_at_once(servers, kind, where)
                add(f"{kind}_tools_list_{store}_ms", got["tools_list_ms"])
                add(f"{kind}_read_at_once_{store}_ms", got["read_ms"])
                where = home if store == "existing" else _fresh_home(work)
                name = f"first-{kind}-{store}-{index}"
                add(f"{kind}_run_first_{store}_ms", run_first(servers, kind, where, name))
            last = {k: round(v[-1]) for k, v in samples.items() if k.startswith(kind)}
            log(f"first call, round {index + 1}/{rounds}, {kind}: {last}")
        add("ours_read_after_5s_ms", read_after_pause(servers, home))
    metrics: dict[str, float] = {}
    for key, values in samples.items():
        metrics[key] = _median(values)
        metrics[f"{key}_worst"] = round(max(values), 1)
    memory = {kind: idle_memory(servers, kind, home) for kind in servers.kinds()}
    for kind, processes in memory.items():
        for process, figures in processes.items():
            for name, value in figures.items():
                metrics[f"{kind}_{process}_{name}"] = round(value, 1)
    idle = [p for p in ("server", "template") if f"ours_{p}_rss_mb" in metrics]
    metrics["ours_idle_rss_mb"] = round(sum(metrics[f"ours_{p}_rss_mb"] for p in idle), 1)
    metrics["ours_idle_pss_mb"] = round(sum(metrics[f"ours_{p}_pss_mb"] for p in idle), 1)
    if "anchor" in servers.kinds():
        for case in ("read_at_once", "run_first", "tools_list"):
            for store in ("existing", "fresh"):
                key = f"{case}_{store}"
                metrics[f"{key}_vs_anchor"] = round(
                    metrics[f"ours_{key}_ms"] / metrics[f"anchor_{key}_ms"], 3
                )
        metrics["idle_rss_vs_anchor"] = round(
            metrics["ours_idle_rss_mb"] / metrics["anchor_server_rss_mb"], 3
        )
        metrics["idle_pss_vs_anchor"] = round(
            metrics["ours_idle_pss_mb"] / metrics["anchor_server_pss_mb"], 3
        )
    shutil.rmtree(servers.anchor_script.parent, ignore_errors=True)
    return {"rounds": rounds, "anchor": servers.site is not None, "metrics": metrics}
