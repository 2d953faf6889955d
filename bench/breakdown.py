"""Where the first seconds and the memory go: ``python bench/breakdown.py [--rounds N]``.

Each stage on the way to a first answer runs in a fresh interpreter (a child
of this script, in a temporary ``HOME``), one after the other, the way the
server's warm-up and the runner template do them:

1. ``import mcp.server.lowlevel`` (the part of the server that answers ``tools/list``),
2. ``import kitaru`` (and ``kitaru.client``, ``zenml.client``),
3. ZenML's SQL store and its schemas (``zenml.zen_stores.sql_zen_store``),
4. the first ``Client().zen_store``: on a fresh store this creates the
   database and runs every migration; on an existing one it opens and checks it,
5. the server's first ``kitaru_executions_list(limit=20)`` through its dispatch
   path (handler and model imports, query compilation), then a second one (warm),
6. what the runner template adds: the modules every run imports
   (``gateway.runtime.preload``) and ZenML's ``pip freeze`` (``freeze_python_packages``).

The imports (2, 3 and 6) run with the garbage collector paused, as the server's
``import_sdk`` and the template do (``core.collector``); ``--collector-on``
measures them with it on, for comparison.

For every stage: wall time, CPU time, and the process's memory after it
(psutil's ``memory_full_info``: RSS, USS = private, PSS, shared = RSS - USS),
medians over ``--rounds`` children on an existing store, and one child on a
fresh store. ``--tracemalloc`` adds a child that traces Python allocations per
stage (tracemalloc slows imports down a lot: its timings are not the ones above).

Prints a table and writes ``bench/breakdown.json``. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "breakdown.json"

STAGES = (
    ("mcp", "import mcp.server.lowlevel"),
    ("kitaru", "import kitaru, kitaru.client, zenml.client"),
    ("sql_store", "import zenml's SQL store and schemas"),
    ("store", "Client().zen_store (fresh: create + migrate)"),
    ("first_query", "first kitaru_executions_list(limit=20) (dispatch, handler, SQL)"),
    ("warm_query", "the same call again"),
    ("run_modules", "template: the modules a run imports"),
    ("pip_freeze", "template: ZenML's pip freeze"),
)

CHILD = r"""
import json, os, sys, time
import psutil
trace = sys.argv[1] == "trace"
from kitaru_mcp.core import collector  # the server and the template import with it paused
import contextlib
paused = collector.paused if sys.argv[2] == "paused" else contextlib.nullcontext
if trace:
    import tracemalloc
    tracemalloc.start()
me = psutil.Process()
out = {}
def stage(name, work):
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    info = me.memory_full_info()
    row = {"wall_ms": (time.perf_counter() - wall) * 1e3,
           "cpu_ms": (time.process_time() - cpu) * 1e3,
           "rss_mb": info.rss / 2**20, "uss_mb": info.uss / 2**20,
           "pss_mb": getattr(info, "pss", info.uss) / 2**20,
           "shared_mb": (info.rss - info.uss) / 2**20}
    if trace:
        row["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
    out[name] = row
def kitaru_import():
    with paused():
        import kitaru, kitaru.client, zenml.client
def sql_store():
    with paused():
        import zenml.zen_stores.sql_zen_store, zenml.zen_stores.schemas
def store():
    from zenml.client import Client
    Client().zen_store
def query():
    import anyio
    from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions
    call = Dispatcher(ServeOptions()).call_tool
    result = anyio.run(call, "kitaru_executions_list", {"limit": 20})
    assert not result.is_error, result
def run_modules():
    from kitaru_mcp.gateway import runtime
    with paused():
        runtime.preload()
def pip_freeze():
    from kitaru_mcp.gateway import runtime
    runtime.freeze_python_packages()
stage("mcp", lambda: __import__("mcp.server.lowlevel"))
stage("kitaru", kitaru_import)
stage("sql_store", sql_store)
stage("store", store)
stage("first_query", query)
stage("warm_query", query)
stage("run_modules", run_modules)
stage("pip_freeze", pip_freeze)
print("BREAKDOWN=" + json.dumps(out), flush=True)
os._exit(0)
"""


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KITARU_", "ZENML_"))}
    env.update(HOME=str(home), ZENML_ANALYTICS_OPT_IN="false", KITARU_ANALYTICS_OPT_IN="false")
    return env


def one_child(
    home: Path, trace: bool = False, collector: str = "paused"
) -> dict[str, dict[str, float]]:
    script = home / "breakdown_child.py"  # ZenML wants a main module with a file
    script.write_text(CHILD)
    done = subprocess.run(
        [sys.executable, str(script), "trace" if trace else "plain", collector],
        env=isolated_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BREAKDOWN="):
            return json.loads(line.removeprefix("BREAKDOWN="))
    raise RuntimeError(f"the breakdown child failed: {done.stderr[-2000:]}")


def seed(home: Path) -> None:
    """Run ``examples/two_steps.py`` once in ``home`` (a real execution in the store)."""
    script = home / "seed_flow.py"
    script.write_text(
        f"import sys; sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
        "from two_steps import two_steps\n"
        "two_steps.run(name='breakdown')\n"
    )
    env = isolated_env(home)
    subprocess.run(
        [sys.executable, str(script)], env=env, cwd=home, capture_output=True, check=True
    )


def medians(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {
        stage: {
            key: round(statistics.median(r[stage][key] for r in rows), 1) for key in rows[0][stage]
        }
        for stage in rows[0]
    }


def measure(rounds: int, trace: bool, collector: str) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="kitaru-mcp-breakdown-"))
    try:
        fresh = one_child(home, collector=collector)  # the first child creates the store
        seed(home)  # one execution, so the first query has a row to build
        existing = medians([one_child(home, collector=collector) for _ in range(rounds)])
        results: dict[str, Any] = {
            "rounds": rounds,
            "collector": collector,
            "fresh": medians([fresh]),
            "existing": existing,
        }
        if trace:
            results["tracemalloc"] = medians([one_child(home, trace=True)])
        return results
    finally:
        shutil.rmtree(home, ignore_errors=True)


def print_table(results: dict[str, Any]) -> None:
    fresh, existing = results["fresh"], results["existing"]
    traced = results.get("tracemalloc")
    header = (
        "| stage | fresh store: wall / CPU ms | existing: wall / CPU ms "
        "| RSS / USS / PSS / shared MB after |"
    )
    print(header + (" traced MB |" if traced else ""))
    print("|---|---|---|---|" + ("---|" if traced else ""))
    for key, label in STAGES:
        f, e = fresh[key], existing[key]
        memory = f"{e['rss_mb']:.0f} / {e['uss_mb']:.0f} / {e['pss_mb']:.0f} / {e['shared_mb']:.0f}"
        cells = [
            label,
            f"{f['wall_ms']:.0f} / {f['cpu_ms']:.0f}",
            f"{e['wall_ms']:.0f} / {e['cpu_ms']:.0f}",
            memory,
        ]
        if traced:
            cells.append(f"{traced[key]['traced_mb']:.0f}")
        print("| " + " | ".join(cells) + " |")
    print(
        f"\nexisting store: medians of {results['rounds']} children; fresh store: one child; "
        f"the imports with the garbage collector {results['collector']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/breakdown.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=3, help="children on the existing store")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace allocations per stage"
    )
    parser.add_argument(
        "--collector-on",
        action="store_true",
        help="import with the garbage collector on (the server and the template pause it)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = measure(args.rounds, args.tracemalloc, "on" if args.collector_on else "paused")
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
