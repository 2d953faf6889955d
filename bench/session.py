"""Section 6 of ``bench/run.py``: a user's session, from spawn to the first answers, runs
and a short flow's result, against the SDK called directly."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from harness import ROOT, Session, log, median, ms_since, ratio
from sections import time_command

# ---------------------------------------------------------------------------- 6. session


class DirectSdk:
    """A warm process that runs ``two_steps`` with the SDK's blocking ``flow.run()``."""

    def __init__(self, work: Path) -> None:
        script = work / "direct_sdk.py"  # ZenML needs a main module with a file
        script.write_text(
            "import sys, time\n"
            f"sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
            "from two_steps import two_steps\n"
            "for line in sys.stdin:\n"
            "    began = time.perf_counter()\n"
            "    two_steps.run(name=line.strip())\n"
            "    print(f'MS={(time.perf_counter() - began) * 1e3:.1f}', flush=True)\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=work,
        )

    def run(self, name: str) -> float:
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("MS="):
                return float(line.removeprefix("MS="))
        raise RuntimeError(f"the direct SDK process exited ({self.process.poll()})")

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _server_and_template(before: set[int]) -> tuple[int | None, int | None]:
    """The newest kitaru-mcp server child of this process, and its template."""
    import psutil

    server = template = None
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.pid not in before and "kitaru_mcp.runs.runner" not in " ".join(
                child.cmdline()
            ):
                server = child.pid
    if server is not None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(server).children():
                if "--template" in child.cmdline():
                    template = child.pid
    return server, template


def _rss_mb(pid: int | None) -> float:
    import psutil

    with contextlib.suppress(psutil.Error, ValueError):
        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    return float("nan")


def _idle_cpu_percent(pid: int | None, seconds: float = 3.0) -> float:
    import psutil

    with contextlib.suppress(psutil.Error, ValueError):
        process = psutil.Process(pid)
        before = sum(process.cpu_times()[:2])
        time.sleep(seconds)
        return round((sum(process.cpu_times()[:2]) - before) / seconds * 100, 2)
    return float("nan")


async def one_session(work: Path, home: Path, pause_s: float, direct: DirectSdk, index: int):
    """One fresh server: its first read, three runs, and a short flow's time to result."""
    import psutil

    before = {child.pid for child in psutil.Process().children()}
    row: dict[str, float] = {}
    async with Session(work, name=f"session{index}") as session:
        server, _ = _server_and_template(before)
        await anyio.sleep(pause_s)
        row["first_read_ms"] = await session.timed("kitaru_executions_list", {"limit": 20})
        row["first_read_from_spawn_ms"] = ms_since(session.spawned)
        row["warm_read_ms"] = await session.timed("kitaru_executions_list", {"limit": 20})
        target = {"target": "examples/two_steps.py:two_steps"}
        for label, wait_s in (("run_first", 0), ("run_back_to_back", 0), ("run_after_8s", 8)):
            await anyio.sleep(wait_s)
            args = {**target, "args": {"name": f"s{index}-{label}"}}
            row[f"{label}_ms"] = await session.timed("kitaru_executions_run", args)
        await anyio.sleep(3)  # the three runs end before the short flow is timed
        start = time.perf_counter()
        started = await session.call(
            "kitaru_executions_run", {**target, "args": {"name": f"s{index}-result"}}
        )
        waited = await session.call(
            "kitaru_executions_wait",
            {"exec_id": started["execution"]["exec_id"], "until": "finished", "timeout_s": 120},
        )
        row["short_flow_result_ms"] = ms_since(start)
        if waited["execution"]["status"] != "completed":
            log(f"session {index}: the short flow ended {waited['execution']['status']}")
        row["direct_sdk_flow_ms"] = await anyio.to_thread.run_sync(direct.run, f"d{index}")
        _, template = _server_and_template(before)
        row["server_rss_mb"] = _rss_mb(server)
        row["template_rss_mb"] = _rss_mb(template)
        row["template_idle_cpu_percent"] = await anyio.to_thread.run_sync(
            _idle_cpu_percent, template
        )
    return row


async def bench_session(work: Path, home: Path, per_kind: int) -> dict[str, Any]:
    direct = DirectSdk(work)
    await anyio.to_thread.run_sync(direct.run, "warm-up")  # imports, store, first queries
    kitaru_import = [sys.executable, "-c", "import kitaru, os; os._exit(0)"]
    kitaru_imports = [await anyio.to_thread.run_sync(time_command, kitaru_import) for _ in range(3)]
    rows: dict[float, list[dict[str, float]]] = {0.0: [], 5.0: []}
    try:
        for index in range(per_kind * 2):
            pause = 5.0 if index % 2 else 0.0
            rows[pause].append(await one_session(work, home, pause, direct, index))
            log(f"session {index} (first read after {pause:g} s): {rows[pause][-1]}")
    finally:
        direct.close()
    every = rows[0.0] + rows[5.0]
    metrics: dict[str, float] = {}

    def summarise(name: str, samples: list[float]) -> None:
        metrics[name] = median(samples)
        metrics[f"{name}_worst"] = round(max(samples), 2)

    summarise("first_read_at_once_ms", [r["first_read_ms"] for r in rows[0.0]])
    # the floor for it: spawn -> `import kitaru`, plus one warm read
    at_once = median([r["first_read_from_spawn_ms"] for r in rows[0.0]])
    floor = median(kitaru_imports) + median([r["warm_read_ms"] for r in every])
    metrics["first_read_at_once_from_spawn_ms"] = at_once
    metrics["floor_import_plus_warm_read_ms"] = round(floor, 2)
    metrics["first_read_at_once_vs_floor"] = ratio(at_once, floor)
    summarise("first_read_after_5s_ms", [r["first_read_ms"] for r in rows[5.0]])
    for key in (
        "run_first_ms",
        "run_back_to_back_ms",
        "run_after_8s_ms",
        "short_flow_result_ms",
        "direct_sdk_flow_ms",
    ):
        summarise(key, [r[key] for r in every])
    metrics["short_flow_vs_direct_sdk"] = ratio(
        metrics["short_flow_result_ms"], metrics["direct_sdk_flow_ms"]
    )
    for key in ("server_rss_mb", "template_rss_mb", "template_idle_cpu_percent"):
        metrics[key] = median([r[key] for r in every])
    targets = {f"{key}_worst": 1000 for key in ("run_first_ms", "run_back_to_back_ms")}
    targets.update(
        {
            "first_read_after_5s_ms": 300,
            "first_read_at_once_vs_floor": 1.1,
            "run_first_ms": 1000,
            "run_back_to_back_ms": 1000,
            "run_after_8s_ms": 1000,
            "run_after_8s_ms_worst": 1000,
            "short_flow_vs_direct_sdk": 1.2,
            "template_idle_cpu_percent": 1.0,
        }
    )
    return {"sessions": len(every), "metrics": metrics, "targets": targets}
