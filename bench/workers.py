"""Benchmark ``--workers``: ``python bench/workers.py [--quick] [--out FILE]``.

The same store, served over HTTP by ``--workers 1`` and ``--workers 2`` at
once (an idle server costs nothing), measured in rounds that alternate
between the two so that other workloads on shared cores hit both alike; each
round:

1. **unloaded**: one session, calls of ``kitaru_executions_list(limit=20)``
   and ``kitaru_executions_get`` alternately, one at a time: p50 / p99.
2. **loaded**: ``SESSIONS`` concurrent sessions doing the same for a fixed
   time: throughput (calls/s) and p50 / p95 / p99 / max.
3. **run under load**: while ``RUN_READERS`` sessions keep reading, how long
   ``kitaru_executions_run`` of ``examples/two_steps.py:two_steps`` takes to
   return (fresh inputs each time; the median and the worst over the rounds).

Every request is a self-contained 2026-07-28 ``tools/call`` (no session to
keep); each session is one keep-alive connection, so the kernel spreads the
sessions over the workers. Figures are printed beside their targets and
written to ``bench/workers-results.json``; nothing asserts on a timing. It
runs in a fresh temporary ``HOME`` (the caller's ``KITARU_*``/``ZENML_*``
variables dropped), seeded with a few real runs and copies of their rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from raw_wire import MODERN, http_message, modern_headers  # noqa: E402  (the tests' raw client)

SESSIONS = 20
RUN_READERS = 10
TARGETS = {"throughput_ratio": 1.4, "p99_vs_unloaded": 1.5, "run_return_s": 1.5}
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "bench-workers", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return round(ordered[index], 1)


def isolate(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("KITARU", "ZENML_"))}
    config = str(home / ".config" / "kitaru")
    env = {
        **keep,
        "HOME": str(home),
        "KITARU_CONFIG_PATH": config,
        "ZENML_CONFIG_PATH": config,
        "ZENML_ANALYTICS_OPT_IN": "false",
        "KITARU_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
    }
    os.environ.clear()
    os.environ.update(env)
    return env


def seed_store(total: int) -> list[str]:
    """A few real runs and copies of their rows (``bench/seed.py``); the real exec_ids."""
    import seed

    templates = seed.real_runs()
    seed.seed(templates, total)
    return templates


class Caller:
    """One session: a keep-alive connection sending self-contained 2026-07-28 calls."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx2.AsyncClient(timeout=120)
        self.next_id = 0

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        body = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": META},
        }
        headers = modern_headers("tools/call", name)
        response = await self.http.post(self.url, content=json.dumps(body), headers=headers)
        message = http_message(response.headers.get("content-type", ""), response.text)
        result = message.get("result") or {}
        if "error" in message or result.get("isError"):
            raise RuntimeError(f"{name} failed: {json.dumps(message)[:400]}")
        return result.get("structuredContent") or {}

    async def read(self, index: int, exec_ids: list[str]) -> float:
        """One read (list or get, alternately); its latency in ms."""
        start = time.perf_counter()
        if index % 2:
            await self.call("kitaru_executions_get", {"exec_id": exec_ids[index % len(exec_ids)]})
        else:
            await self.call("kitaru_executions_list", {"limit": 20})
        return (time.perf_counter() - start) * 1000

    async def close(self) -> None:
        await self.http.aclose()


class Server:
    """``kitaru-mcp --transport http --workers N`` in the bench's HOME."""

    def __init__(self, workers: int, env: dict[str, str], log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http"]
        flags = ["--port", str(self.port), "--workers", str(workers), "--mode", "standard"]
        with open(log_path, "ab") as err:
            self.process = subprocess.Popen(
                [*command, *flags], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err
            )

    def wait_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode})")
            time.sleep(0.1)
        raise RuntimeError("the server did not listen")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


async def readers(
    url: str, exec_ids: list[str], count: int, until: asyncio.Event, into: list[float]
) -> int:
    """``count`` sessions reading until ``until`` is set; the number of calls made."""

    async def one(offset: int) -> int:
        caller, done = Caller(url), 0
        try:
            while not until.is_set():
                into.append(await caller.read(offset + done, exec_ids))
                done += 1
        finally:
            await caller.close()
        return done

    return sum(await asyncio.gather(*(one(i) for i in range(count))))


@dataclass
class Samples:
    """What the rounds measured against one server, pooled."""

    unloaded: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    calls: int = 0
    elapsed: float = 0.0
    returns: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "unloaded_p50_ms": percentile(self.unloaded, 0.5),
            "unloaded_p99_ms": percentile(self.unloaded, 0.99),
            "throughput_per_s": round(self.calls / self.elapsed, 1),
            "calls": self.calls,
            "p50_ms": percentile(self.latencies, 0.5),
            "p95_ms": percentile(self.latencies, 0.95),
            "p99_ms": percentile(self.latencies, 0.99),
            "max_ms": round(max(self.latencies), 1),
            "run_return_median_s": round(statistics.median(self.returns), 2),
            "run_return_worst_s": round(max(self.returns), 2),
        }


async def one_round(url: str, exec_ids: list[str], seconds: float, into: Samples) -> None:
    """One round of the three measurements against one server (already warm)."""
    single = Caller(url)
    into.unloaded += [await single.read(i, exec_ids) for i in range(20)]
    await single.close()

    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.ensure_future(readers(url, exec_ids, SESSIONS, stop, into.latencies))
    await asyncio.sleep(seconds)
    stop.set()
    into.calls += await task
    into.elapsed += time.perf_counter() - started

    stop_runs = asyncio.Event()
    busy = asyncio.ensure_future(readers(url, exec_ids, RUN_READERS, stop_runs, []))
    await asyncio.sleep(2.0)  # the readers are busy
    runner = Caller(url)
    start = time.perf_counter()
    arguments = {"name": f"bench-{os.getpid()}-{time.time_ns()}"}
    await runner.call(
        "kitaru_executions_run", {"target": "examples/two_steps.py:two_steps", "args": arguments}
    )
    into.returns.append(time.perf_counter() - start)
    await runner.close()
    stop_runs.set()
    await busy
    await asyncio.sleep(2.0)  # the run ends before the other server's round


async def measure(urls: dict[str, str], exec_ids: list[str], seconds: float, rounds: int):
    """Rounds alternating between the servers, so the machine's drift (other workloads
    on shared cores) hits both alike; the pooled figures per server."""
    samples = {name: Samples() for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            await one_round(url, exec_ids, seconds, samples[name])
    return {name: sample.summary() for name, sample in samples.items()}


async def warm(url: str, exec_ids: list[str]) -> None:
    """Every worker imported Kitaru and read the store (and its runner template is ready)."""
    for _ in range(3):
        callers = [Caller(url) for _ in range(SESSIONS)]
        await asyncio.gather(*(c.read(i, exec_ids) for i, c in enumerate(callers)))
        await asyncio.gather(*(c.close() for c in callers))
    await asyncio.sleep(5.0)  # the templates finish importing Kitaru


def table(results: dict[str, dict[str, Any]]) -> str:
    one, two = results["1"], results["2"]
    ratio = two["throughput_per_s"] / one["throughput_per_s"]
    rows = [
        ("throughput (calls/s), 20 sessions", one["throughput_per_s"], two["throughput_per_s"]),
        ("p50 / p95 / p99 (ms)", _trio(one), _trio(two)),
        ("max (ms)", one["max_ms"], two["max_ms"]),
        ("unloaded p50 / p99 (ms)", _pair(one, "unloaded"), _pair(two, "unloaded")),
        (
            "p99 / unloaded p99",
            f"{one['p99_ms'] / one['unloaded_p99_ms']:.1f}x",
            f"{two['p99_ms'] / two['unloaded_p99_ms']:.1f}x",
        ),
        (
            "run returns, 10 readers busy: median (worst) s",
            f"{one['run_return_median_s']} ({one['run_return_worst_s']})",
            f"{two['run_return_median_s']} ({two['run_return_worst_s']})",
        ),
    ]
    lines = [f"{'measure':<48} {'--workers 1':>18} {'--workers 2':>18}"]
    lines += [f"{label:<48} {a!s:>18} {b!s:>18}" for label, a, b in rows]
    lines += [
        "",
        f"throughput, 2 workers / 1: {ratio:.2f}x (target >= {TARGETS['throughput_ratio']}x)",
        f"p99 under load / unloaded p99, 2 workers: {two['p99_ms'] / two['unloaded_p99_ms']:.1f}x "
        f"(target <= {TARGETS['p99_vs_unloaded']}x)",
        f"run return under load, 2 workers, worst: {two['run_return_worst_s']} s "
        f"(target <= {TARGETS['run_return_s']} s)",
    ]
    return "\n".join(lines)


def _trio(row: dict[str, Any]) -> str:
    return f"{row['p50_ms']:.0f} / {row['p95_ms']:.0f} / {row['p99_ms']:.0f}"


def _pair(row: dict[str, Any], prefix: str) -> str:
    return f"{row[prefix + '_p50_ms']:.0f} / {row[prefix + '_p99_ms']:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 4 s of load")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "workers-results.json")
    args = parser.parse_args(argv)
    seconds, rounds = (4.0, 2) if args.quick else (5.0, 6)
    home = Path(tempfile.mkdtemp(prefix="kitaru-bench-workers-"))
    try:
        env = isolate(home)
        log("seeding the store")
        exec_ids = seed_store(200)
        import logging

        logging.getLogger("httpx2").setLevel(logging.WARNING)  # Kitaru logs every request
        logging.getLogger("httpx").setLevel(logging.WARNING)
        servers = {str(n): Server(n, env, home / f"server-{n}.log") for n in (1, 2)}
        try:
            for server in servers.values():
                server.wait_listening()
            urls = {name: server.url for name, server in servers.items()}
            for url in urls.values():
                asyncio.run(warm(url, exec_ids))
            log(f"{rounds} rounds of {seconds:.0f} s of load per server, alternating")
            results = asyncio.run(measure(urls, exec_ids, seconds, rounds))
        finally:
            for server in servers.values():
                server.stop()
        cpu = {"cores": os.cpu_count(), "load_average": list(os.getloadavg())}
        args.out.write_text(json.dumps({"machine": cpu, "results": results}, indent=2) + "\n")
        print(table(results))
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
