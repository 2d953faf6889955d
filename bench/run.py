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

The sections live beside this script: 1-5 in ``sections.py``, 6 in ``session.py``
(the anchor's rounds in ``first_call.py``), the tables in ``report.py``, and what
they share (helpers, the isolated HOME, seeding, a stdio session) in ``harness.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
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


from harness import Session, connect_sdk, isolate, log, run_flow, server_command  # noqa: E402
from report import print_table  # noqa: E402
from sections import (  # noqa: E402
    RUN_TARGETS,
    bench_cold_start,
    bench_concurrency,
    bench_list,
    bench_per_call,
    imports_before_first_call,
    kill_runner,
    stop_leftover_runners,
    time_runs,
    wait_for,
    warm_runner_ready,
    warm_runners,
)
from session import bench_session  # noqa: E402

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
