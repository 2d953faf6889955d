"""Benchmark kitaru-mcp: ``python bench/run.py [--quick] [--out FILE]``.

Prints a table and writes ``bench/results.json``. Every figure is a median
over repeated runs, every ratio is against a baseline measured in the same
run on the same machine, and nothing here asserts on a timing: the targets
are printed next to the figures, never enforced.

Everything runs in a fresh temporary ``HOME`` (deleted at the end), so the
user's own Kitaru store is never read or written; ``KITARU_*`` and ``ZENML_*``
variables from the caller's environment are dropped for the same reason.

Sections:

1. **cold start**: spawn ``kitaru-mcp`` and time ``initialize`` and
   ``tools/list`` (raw JSON-RPC over the pipes, no client library in the way),
   against ``python -c "import mcp.server.lowlevel"`` (the MCP SDK import: the
   floor of any server built on it) and ``python -c "import kitaru"``,
   interleaved. Both baselines end with ``os._exit(0)`` right after the
   import: the server is timed when ``tools/list`` is answered, long before
   its interpreter tears down, and a plain ``-c`` exit would add that teardown
   (0.2 s for mcp, 0.45 s for kitaru here) to the floor and flatter the ratio.
   One extra spawn runs the server under an ``atexit`` ``sys.modules`` probe
   (as ``tests/test_entrypoints.py`` does) to say whether Kitaru or ZenML were
   imported before the first call; the peak RSS is ``VmHWM`` of the server
   process once ``tools/list`` is answered.
2. **per call**: ``kitaru_executions_get`` through the dispatch path (the
   in-process stub path: validation, worker thread, handler, output check) and
   over stdio, against ``KitaruClient().executions.get(id)`` in this process.
   The three alternate, and the overheads are medians of the paired
   differences, so the machine's drift hits both sides alike.
3. **list scaling**: ``kitaru_executions_list(limit=20)`` through the stub
   against ``KitaruClient().executions.list(limit=20)`` with 100 and 1,000
   executions in the store. The store is seeded FAST: one real flow run, then
   copies of its pipeline-run row (same snapshot and pipeline, new id, name
   and index, status completed) inserted through ZenML's own SQL schema
   (``PipelineRunSchema.from_request``) in one transaction: a thousand
   executions in about a second instead of a thousand flow runs.
4. **concurrency**: ``kitaru_status`` latency over one stdio session, idle and
   while a ``kitaru_executions_wait`` (polling a running ``slow`` flow every
   second in a worker thread) is in flight on the same session.
5. **run returns**: how long ``kitaru_executions_run`` takes to return for
   ``examples/approval.py:approval`` and ``examples/slow.py:slow`` (steps=30),
   with the server's runner template (the default: each run is a ``fork()``
   of it; before the first run the bench waits until the template logged that
   it is ready) and with cold runners (``KITARU_MCP_WARM_RUNNER=0``: a new
   process that imports Kitaru). Each started execution's runner is killed
   after the measurement (its process group, by the pid the server recorded),
   except the last ``slow`` one, which section 4 uses first.
6. **session**: what the user of a new session sees. Six sessions (three
   of each kind, alternating) each spawn ``kitaru-mcp`` and list the tools,
   then time the first read (``kitaru_executions_list``) at once, or after a
   5 s pause; then three runs of ``two_steps``: one, one issued as soon as it
   returned, and one 8 s later; then a short flow's time to result (``run``
   then ``kitaru_executions_wait``) against the direct SDK's blocking
   ``flow.run()`` of the same flow in a warm process (started once, one
   warm-up run, then one timed run per session, right after the session's).
   Medians over the sessions, and the worst. Also the server's RSS, the
   template's RSS, and the template's CPU use over 3 s of idling. Then the
   first call against the anchor, Kitaru 0.21's own bundled MCP server, in
   the same run (``bench/first_call.py``, three rounds): spawn → first read
   at once on the existing store and on a fresh one, a read 5 s after
   ``tools/list``, spawn → a run as the very first call returned (existing and
   fresh store), and memory (RSS, private, shared, PSS) of the server, the
   template and one runner, against the anchor's.

``--quick`` leaves section 6 out (each of its sessions spawns a server and
waits for Kitaru's start-up; what ``tests/test_bench.py`` checks is sections
1-5). ``--only-session`` runs section 6 alone.

The server under test starts its runner template at start-up; the bench
waits for it to be ready before section 2, so its warm-up (a few seconds of
CPU) overlaps no timing. Untimed work (seeding, the import probe, this
process's own Kitaru start-up) overlaps where it can, to keep ``--quick``
short.

At the end the bench checks that no runner template outlived its server.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from raw_wire import RawStdio  # noqa: E402  (the tests' raw client, not a second one)

RESULTS = ROOT / "bench" / "results.json"
SECTIONS = ("cold_start", "per_call", "list_scaling", "concurrency", "run_returns", "session")

try:  # run from any interpreter: fall back to the project's venv
    import anyio
    import mcp  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the script is started
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.executable) != venv_python:
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    raise


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


def isolate() -> Path:
    """A fresh HOME for everything this run starts; no inherited Kitaru/ZenML settings."""
    home = Path(tempfile.mkdtemp(prefix="kitaru-mcp-bench-"))
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
    """Copy one real run's row until the store holds ``total`` executions; seconds taken."""
    from sqlmodel import Session, select
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunRequest
    from zenml.zen_stores.schemas import PipelineRunSchema, PipelineSnapshotSchema

    start = time.perf_counter()
    missing = total - execution_count()
    store = Client().zen_store
    with Session(store.engine) as session:
        template = session.get(PipelineRunSchema, uuid.UUID(template_exec_id))
        snapshot = session.get(PipelineSnapshotSchema, template.snapshot_id)
        last = (
            session.exec(
                select(PipelineRunSchema.index)
                .where(PipelineRunSchema.pipeline_id == snapshot.pipeline_id)
                .order_by(PipelineRunSchema.index.desc())
            ).first()
            or 0
        )
        now = datetime.now(UTC).replace(tzinfo=None)
        for offset in range(missing):
            request = PipelineRunRequest(
                name=f"bench-seed-{last + offset + 1}-{os.urandom(4).hex()}",
                snapshot=template.snapshot_id,
                project=template.project_id,
                user=template.user_id,
                status=ExecutionStatus.RUNNING,
                start_time=now,
            )
            row = PipelineRunSchema.from_request(
                request,
                pipeline_id=snapshot.pipeline_id,
                index=last + offset + 1,
                enable_heartbeat=False,
            )
            row.status = ExecutionStatus.COMPLETED.value
            row.in_progress = False
            row.end_time = now
            session.add(row)
        session.commit()
    return time.perf_counter() - start


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


# ---------------------------------------------------------------------------- report


def _shown(value: float, unit: str) -> str:
    return f"{value:.2f}x" if unit == "x" else f"{value:g} {unit}"


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """section, measure, median, versus its baseline, target, whether it is met."""
    rows: list[list[str]] = []

    def add(section: str, label: str, key: str, unit: str = "ms", versus: str = "") -> None:
        data = results[section]
        value = data["metrics"][key]
        baseline = data["metrics"].get(versus)
        versus = f"{ratio(value, baseline):.2f}x {versus.removesuffix('_ms')}" if baseline else ""
        target = met = ""
        limit = data.get("targets", {}).get(key)
        if limit is not None:
            target, met = f"<= {_shown(limit, unit)}", "yes" if value <= limit else "NO"
        rows.append([section, label, _shown(value, unit), versus, target, met])

    add("cold_start", "initialize answered", "initialize_ms")
    add("cold_start", "tools/list answered", "tools_list_ms", versus="mcp_import_ms")
    add("cold_start", "baseline: import mcp.server.lowlevel", "mcp_import_ms")
    add("cold_start", "baseline: import kitaru", "kitaru_import_ms")
    add("cold_start", "tools/list / MCP SDK import", "ratio_tools_list_vs_mcp_import", "x")
    add("cold_start", "tools/list / Kitaru import", "ratio_tools_list_vs_kitaru_import", "x")
    add("cold_start", "server peak RSS (VmHWM) after start", "peak_rss_mb", "MB")
    cold = results["cold_start"]
    imported = [m for m in ("kitaru", "zenml") if cold[f"{m}_imported_before_first_call"]]
    rows.append(
        ["cold_start", "imported before the first call", ", ".join(imported) or "neither",
         "", "neither", "NO" if imported else "yes"]
    )  # fmt: skip
    add("per_call", "get: direct KitaruClient().executions.get", "direct_sdk_ms")
    add("per_call", "get: in-process stub (call_stub)", "in_process_stub_ms")
    add("per_call", "get: over stdio", "stdio_ms")
    add("per_call", "get: in-process overhead", "in_process_overhead_ms")
    add("per_call", "get: stdio overhead", "stdio_overhead_ms")
    for size in results["list_scaling"]["sizes"]:
        add("list_scaling", f"list(limit=20), {size} execs: direct", f"direct_{size}_ms")
        add("list_scaling", f"list(limit=20), {size} execs: stub", f"stub_{size}_ms")
        add("list_scaling", f"list(limit=20), {size} execs: stub / direct", f"ratio_{size}", "x")
    if "stub_growth" in results["list_scaling"]["metrics"]:
        add("list_scaling", "stub growth 100 -> 1,000", "stub_growth", "x", versus="direct_growth")
    add("concurrency", "kitaru_status, idle", "status_idle_ms")
    add("concurrency", "kitaru_status, wait in flight", "status_during_wait_ms")
    add("concurrency", "kitaru_status, wait in flight (max)", "status_during_wait_max_ms")
    for name in RUN_TARGETS:
        if f"{name}_cold_ms" in results["run_returns"]["metrics"]:
            add("run_returns", f"run {name}: cold runner", f"{name}_cold_ms")
        add("run_returns", f"run {name}: warm runner", f"{name}_warm_ms", versus=f"{name}_cold_ms")
    if "warm_runner_ready_s" in results["run_returns"]["metrics"]:
        add("run_returns", "template: start to ready", "warm_runner_ready_s", "s")
    rows.extend(session_rows(results))
    return rows


def session_rows(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(section: str, label: str, key: str, unit: str = "ms") -> None:
        data = results[section]
        value = data["metrics"][key]
        target = met = ""
        limit = data.get("targets", {}).get(key)
        if limit is not None:
            target, met = f"<= {_shown(limit, unit)}", "yes" if value <= limit else "NO"
        rows.append([section, label, _shown(value, unit), "", target, met])

    if "session" in results:
        for key, label in (
            ("first_read_at_once_ms", "first read at once"),
            ("first_read_after_5s_ms", "first read 5 s after start"),
            ("run_first_ms", "run (first of the session)"),
            ("run_back_to_back_ms", "run issued as the previous returned"),
            ("run_after_8s_ms", "run 8 s later"),
        ):
            add("session", label, key)
            add("session", f"{label} (worst)", f"{key}_worst")
        add("session", "first read at once, from spawn", "first_read_at_once_from_spawn_ms")
        add("session", "floor: import kitaru + a warm read", "floor_import_plus_warm_read_ms")
        add("session", "first read at once / floor", "first_read_at_once_vs_floor", "x")
        add("session", "short flow: run + wait to result", "short_flow_result_ms")
        add("session", "short flow: direct SDK flow.run(), warm", "direct_sdk_flow_ms")
        add("session", "short flow: MCP / direct SDK", "short_flow_vs_direct_sdk", "x")
        add("session", "server RSS", "server_rss_mb", "MB")
        add("session", "template RSS", "template_rss_mb", "MB")
        add("session", "template CPU while idle", "template_idle_cpu_percent", "%")
    rows.extend(first_call_rows(results))
    return rows


def first_call_rows(results: dict[str, Any]) -> list[list[str]]:
    """The first call against the anchor (Kitaru's bundled server), and idle memory."""
    data = results.get("first_call")
    if not data:
        return []
    m, targets = data["metrics"], data.get("targets", {})
    rows: list[list[str]] = []

    def add(label: str, value: str, key: str = "", versus: str = "") -> None:
        limit = targets.get(key)
        target = met = ""
        if limit is not None and key in m:
            unit = "x" if key.endswith("vs_anchor") else "ms"
            target, met = f"<= {_shown(limit, unit)}", "yes" if m[key] <= limit else "NO"
        rows.append(["session", label, value, versus, target, met])

    def pair(case: str, label: str) -> None:
        for store in ("existing", "fresh"):
            ours, anchor = f"ours_{case}_{store}_ms", f"anchor_{case}_{store}_ms"
            value = f"{m[ours]:.0f} ({m[ours + '_worst']:.0f})"
            versus = ""
            if anchor in m:
                value += f" / anchor {m[anchor]:.0f} ({m[anchor + '_worst']:.0f}) ms"
                versus = f"{m[f'{case}_{store}_vs_anchor']:.2f}x anchor"
            add(f"{label}, {store} store (worst)", value, f"{case}_{store}_vs_anchor", versus)

    pair("tools_list", "spawn -> tools/list")
    pair("read_at_once", "spawn -> first read, called at once")
    after = "ours_read_after_5s_ms"
    add("first read 5 s after tools/list (worst)", f"{m[after]:.0f} ({m[after + '_worst']:.0f}) ms",
        "read_after_5s_ms")  # fmt: skip
    if "read_after_5s_ms" in targets:
        rows[-1][4:] = [f"<= {targets['read_after_5s_ms']} ms",
                        "yes" if m[after] <= targets["read_after_5s_ms"] else "NO"]  # fmt: skip
    pair("run_first", "spawn -> a run as the very first call returned")
    for process in ("server", "template", "runner"):
        key = f"ours_{process}"
        if f"{key}_rss_mb" in m:
            add(f"memory: {process} RSS / private (USS) / shared / PSS",
                f"{m[key + '_rss_mb']:.0f} / {m[key + '_uss_mb']:.0f} / "
                f"{m[key + '_shared_mb']:.0f} / {m[key + '_pss_mb']:.0f} MB")  # fmt: skip
    if "anchor_server_rss_mb" in m:
        key = "anchor_server"
        add("memory: anchor RSS / private (USS) / shared / PSS",
            f"{m[key + '_rss_mb']:.0f} / {m[key + '_uss_mb']:.0f} / "
            f"{m[key + '_shared_mb']:.0f} / {m[key + '_pss_mb']:.0f} MB")  # fmt: skip
    versus = f"{m['idle_rss_vs_anchor']:.2f}x anchor" if "idle_rss_vs_anchor" in m else ""
    add("memory while idle: server + template RSS", f"{m['ours_idle_rss_mb']:.0f} MB",
        "idle_rss_vs_anchor", versus)  # fmt: skip
    versus = f"{m['idle_pss_vs_anchor']:.2f}x anchor" if "idle_pss_vs_anchor" in m else ""
    add("memory while idle: server + template PSS", f"{m['ours_idle_pss_mb']:.0f} MB", "", versus)
    return rows


def print_table(results: dict[str, Any]) -> None:
    header = ["section", "measure (median)", "value", "vs baseline", "target", "met"]
    rows = [header, *(table_rows(results) if "cold_start" in results else session_rows(results))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows[1:]:
        print(line(row))
    meta = results["meta"]
    print(
        f"\n{meta['date']}, {meta['machine']['cpus']} cores, Python {meta['machine']['python']}, "
        f"{'--quick' if meta['quick'] else 'full'} run in {meta['duration_s']:.0f} s, "
        f"load average {' -> '.join(map(str, meta['machine']['load_average_1min']))}; "
        f"runner templates left after their server exited: {results['orphan_warm_runners']}"
    )


# ---------------------------------------------------------------------------- main


async def measure(quick: bool, home: Path, work: Path) -> dict[str, Any]:
    spawns, calls, list_calls, repeats = (3, 30, 30, 1) if quick else (10, 200, 60, 3)
    results: dict[str, Any] = {}
    log("cold start")
    results["cold_start"] = bench_cold_start(spawns, work, warm_cache=not quick)

    async with Session(work, name="warm") as session:  # the default: keeps a warm runner
        log("seeding: one real flow run (it creates the store); the import probe meanwhile")
        seed = partial(run_flow, work, "two_steps.py", "two_steps", name="bench")
        async with anyio.create_task_group() as group:
            probe = partial(imports_before_first_call, work, results["cold_start"])
            group.start_soon(anyio.to_thread.run_sync, probe)  # no timing in it
            exec_id, seeding = await anyio.to_thread.run_sync(seed)
        # After its first call, the server starts its warm runner.
        await session.call("kitaru_executions_list", {"limit": 1})
        await anyio.to_thread.run_sync(connect_sdk)  # this process too, meanwhile
        await wait_for(lambda: warm_runner_ready(home), timeout=90)  # then no warm-up overlaps
        await anyio.to_thread.run_sync(seeding.wait)
        log("per-call overhead")
        results["per_call"] = await bench_per_call(calls, exec_id, session, 2 if quick else 5)
        log("list scaling")
        sizes = [100] if quick else [100, 1000]
        results["list_scaling"] = await bench_list(list_calls, sizes, exec_id)
        log("run returns, warm runner")
        warm, running = await time_runs(session, home, repeats, True, tuple(RUN_TARGETS))
        log("concurrency")
        statuses = 8 if quick else 30
        results["concurrency"] = await bench_concurrency(statuses, session, home, running)
    log("run returns, cold runner")
    async with Session(work, {"KITARU_MCP_WARM_RUNNER": "0"}, name="cold") as session:
        # --quick: a cold runner once, for slow only (each costs a full Kitaru start-up)
        names = ("slow",) if quick else tuple(RUN_TARGETS)
        cold, running = await time_runs(session, home, repeats, False, names)
        kill_runner(home, running)
    results["run_returns"] = {
        "repeats": repeats,
        "metrics": {**cold, **warm},
        "targets": {f"{name}_warm_ms": 1000 for name in RUN_TARGETS},
    }
    if not quick:  # neither is what --quick checks: each spawns a dozen servers
        log("session: first read, runs, short flow to result")
        results["session"] = await bench_session(work, home, per_kind=3)
        log("session: the first call against the anchor, existing and fresh store, memory")
        results["first_call"] = await bench_first_call(home, work, rounds=3)
    return results


async def measure_session_only(home: Path, work: Path) -> dict[str, Any]:
    log("seeding: one real flow run (it creates the store)")
    _, seeding = await anyio.to_thread.run_sync(
        partial(run_flow, work, "two_steps.py", "two_steps", name="bench")
    )
    await anyio.to_thread.run_sync(seeding.wait)
    log("session: first read, runs, short flow to result")
    results = {"session": await bench_session(work, home, per_kind=3)}
    log("session: the first call against the anchor, existing and fresh store, memory")
    results["first_call"] = await bench_first_call(home, work, rounds=3)
    return results


async def bench_first_call(home: Path, work: Path, rounds: int) -> dict[str, Any]:
    import first_call  # bench/first_call.py, beside this script

    measure_rounds = partial(first_call.measure, server_command(), home, work, rounds, log)
    data = await anyio.to_thread.run_sync(measure_rounds)
    data["targets"] = dict(first_call.TARGETS)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, no session section (about 40 s)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument(
        "--only-session", action="store_true", help="only section 6 (session), about 3 minutes"
    )
    args = parser.parse_args(argv)

    began, load_before = time.perf_counter(), os.getloadavg()[0]
    home = isolate()
    work = home / "bench-work"
    work.mkdir()
    try:
        if args.only_session:
            results = anyio.run(measure_session_only, home, work)
        else:
            results = anyio.run(measure, args.quick, home, work)
        alive = warm_runners(home)
        deadline = time.monotonic() + 15
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = warm_runners(home)
        results["orphan_warm_runners"] = len(alive)
    finally:
        stop_leftover_runners(home)
        shutil.rmtree(home, ignore_errors=True)
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "quick": args.quick,
        "duration_s": round(time.perf_counter() - began, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "statistic": "median",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
