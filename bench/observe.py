"""What the audit log and tracing cost a call: ``python bench/observe.py [--rounds N]``.

Two parts, each printed as medians (milliseconds or microseconds), never asserted:

1. **in process**: ``Dispatcher.run`` of a tool whose handler returns at once
   (validation, worker threads, output check: the whole call path without a
   store), tracing off, then on (an SDK provider with a batching exporter to a
   loopback receiver). The off figure is the path as it was before tracing
   existed: off, ``span()`` is one boolean test.
2. **over stdio**: four servers on one store, called in turn, round after
   round (so drift hits them alike): ``baseline`` (no audit log, no OTEL
   variables), ``tracing off`` (an endpoint set but ``OTEL_SDK_DISABLED=true``),
   ``tracing on`` (exporting to a loopback receiver) and ``audit on``
   (``--audit-log``). Each round makes two calls per server: a
   ``kitaru_executions_get`` of a real execution (a store read) and a
   ``kitaru_executions_list`` refused by its arguments (no store: the
   overhead alone).

Everything runs in a fresh temporary HOME, deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


class Sink:
    """A loopback OTLP/HTTP endpoint that answers 200 and counts what it got."""

    def __init__(self) -> None:
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.bytes += len(self.rfile.read(int(self.headers.get("content-length") or 0)))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def in_process(rounds: int, sink: Sink) -> dict[str, float]:
    """Medians (µs) of Dispatcher.run on a handler that returns at once, off then on."""
    import anyio

    from kitaru_mcp.calls.stubs import ToolStub
    from kitaru_mcp.observe import tracing
    from kitaru_mcp.surface.dispatch import Dispatcher

    class Out:
        def model_dump(self, **_: Any) -> dict[str, Any]:
            return {"exec_id": "0123456789abcdef"}

    spec = {
        "name": "bench_tool",
        "group": "execution",
        "annotations": {"readOnlyHint": True, "destructiveHint": False},
        "inputSchema": {"type": "object", "properties": {"exec_id": {"type": "string"}}},
        "outputSchema": {"type": "object"},
    }

    class Gateway:
        def using(self) -> Any:
            import contextlib

            return contextlib.nullcontext()

    stub = ToolStub(spec, lambda gw, args: Out())  # type: ignore[arg-type,return-value]
    dispatcher = Dispatcher(tools={"bench_tool": stub}, gateway=Gateway)

    async def timed(n: int) -> list[float]:
        times = []
        for _ in range(n):
            began = time.perf_counter()
            await dispatcher.run("bench_tool", {"exec_id": "0123456789abcdef"})
            times.append(time.perf_counter() - began)
        return times

    anyio.run(timed, 50)  # warm-up: validators compiled, threads started
    off = anyio.run(timed, rounds)
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.endpoint
    assert tracing.configure(), "tracing did not start (is kitaru-mcp[telemetry] installed?)"
    anyio.run(timed, 50)
    on = anyio.run(timed, rounds)
    tracing.finish()
    del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    return {"off_us": median_ms(off) * 1000, "on_us": median_ms(on) * 1000}


def over_stdio(rounds: int, sink: Sink, home: Path) -> dict[str, dict[str, float]]:
    from mcp_client import StdioClient

    config = str(home / ".config" / "kitaru")
    base = {"HOME": str(home), "KITARU_CONFIG_PATH": config, "ZENML_CONFIG_PATH": config}
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "read-only"]
    kinds: dict[str, tuple[list[str], dict[str, str]]] = {
        "baseline": (command, {}),
        "tracing off": (
            command,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_SDK_DISABLED": "true"},
        ),
        "tracing on": (command, {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint}),
        "audit on": ([*command, "--audit-log", str(home / "audit.log")], {}),
    }
    seeder = StdioClient(
        [sys.executable, "-m", "kitaru_mcp", "--mode", "standard"], env=base, cwd=ROOT
    ).start(errlog_path=home / "seed.log")
    try:
        started = seeder.ok(
            "kitaru_executions_run",
            {"target": "examples/two_steps.py:two_steps", "args": {"name": "bench"}},
        )
        exec_id = started["execution"]["exec_id"]
        seeder.ok("kitaru_executions_wait", {"exec_id": exec_id, "timeout_s": 120})
    finally:
        seeder.close()
    clients = {
        kind: StdioClient(cmd, env={**base, **extra}, cwd=ROOT).start(
            errlog_path=home / f"{kind.replace(' ', '-')}.log"
        )
        for kind, (cmd, extra) in kinds.items()
    }
    times: dict[str, dict[str, list[float]]] = {k: {"get": [], "refused": []} for k in clients}
    try:
        for client in clients.values():  # warm: Kitaru imported, the store open
            for _ in range(5):
                client.ok("kitaru_executions_get", {"exec_id": exec_id})
        for _ in range(rounds):
            for kind, client in clients.items():
                began = time.perf_counter()
                client.ok("kitaru_executions_get", {"exec_id": exec_id})
                times[kind]["get"].append(time.perf_counter() - began)
                began = time.perf_counter()
                client.error("kitaru_executions_list", {"limit": "x"})
                times[kind]["refused"].append(time.perf_counter() - began)
    finally:
        for client in clients.values():
            client.close()
    return {
        kind: {call: median_ms(values) for call, values in by_call.items()}
        for kind, by_call in times.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/observe.py", description=__doc__)
    parser.add_argument("--rounds", type=int, default=60, help="calls per server (default 60)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="kitaru-mcp-bench-observe-"))
    for name in list(os.environ):
        if name.startswith(("KITARU_", "ZENML_", "OTEL_")):
            del os.environ[name]
    os.environ.update({"ZENML_ANALYTICS_OPT_IN": "false", "KITARU_ANALYTICS_OPT_IN": "false"})
    sink = Sink()
    try:
        local = in_process(max(args.rounds * 20, 500), sink)
        print("in process, Dispatcher.run of a handler that returns at once (median):")
        print(f"  tracing off  {local['off_us']:8.1f} µs")
        print(
            f"  tracing on   {local['on_us']:8.1f} µs  (+{local['on_us'] - local['off_us']:.1f} µs)"
        )
        stdio = over_stdio(args.rounds, sink, home)
        print(f"over stdio, {args.rounds} rounds, median ms per call:")
        print(f"  {'server':<12} {'executions_get':>15} {'refused call':>13}")
        base = stdio["baseline"]
        for kind, figures in stdio.items():
            get, refused = figures["get"], figures["refused"]
            delta = "" if kind == "baseline" else f"  ({get - base['get']:+.2f} / "
            delta += "" if kind == "baseline" else f"{refused - base['refused']:+.2f})"
            print(f"  {kind:<12} {get:15.2f} {refused:13.2f}{delta}")
        print(f"the collector received {sink.bytes} bytes of spans")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
