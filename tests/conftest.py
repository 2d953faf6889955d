"""Shared fixtures: a throw-away Kitaru home, example executions, an MCP client.

The environment is isolated at import time, before anything can import
Kitaru: every test run gets its own HOME, so the user's real Kitaru
configuration and store are never touched.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

_HOME = Path(tempfile.mkdtemp(prefix="kitaru-mcp-tests-"))
os.environ.update(
    {
        "HOME": str(_HOME),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "KITARU_ANALYTICS_OPT_IN": "false",
        "AUTO_OPEN_DASHBOARD": "false",
    }
)
# A server started here keeps no runner template (``kitaru_mcp.runs.forkserver``) unless its
# module is marked ``warm_runner`` or it asks with WARM: the template imports Kitaru in a
# process of its own (about 5 s of CPU a server), and most servers here run no flow. The
# session servers and every module that runs flows or judges the template ask for it.
WARM_RUNNER = "KITARU_MCP_WARM_RUNNER"
WARM = {WARM_RUNNER: "1"}
os.environ[WARM_RUNNER] = "0"
for _name in ("KITARU_CONFIG_PATH", "ZENML_CONFIG_PATH", "KITARU_SERVER_URL", "ZENML_STORE_URL"):
    os.environ.pop(_name, None)

sys.path.insert(0, str(Path(__file__).parent))
import npm_folders  # noqa: E402
from mcp_client import ERAS, StdioClient  # noqa: E402

_BACKGROUND: list[subprocess.Popen] = []


_NOTES = "KITARU_MCP_TEST_NOTES"  # where each test process leaves figures for the summary


def pytest_configure(config: pytest.Config) -> None:
    if _NOTES not in os.environ:  # the controller; xdist workers inherit it
        os.environ[_NOTES] = tempfile.mkdtemp(prefix="kitaru-mcp-notes-")


@pytest.fixture(scope="module", autouse=True)
def _runner_template(request: pytest.FixtureRequest) -> Iterator[None]:
    """Servers a ``warm_runner`` module starts keep a runner template; others none."""
    warm = request.node.get_closest_marker("warm_runner") is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WARM_RUNNER, "1" if warm else "0")
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest modules first, each in its own order: two workers take one file at a
    time, and a long file handed out last sets when the whole suite ends. A session with
    ``node`` tests starts their npm installs now, in the background; the slow ones among
    them wait behind the other slow modules, so the downloads are done by then."""
    order = {id(item): index for index, item in enumerate(items)}

    def marked(item: pytest.Item, name: str) -> bool:
        return item.get_closest_marker(name) is not None

    items.sort(
        key=lambda item: (
            not marked(item, "slow"),
            marked(item, "node"),
            order[id(item)],
        )
    )
    if any(marked(item, "node") for item in items):
        npm_folders.prefetch(os.environ[_NOTES])


def _leave_notes() -> None:
    fuzz = getattr(sys.modules.get("test_fuzz"), "COUNTS", None)
    measured = getattr(sys.modules.get("test_bounds"), "MEASURED", None)
    if fuzz or measured:
        note = Path(os.environ[_NOTES]) / f"{os.getpid()}.json"
        note.write_text(json.dumps({"fuzz": dict(fuzz or {}), "backend_down": measured or {}}))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _leave_notes()
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        npm_folders.stop_prefetch(os.environ[_NOTES])
    for process in _BACKGROUND:
        if process.poll() is None:
            process.kill()
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def kitaru_home() -> Path:
    return _HOME


def run_example(file: str, flow: str, **args: object) -> str:
    """Run an example flow to its end in a child process; return its exec_id."""
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "run_example.py"),
            str(EXAMPLES / file),
            flow,
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"example {file}:{flow} printed no result:\n{out.stdout}\n{out.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert "exec_id" in result, result
    return result["exec_id"]


def start_example(file: str, flow: str, **args: object) -> subprocess.Popen:
    """Start an example flow in the background (it keeps running after this returns)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "run_example.py"),
            str(EXAMPLES / file),
            flow,
            json.dumps(args),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
    )
    _BACKGROUND.append(process)
    return process


def home_env(home: Path) -> dict[str, str]:
    """Environment for a server with its own HOME (its own Kitaru store and state).

    The config paths are set explicitly: importing Kitaru in this process sets
    ZENML_CONFIG_PATH, which a child would otherwise inherit.
    """
    config = str(home / ".config" / "kitaru")
    return {"HOME": str(home), "KITARU_CONFIG_PATH": config, "ZENML_CONFIG_PATH": config}


@contextlib.contextmanager
def local_server_session(
    factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[StdioClient, Path, dict]]:
    """A server (destructive mode) in a new HOME that started Kitaru's local server and is
    connected to it: (client, home, the start answer). The local server is stopped after
    (even one a test killed: what is left of it); a stop that fails fails the test."""
    assert importlib.util.find_spec("fastapi") is not None, (
        f'the {name} suite needs the [local] extra: pip install -e ".[test,local]"'
    )
    home = factory.mktemp(f"{name}-home")
    log = factory.mktemp(f"{name}-log") / "stderr.log"
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    client = StdioClient(command, env={**home_env(home), **WARM}, cwd=ROOT)
    client.start(errlog_path=log)
    started = None
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        started = client.ok("kitaru_start_local_server", {"port": port, "timeout_s": 150})
        yield client, home, started
    finally:
        if started is not None:
            stopped = client.call("kitaru_stop_local_server", {})
            if stopped.is_error:
                pytest.fail(f"could not stop the local server: {stopped.content[0].text}")
        client.close()


def fresh_home(tmp_path: Path, name: str) -> dict[str, str]:
    """``home_env`` for a new, empty HOME ``tmp_path / name``."""
    home = tmp_path / name
    home.mkdir()
    return home_env(home)


def wait_until(predicate, timeout: float = 120, interval: float = 0.5):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioClient]:
    """One kitaru-mcp server (every tool) over stdio for the session, via the official client."""
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    client = StdioClient(command, env=WARM, cwd=ROOT).start(errlog_path=log)
    yield client
    client.close()


@pytest.fixture(scope="session")
def mcp_server_modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioClient]:
    """The same server as ``mcp_server``, reached by a 2026-07-28 client (``mcp.Client``)."""
    log = tmp_path_factory.mktemp("server-modern") / "stderr.log"
    command = [sys.executable, "-m", "kitaru_mcp", "--mode", "destructive"]
    client = StdioClient(command, env=WARM, cwd=ROOT, era="2026-07-28").start(errlog_path=log)
    yield client
    client.close()


@pytest.fixture(scope="session", params=ERAS)
def era_server(request: pytest.FixtureRequest) -> StdioClient:
    """A session server per protocol revision: a test taking it runs once per era
    (ids ``2025-11-25`` and ``2026-07-28``). Both serve the one test store."""
    if request.param == "2025-11-25":
        return request.getfixturevalue("mcp_server")
    return request.getfixturevalue("mcp_server_modern")


@pytest.fixture(scope="session")
def seeded(mcp_server: StdioClient) -> dict[str, str]:
    """A completed two-checkpoint execution and one paused on a wait."""
    completed = run_example("two_steps.py", "two_steps", name="seed")
    start_example("approval.py", "approval", topic="seeding")

    def waiting() -> str | None:
        found = mcp_server.ok("kitaru_executions_list", {"status": "waiting", "flow": "approval"})
        return found["executions"][0]["exec_id"] if found["count"] else None

    return {"completed": completed, "waiting": wait_until(waiting, timeout=180)}


@pytest.fixture(scope="session")
def example_ids(mcp_server: StdioClient, seeded: dict[str, str]) -> dict[str, str]:
    """Real ids to put in place of the made-up ones in schema examples.

    Keys: an execution id per status (``completed``, ``waiting``, ``failed``)
    and ``artifact_id`` (an artifact of the completed execution). The failed
    execution is a ``two_steps`` whose second checkpoint raised.
    """
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "run_example.py"),
            str(ROOT / "tests" / "flows" / "failing_two_steps.py"),
            "two_steps",
            json.dumps({"name": "seed-failure"}),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    failed = mcp_server.ok("kitaru_executions_list", {"flow": "two_steps", "status": "failed"})
    assert failed["count"], "the failing two_steps flow left no failed execution"
    completed = mcp_server.ok("kitaru_executions_get", {"exec_id": seeded["completed"]})
    return {
        **seeded,
        "failed": failed["executions"][0]["exec_id"],
        "artifact_id": completed["artifacts"][0]["artifact_id"],
    }


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Say how many invalid-argument cases the contract produced (they grow with the tools),
    how many cases the fuzzer ran, and how fast a down backend was reported."""
    from contract_cases import invalid_cases

    cases = invalid_cases()
    tools = len({case.tool for case in cases})
    terminalreporter.write_line(
        f"contract: {len(cases)} generated invalid-argument cases over {tools} tools"
    )
    counts: dict[str, int] = {}
    measured: dict[str, float] = {}
    for note in Path(os.environ[_NOTES]).glob("*.json"):
        data = json.loads(note.read_text())
        for kind, n in data.get("fuzz", {}).items():
            counts[kind] = counts.get(kind, 0) + n
        measured.update(data.get("backend_down", {}))
    if counts:
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        terminalreporter.write_line(f"fuzz: {sum(counts.values())} cases ({parts})")
    if measured:
        slowest = max(measured, key=measured.get)
        terminalreporter.write_line(
            f"backend down: {len(measured)} read tools answered within "
            f"{measured[slowest]:.2f} s (slowest {slowest}; the first call imports Kitaru)"
        )


def codegen(*args: str) -> subprocess.CompletedProcess:
    """Run the generator in a fresh process, as a developer would."""
    return subprocess.run(
        [sys.executable, "-m", "kitaru_mcp.codegen", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """The generator's inputs and outputs, copied where a test may break them."""
    for folder in ("schemas", "generated", "docs", "contract"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    copy_shapes(tmp_path)
    return tmp_path


def copy_shapes(root: Path) -> None:
    """The generator's one output outside generated/: the gateway's TypedDicts."""
    (root / "kitaru_mcp" / "gateway").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / SHAPES, root / SHAPES)


SHAPES = Path("kitaru_mcp", "gateway", "shapes.py")
