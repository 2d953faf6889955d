"""Sections 1-5 of ``bench/run.py``: cold start, per call, list scaling, concurrency
and how fast a run returns."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from harness import (
    Session,
    call_stub,
    execution_count,
    log,
    median,
    ms_since,
    ratio,
    seed_executions,
    server_command,
    state_dir,
    vm_hwm_mb,
)
from raw_wire import RawStdio  # the tests' raw client (harness put tests/ on the path)

# ---------------------------------------------------------------------------- 1. cold start


def time_command(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ms_since(start)


def imports_before_first_call(work: Path, into: dict[str, Any]) -> None:
    """Serve initialize + tools/list with a probe of sys.modules at exit (as the tests do).

    The background warm-up is off here: it imports Kitaru right after
    ``tools/list`` by design; the probe asks what the way there imported.
    """
    modules_file = work / "modules.txt"
    probe = work / "probe.py"
    probe.write_text(
        "import os, runpy, sys\n"
        f"out = {str(modules_file)!r}\n"
        "os.environ['KITARU_MCP_WARMUP'] = '0'\n"
        "real_exit = os._exit\n"
        "def record_then_exit(code):\n"
        "    open(out, 'w').write('\\n'.join(list(sys.modules)))\n"
        "    real_exit(code)\n"
        "os._exit = record_then_exit\n"
        "sys.argv = ['kitaru-mcp']\n"
        "runpy.run_module('kitaru_mcp', run_name='__main__')\n"
    )
    server = RawStdio([sys.executable, str(probe)], cwd=work)
    server.start()
    server.close()
    roots = {name.split(".")[0] for name in modules_file.read_text().split()}
    for package in ("kitaru", "zenml"):
        into[f"{package}_imported_before_first_call"] = package in roots


def bench_cold_start(spawns: int, work: Path, warm_cache: bool) -> dict[str, Any]:
    python = sys.executable
    baselines = {  # ended by os._exit: the server is timed before its teardown, so are these
        "mcp_import": [python, "-c", "import mcp.server.lowlevel, os; os._exit(0)"],
        "kitaru_import": [python, "-c", "import kitaru, os; os._exit(0)"],
    }
    if warm_cache:  # a first start after boot reads everything from disk; not counted
        for command in baselines.values():
            time_command(command)
        warmup = RawStdio(server_command(), cwd=work)
        warmup.start()
        warmup.close()

    samples: dict[str, list[float]] = {
        "initialize": [],
        "tools_list": [],
        "mcp_import": [],
        "kitaru_import": [],
        "rss": [],
    }
    tool_count = 0
    for index in range(spawns):  # interleaved, so machine noise hits every series alike
        for name, command in baselines.items():
            samples[name].append(time_command(command))
        server = RawStdio(server_command(), cwd=work)
        initialized, listed, tool_count = server.start()
        samples["rss"].append(vm_hwm_mb(server.process.pid))
        server.close()
        samples["initialize"].append(initialized)
        samples["tools_list"].append(listed)
        log(f"cold start {index + 1}/{spawns}: tools/list after {listed:.0f} ms")
    tools_list, floor = median(samples["tools_list"]), median(samples["mcp_import"])
    return {
        "spawns": spawns,
        "tools": tool_count,
        "metrics": {
            "initialize_ms": median(samples["initialize"]),
            "tools_list_ms": tools_list,
            "mcp_import_ms": floor,
            "kitaru_import_ms": median(samples["kitaru_import"]),
            "ratio_tools_list_vs_mcp_import": ratio(tools_list, floor),
            "ratio_tools_list_vs_kitaru_import": ratio(
                tools_list, median(samples["kitaru_import"])
            ),
            "peak_rss_mb": median(samples["rss"]),
        },
        "targets": {"ratio_tools_list_vs_mcp_import": 1.25, "peak_rss_mb": 80},
    }


# ---------------------------------------------------------------------------- 2. per call


async def bench_per_call(
    calls: int, exec_id: str, session: Session, warm_up: int
) -> dict[str, Any]:
    from kitaru import KitaruClient
    from kitaru_mcp.generated.tools import TOOLS

    stub = TOOLS["kitaru_executions_get"]
    arguments = {"exec_id": exec_id}

    async def through_stub() -> None:
        result = await call_stub(stub, arguments)
        if result.is_error:
            raise RuntimeError(result.content[0].text)

    for _ in range(warm_up):  # imports, first queries
        KitaruClient().executions.get(exec_id)
        await through_stub()
        await session.call("kitaru_executions_get", arguments)
    direct, stub_ms, stdio = [], [], []
    for _ in range(calls):
        start = time.perf_counter()
        KitaruClient().executions.get(exec_id)
        direct.append(ms_since(start))
        start = time.perf_counter()
        await through_stub()
        stub_ms.append(ms_since(start))
        stdio.append(await session.timed("kitaru_executions_get", arguments))
    return {
        "calls": calls,
        "metrics": {
            "direct_sdk_ms": median(direct),
            "in_process_stub_ms": median(stub_ms),
            "stdio_ms": median(stdio),
            # median of the paired differences: robust to the machine's drift over the run
            "in_process_overhead_ms": median([s - d for s, d in zip(stub_ms, direct, strict=True)]),
            "stdio_overhead_ms": median([s - d for s, d in zip(stdio, direct, strict=True)]),
        },
        "targets": {"in_process_overhead_ms": 2.0},
    }


# ---------------------------------------------------------------------------- 3. list scaling


async def bench_list(calls: int, sizes: list[int], template_exec_id: str) -> dict[str, Any]:
    from kitaru import KitaruClient
    from kitaru_mcp.generated.tools import TOOLS

    stub = TOOLS["kitaru_executions_list"]
    metrics: dict[str, float] = {}
    seeding: dict[str, float] = {}
    for size in sizes:
        seeding[str(size)] = round(seed_executions(template_exec_id, size), 2)
        count = execution_count()
        for _ in range(3):
            KitaruClient().executions.list(limit=20)
            await call_stub(stub, {"limit": 20})
        direct, through = [], []
        for _ in range(calls):
            start = time.perf_counter()
            KitaruClient().executions.list(limit=20)
            direct.append(ms_since(start))
            start = time.perf_counter()
            result = await call_stub(stub, {"limit": 20})
            through.append(ms_since(start))
            if result.is_error or result.structured_content["count"] != 20:
                raise RuntimeError(f"unexpected list result: {result.content[0].text[:500]}")
        metrics[f"direct_{size}_ms"] = median(direct)
        metrics[f"stub_{size}_ms"] = median(through)
        metrics[f"ratio_{size}"] = ratio(median(through), median(direct))
        log(f"list at {count} executions: stub {median(through)} ms, direct {median(direct)} ms")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        metrics["stub_growth"] = ratio(metrics[f"stub_{large}_ms"], metrics[f"stub_{small}_ms"])
        metrics["direct_growth"] = ratio(
            metrics[f"direct_{large}_ms"], metrics[f"direct_{small}_ms"]
        )
    return {
        "calls": calls,
        "sizes": sizes,
        "seed_seconds": seeding,
        "metrics": metrics,
        "targets": {f"ratio_{size}": 1.5 for size in sizes},
    }


# ---------------------------------------------------------------------------- 4. concurrency


async def bench_concurrency(
    calls: int, session: Session, home: Path, exec_id: str
) -> dict[str, Any]:
    """``exec_id``: a running ``slow`` execution (30 one-second checkpoints)."""
    idle = [await session.timed("kitaru_status") for _ in range(calls)]
    busy: list[float] = []
    in_flight: list[bool] = []
    async with anyio.create_task_group() as group:
        done = anyio.Event()

        async def slow_call() -> None:
            await session.call(
                "kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": calls * 0.25 + 30}
            )
            done.set()

        group.start_soon(slow_call)
        await anyio.sleep(0.5)
        for _ in range(calls):
            busy.append(await session.timed("kitaru_status"))
            in_flight.append(not done.is_set())
            await anyio.sleep(0.1)
        group.cancel_scope.cancel()  # the client cancels the wait; the server stops polling
    kill_runner(home, exec_id)
    return {
        "calls": calls,
        "metrics": {
            "status_idle_ms": median(idle),
            "status_during_wait_ms": median(busy),
            "status_during_wait_max_ms": round(max(busy), 2),
        },
        "wait_in_flight_throughout": all(in_flight),
        "targets": {"status_during_wait_ms": 100},
    }


# ---------------------------------------------------------------------------- 5. run returns


def kill_runner(home: Path, exec_id: str) -> None:
    """Stop the runner that carries ``exec_id`` (its process group, by the recorded pid)."""
    record = state_dir(home) / "runs" / f"{exec_id}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        pid = int(json.loads(record.read_text())["pid"])
        os.killpg(pid, signal.SIGKILL)


def warm_runner_ready(home: Path) -> float | None:
    """Seconds the runner template took to import Kitaru, once it logged that it is ready."""
    for path in (state_dir(home) / "logs").glob("template-*.log"):
        found = re.search(r"template ready in ([\d.]+) s", path.read_text(errors="replace"))
        if found:
            return float(found.group(1))
    return None


async def wait_for(predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await anyio.sleep(0.1)
    return None


RUN_TARGETS = {  # slow last: its last execution serves the concurrency section
    "approval": ("examples/approval.py:approval", {"topic": "bench"}),
    "slow": ("examples/slow.py:slow", {"steps": 30, "seconds": 1}),
}


async def time_runs(
    session: Session, home: Path, repeats: int, warm: bool, names: tuple[str, ...]
) -> tuple[dict[str, float], str]:
    """Medians per target, and the last ``slow`` execution, left running."""
    samples: dict[str, list[float]] = {name: [] for name in names}
    warm_up_s: list[float] = []
    last_slow = ""
    await session.call("kitaru_status")  # the server has imported Kitaru, as after any call
    for _ in range(repeats):
        for name in names:
            target, args = RUN_TARGETS[name]
            if warm:
                ready = await wait_for(lambda: warm_runner_ready(home), timeout=90)
                if ready is None:
                    log("no warm runner got ready within 90 s; timing whatever the server does")
                else:
                    warm_up_s.append(ready)
            await anyio.sleep(0.3)  # let the machine settle after the previous runner
            start = time.perf_counter()
            started = await session.call("kitaru_executions_run", {"target": target, "args": args})
            samples[name].append(ms_since(start))
            log(f"run {name} ({'warm' if warm else 'cold'}): {samples[name][-1]:.0f} ms")
            if name == "slow" and last_slow:
                kill_runner(home, last_slow)
            last_slow = started["execution"]["exec_id"] if name == "slow" else last_slow
            if name != "slow":
                kill_runner(home, started["execution"]["exec_id"])
    kind = "warm" if warm else "cold"
    metrics = {f"{name}_{kind}_ms": median(values) for name, values in samples.items()}
    if warm_up_s:
        metrics["warm_runner_ready_s"] = median(warm_up_s)
    return metrics, last_slow


def warm_runners(home: Path, waiting_only: bool = True) -> list[int]:
    """Live runner templates started for this HOME (``waiting_only`` is kept for callers)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(process.info["cmdline"] or [])
            if "kitaru_mcp.runs.runner --template" not in cmdline:
                continue
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("HOME") == str(home):
                found.append(process.info["pid"])
    return found


def stop_leftover_runners(home: Path) -> None:
    for record in (state_dir(home) / "runs").glob("*.json"):
        kill_runner(home, record.stem)
    for pid in warm_runners(home, waiting_only=False):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
