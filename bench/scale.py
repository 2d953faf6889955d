"""Read tools against the SDK calls they wrap, as the store grows: ``python bench/scale.py``.

For each store size (default 1,000, 10,000 and 30,000 executions) every read
tool is called through the server's in-process dispatch path (validation,
worker thread, handler, output check) and its SDK counterpart is called
directly in this process, alternately; the figures are medians, the ratios
tool / SDK, and the growth factors from one size to the next. Nothing is
asserted: the targets are printed next to the figures.

The store is seeded fast (``bench/seed.py``): four real flow runs, then
copies of their rows through ZenML's SQL schema, with varied statuses, start
times, inputs and replays. ``--home DIR`` keeps the seeded store in ``DIR``
and reuses it on the next run (seeding only what is missing), so a 30,000
execution store is built once; without it a temporary HOME is used and
deleted.

Pairs (tool: SDK call)

- list: ``executions.list(limit=20)``; list page 5: the same page by cursor
  against ``executions.list(page=5, size=20)``; latest: ``executions.latest()``;
  get: ``executions.get(id)``;
- statistics(status, flow) and statistics(day): ``executions.statistics(...)``,
  asked again of an unchanged store (the kept answer) and, as ``*_after_write``,
  right after a commit to the store (counted afresh; the write is not timed);
- cohort (a match, and nothing matching): the same handler's old path is gone,
  so the figure is absolute (target 300 ms at 10,000);
- diff: ``kitaru.diff.diff(a, b)``; stacks_list: ``kitaru.list_stacks()``;
  status: ``kitaru.inspection.build_runtime_snapshot()``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "scale-results.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))

try:
    import anyio
except ImportError:  # pragma: no cover - depends on how the script is started
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.executable) != venv_python:
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    raise

from harness import isolate  # noqa: E402  (beside this script)

TARGETS = {  # tool -> (kind, limit): "ratio" vs the SDK, "ms" absolute at 10,000
    "get": ("ratio", 0.6),
    "diff": ("ratio", 1.3),
    "stacks_list": ("ratio", 1.3),
    "status": ("ratio", 1.3),
    "statistics_status_flow": ("ms", 50),
    "statistics_day": ("ms", 50),
    "statistics_status_flow_after_write": ("ms", 50),
    "statistics_day_after_write": ("ms", 50),
    "cohort_match": ("ms", 300),
    "cohort_none": ("ms", 300),
}
GROWTH_TARGET = 1.5  # 10,000 -> 30,000, for statistics and every paged read


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


class Pairs:
    """Each read tool and its SDK call, timed alternately."""

    def __init__(self, templates: list[str]) -> None:
        from kitaru_mcp.surface.dispatch import Dispatcher, ServeOptions

        self.dispatcher = Dispatcher(ServeOptions(mode="destructive"))
        self.completed, self.other = templates[0], templates[1]
        self.written: list[float] = []  # seconds spent writing, taken off the timed calls

    async def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.dispatcher.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name}: {result.content[0].text[:300]}")
        return result.structured_content

    def after_write(self, call: Callable[[], Any]) -> Callable[[], Any]:
        """``call`` timed right after a commit to the store (so nothing kept can answer it)."""

        def written() -> Any:
            self.written.append(self.touch())
            return call()

        return written

    def touch(self) -> float:
        """Commit a change to one run (its ``updated`` time); returns the seconds it took."""
        from sqlalchemy import text
        from zenml.client import Client

        start = time.perf_counter()
        with Client().zen_store.engine.begin() as connection:
            changed = connection.execute(
                text("UPDATE pipeline_run SET updated = :now WHERE id = :id"),
                {
                    "now": datetime.now(UTC).replace(tzinfo=None),
                    "id": self.completed.replace("-", ""),
                },
            )
            assert changed.rowcount == 1, (
                "the write must change a row, or nothing is counted afresh"
            )
        return time.perf_counter() - start

    def cases(self) -> dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]]:
        import kitaru
        from kitaru import KitaruClient, inspection
        from kitaru.diff import diff

        sdk = KitaruClient
        page5: dict[str, Any] = {}

        async def list_page5() -> None:  # the cursor of page 4, made once per size
            if "cursor" not in page5:
                token = None
                for _ in range(4):
                    found = await self.tool("kitaru_executions_list", _args(20, token))
                    token = found["next_cursor"]
                page5["cursor"] = token
            await self.tool("kitaru_executions_list", _args(20, page5["cursor"]))

        def tool(name: str, **arguments: Any) -> Callable[[], Any]:
            return lambda: self.tool(name, arguments)

        a, b = self.completed, self.other
        return {
            "list": (
                tool("kitaru_executions_list", limit=20),
                lambda: sdk().executions.list(limit=20),
            ),
            "list_page5": (list_page5, lambda: sdk().executions.list(page=5, size=20)),
            "latest": (tool("kitaru_executions_latest"), lambda: sdk().executions.latest()),
            "get": (tool("kitaru_executions_get", exec_id=a), lambda: sdk().executions.get(a)),
            "statistics_status_flow": (
                tool("kitaru_executions_statistics", group_by=["status", "flow"]),
                lambda: sdk().executions.statistics(group_by=["status", "flow"]),
            ),
            "statistics_day": (
                tool("kitaru_executions_statistics", group_by=["day"]),
                lambda: sdk().executions.statistics(group_by=["time:day"]),
            ),
            "statistics_status_flow_after_write": (
                self.after_write(tool("kitaru_executions_statistics", group_by=["status", "flow"])),
                self.after_write(lambda: sdk().executions.statistics(group_by=["status", "flow"])),
            ),
            "statistics_day_after_write": (
                self.after_write(tool("kitaru_executions_statistics", group_by=["day"])),
                self.after_write(lambda: sdk().executions.statistics(group_by=["time:day"])),
            ),
            "cohort_match": (
                tool("kitaru_executions_cohort", flow="two_steps", inputs={"name": "alpha"}),
                None,
            ),
            "cohort_none": (
                tool("kitaru_executions_cohort", flow="two_steps", inputs={"name": "nobody"}),
                None,
            ),
            "diff": (
                tool("kitaru_executions_diff", exec_id=a, other_exec_id=b),
                lambda: diff(a, b),
            ),
            "stacks_list": (tool("kitaru_stacks_list"), kitaru.list_stacks),
            "status": (tool("kitaru_status"), inspection.build_runtime_snapshot),
        }


def _args(limit: int, cursor: str | None) -> dict[str, Any]:
    return {"limit": limit, **({"cursor": cursor} if cursor else {})}


async def _timed(pairs: Pairs, call: Callable[[], Any]) -> float:
    """Milliseconds ``call`` took, less any store write it made first (``after_write``)."""
    pairs.written.clear()
    start = time.perf_counter()
    result = call()
    if hasattr(result, "__await__"):
        await result
    return (time.perf_counter() - start - sum(pairs.written)) * 1e3


async def measure_size(
    pairs: Pairs, calls: int, only: tuple[str, ...] | None = None
) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for name, (ours, theirs) in pairs.cases().items():
        if only is not None and name not in only:
            continue
        await ours()  # warm: imports, first queries, caches
        if theirs is not None:
            theirs()
        tool_ms: list[float] = []
        sdk_ms: list[float] = []
        for _ in range(calls):
            tool_ms.append(await _timed(pairs, ours))
            if theirs is not None:
                sdk_ms.append(await _timed(pairs, theirs))
        figure = {"tool_ms": median(tool_ms)}
        if sdk_ms:
            figure["sdk_ms"] = median(sdk_ms)
            figure["ratio"] = round(figure["tool_ms"] / figure["sdk_ms"], 3)
        figures[name] = figure
        print(f"  {name}: {figure}", file=sys.stderr, flush=True)
    return figures


def growth(results: dict[int, dict[str, dict[str, float]]], small: int, large: int) -> dict:
    out: dict[str, dict[str, float]] = {}
    for name, figure in results[large].items():
        base = results[small][name]
        out[name] = {"tool": round(figure["tool_ms"] / base["tool_ms"], 2)}
        if "sdk_ms" in figure:
            out[name]["sdk"] = round(figure["sdk_ms"] / base["sdk_ms"], 2)
    return out


def table(results: dict[int, dict[str, dict[str, float]]], sizes: list[int]) -> str:
    header = ["tool"]
    for size in sizes:
        header += [f"{size:,}: tool ms", "SDK ms", "tool/SDK"]
    if len(sizes) > 1:
        header += [f"growth {sizes[-2]:,}->{sizes[-1]:,} tool", "SDK"]
    header += ["target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in results[sizes[0]]:
        cells = [name]
        for size in sizes:
            figure = results[size][name]
            cells += [
                f"{figure['tool_ms']:g}",
                f"{figure['sdk_ms']:g}" if "sdk_ms" in figure else "",
                f"{figure['ratio']:.2f}x" if "ratio" in figure else "",
            ]
        if len(sizes) > 1:
            grown = growth(results, sizes[-2], sizes[-1])[name]
            cells += [f"{grown['tool']:.2f}x", f"{grown['sdk']:.2f}x" if "sdk" in grown else ""]
        kind, limit = TARGETS.get(name, ("growth", GROWTH_TARGET))
        cells.append(
            {"ratio": f"<= {limit}x SDK", "ms": f"<= {limit} ms @10k"}.get(
                kind, f"growth <= {limit}x"
            )
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def run(sizes: list[int], calls: int, templates: list[str]) -> dict[int, Any]:
    import seed

    pairs = Pairs(templates)
    results: dict[int, Any] = {}
    for size in sorted(sizes):
        if seed.count() > size:  # a kept store only grows: its smaller sizes are gone
            raise SystemExit(
                f"the store holds {seed.count():,} executions, more than {size:,}: "
                "measure the smaller sizes with a new --home"
            )
        took = seed.seed(templates, size)
        print(f"{size:,} executions (seeded in {took:.1f} s)", file=sys.stderr, flush=True)
        results[size] = await measure_size(pairs, calls)
    return results


SERVER_CASES = (
    "list",
    "list_page5",
    "latest",
    "get",
    "statistics_status_flow",
    "diff",
    "stacks_list",
)


async def measure_server(templates: list[str], calls: int) -> dict[str, dict[str, float]]:
    """The read tools and their SDK calls again, connected to Kitaru's local server (REST).

    The server serves the same store; the process is connected to it as
    ``kitaru_start_local_server`` connects a user, and the server is stopped after.
    """
    import socket

    from kitaru_mcp.gateway import Gateway

    gateway = Gateway()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    print(f"starting Kitaru's local server on port {port}", file=sys.stderr, flush=True)
    try:
        gateway.start_local_server(port, timeout_s=150)
        assert gateway.store_sql() is None, "connected over REST"
        pairs = Pairs(templates)
        return await measure_size(pairs, calls, only=SERVER_CASES)
    finally:
        gateway.stop_local_server()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/scale.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="1000,10000,30000", help="store sizes, ascending")
    parser.add_argument("--calls", type=int, default=15, help="timed calls per tool and size")
    parser.add_argument("--home", type=Path, help="keep (and reuse) the seeded store here")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--server",
        action="store_true",
        help="then start Kitaru's local server on the largest store and time the reads over REST",
    )
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))

    home = args.home or Path(tempfile.mkdtemp(prefix="kitaru-mcp-scale-"))
    home.mkdir(parents=True, exist_ok=True)
    isolate(home)
    began = time.perf_counter()
    try:
        import seed

        from kitaru_mcp.gateway import session

        session.ensure_store()
        saved = home / "scale-templates.json"
        if saved.exists():
            templates = json.loads(saved.read_text())
        else:
            print("running the template flows (a minute)", file=sys.stderr, flush=True)
            templates = seed.real_runs()
            saved.write_text(json.dumps(templates))
        results = anyio.run(run, sizes, args.calls, templates)
        served = anyio.run(measure_server, templates, args.calls) if args.server else None
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    report = {
        "sizes": sizes,
        "calls": args.calls,
        "results": {str(size): figures for size, figures in results.items()},
        "growth": {
            f"{small}->{large}": growth(results, small, large)
            for small, large in itertools.pairwise(sizes)
        },
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "duration_s": round(time.perf_counter() - began, 1),
            "statistic": "median",
        },
    }
    if served is not None:
        report["server"] = {"size": sizes[-1], "results": served}
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results, sizes))
    if served is not None:
        print(f"\nOver REST, Kitaru's local server on the {sizes[-1]:,} execution store:\n")
        print(table({sizes[-1]: served}, [sizes[-1]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
