# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""Fast unit tests of the runner machinery: no MCP server, no Kitaru store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kitaru_mcp.core import processes, state
from kitaru_mcp.gateway import store_lock
from kitaru_mcp.runs import forkserver, idempotency, launcher, reaper, runner

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(folder))
    return folder


def _dead_pid() -> tuple[int, float | None]:
    """A pid that existed and has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    created = processes.create_time(child.pid)
    child.wait()
    return child.pid, created


# --- processes ---------------------------------------------------------------------


def test_liveness_of_this_a_dead_and_a_zombie_process() -> None:
    assert processes.alive(os.getpid())
    assert processes.alive(os.getpid(), processes.create_time())
    assert not processes.alive(os.getpid(), processes.create_time() - 10)  # a recycled pid
    pid, _ = _dead_pid()
    assert not processes.alive(pid)
    assert not processes.alive(None) and not processes.alive(0)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while processes.alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes.alive(zombie.pid), "an exited, unreaped child counts as dead"
    assert zombie.poll() == 0


def test_is_runner_needs_the_runner_module_and_its_own_session() -> None:
    assert not processes.is_runner(os.getpid())
    # a process running the runner module in its own session: a runner
    leader = subprocess.Popen(
        [sys.executable, "-m", "kitaru_mcp.runs.runner", "--job", "/nonexistent", "x"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "kitaru_mcp.runs.runner"],
        start_new_session=True,
    )
    try:
        assert processes.is_runner(sleeper.pid) is False  # the word alone is not enough
        assert not processes.is_template(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
        leader.wait(timeout=30)
    assert not processes.is_runner(leader.pid)


def test_stop_tree_ends_a_process_and_its_descendants() -> None:
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    grandchild = int(parent.stdout.readline())
    assert processes.alive(grandchild)
    assert processes.stop_tree(parent.pid, grace_s=2) is True
    parent.wait(timeout=5)
    assert not processes.alive(parent.pid) and not processes.alive(grandchild)


def test_stop_tree_kills_what_ignores_sigterm() -> None:
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print(1, flush=True)\n"
        "time.sleep(60)\n"
    )
    stubborn = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    stubborn.stdout.readline()
    began = time.monotonic()
    assert processes.stop_tree(stubborn.pid, grace_s=0.5) is True
    took = time.monotonic() - began
    assert not processes.alive(stubborn.pid)
    assert 0.4 <= took < 5, took  # SIGTERM was ignored for the grace period, then SIGKILL


# --- store lock ---------------------------------------------------------------------


@pytest.mark.parametrize("portable", [False, True])
def test_store_lock_excludes_threads_and_processes(portable: bool) -> None:
    inside: list[int] = []
    overlaps: list[int] = []

    def hold() -> None:
        with store_lock.store_lock(portable=portable):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert overlaps == []
    assert store_lock.lock_path().parent == state.state_dir().parent

    # another process cannot take it while we hold it
    probe = (
        "import sys, time\n"
        "from kitaru_mcp.gateway.store_lock import store_lock\n"
        "print('ready', flush=True)\n"
        "began = time.monotonic()\n"
        f"with store_lock(portable={portable}):\n"
        "    print(round(time.monotonic() - began, 2))\n"
    )
    with store_lock.store_lock(portable=portable):
        other = subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "ready"  # imported: it asks for the lock now
        time.sleep(1.0)  # what is measured: how long it waits for us
        assert other.poll() is None, "the other process got the lock while we held it"
    waited = float(other.communicate(timeout=30)[0])
    assert waited >= 0.5


def test_portable_lock_left_by_a_dead_holder_is_taken_over() -> None:
    pid, _ = _dead_pid()
    stale = store_lock.lock_path().with_suffix(".excl")
    stale.write_text(str(pid))
    began = time.monotonic()
    with store_lock.store_lock(portable=True, timeout_s=5):
        assert stale.read_text() == str(os.getpid())
    assert not stale.exists() and time.monotonic() - began < 2


# --- jobs as data ---------------------------------------------------------------------


def test_a_job_file_carries_megabytes_and_dashes_and_is_deleted() -> None:
    big = json.dumps({"blob": "x" * 5_000_000, "flag": "--report=/etc/passwd"})
    job = {"token": "t1", "operation": "run", "options": {"target": "-m:x", "args": big}}
    path = state.subdir("jobs") / "t1.json"
    state.write_json(path, job)
    loaded = runner.read_job(path)
    assert loaded["options"]["args"] == big and loaded["options"]["target"] == "-m:x"
    assert not path.exists()
    state.write_json(path, {"operation": "rm -rf"})
    with pytest.raises(ValueError, match="not a runner job"):
        runner.read_job(path)


def test_runner_refuses_anything_but_a_job_file_or_template() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp.runs.runner", "run", "--target", "x:y"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "usage" in out.stderr


def test_exit_reasons() -> None:
    state.write_json(state.exit_path("a"), {"returncode": -9, "signal": "SIGKILL"})
    state.write_json(state.exit_path("b"), {"returncode": 3})
    assert launcher.exit_reason("a", 42) == "runner process 42 died: SIGKILL"
    assert launcher.exit_reason("b", 42) == "runner process 42 exited with code 3"
    assert launcher.exit_reason("c", 42).startswith("runner process 42 died")


# --- reaper ---------------------------------------------------------------------------


def test_reaper_fails_a_live_execution_whose_runner_died() -> None:
    dead, _ = _dead_pid()
    state.write_json(
        state.record_path("e-dead"), {"exec_id": "e-dead", "pid": dead, "token": "tok"}
    )
    state.write_json(state.exit_path("tok"), {"returncode": -9, "signal": "SIGKILL"})
    state.write_json(state.record_path("e-done"), {"exec_id": "e-done", "pid": dead})
    state.write_json(state.record_path("e-busy"), {"exec_id": "e-busy", "pid": dead})
    state.write_json(
        launcher.launch_path("l1"),
        {"exec_id": "e-busy", "launcher_pid": os.getpid(), "launcher_create_time": None},
    )
    statuses = {"e-dead": "running", "e-done": "completed", "e-busy": "running"}
    failed: dict[str, str] = {}

    live = reaper.reconcile(fail=failed.__setitem__, status=statuses.__getitem__)
    assert failed == {"e-dead": f"runner process {dead} died: SIGKILL"}
    assert live == 1  # the launch under way
    assert state.read_record("e-dead")["settled"] is True
    assert state.read_record("e-done")["settled"] is True
    assert "settled" not in state.read_record("e-busy")  # being started again: hands off

    failed.clear()
    reaper.reconcile(fail=failed.__setitem__, status=statuses.__getitem__)
    assert failed == {}, "a settled record is not failed twice"


def test_reaper_waits_a_moment_for_a_dead_runners_exit_status(monkeypatch) -> None:
    """Seen dead before the template reaped it: the failure waits for the exit status
    (the reason then names the signal), and without one it still comes after the grace."""
    monkeypatch.setattr(reaper, "_dead_since", {})
    dead, _ = _dead_pid()
    for exec_id, token in (("e-slow", "tok-slow"), ("e-none", "tok-none")):
        state.write_json(
            state.record_path(exec_id), {"exec_id": exec_id, "pid": dead, "token": token}
        )
    failed: dict[str, str] = {}
    live = reaper.reconcile(fail=failed.__setitem__, status=lambda _: "running")
    assert failed == {} and live == 2  # both looked at again on the next pass
    state.write_json(state.exit_path("tok-slow"), {"returncode": -9, "signal": "SIGKILL"})
    monkeypatch.setattr(reaper, "EXIT_STATUS_GRACE_S", 0.0)
    reaper.reconcile(fail=failed.__setitem__, status=lambda _: "running")
    assert failed == {
        "e-slow": f"runner process {dead} died: SIGKILL",
        "e-none": f"runner process {dead} died (no exit status was recorded)",
    }


def test_a_launch_during_a_reaper_pass_is_not_slept_through(monkeypatch) -> None:
    """A poke while a pass runs (a first call that is a run, while the pass waits for
    Kitaru's import) wakes the next pass; it once cleared it and slept until the next
    launch, so a runner killed meanwhile was never failed."""
    for name in ("_wake", "_stop", "_begun"):
        monkeypatch.setattr(reaper, name, threading.Event())
    monkeypatch.setattr(reaper, "AFTER_BEGIN_S", 0.0)
    monkeypatch.setattr(reaper, "_shared", lambda: False)  # a local store: no timed look
    passes: list[int] = []
    second = threading.Event()

    def one_pass() -> int:
        passes.append(1)
        if len(passes) == 1:
            reaper.poke()  # the launch, while this pass runs
        else:
            second.set()
        return 0  # nothing live: the loop waits for a poke

    monkeypatch.setattr(reaper, "reconcile", one_pass)
    reaper._begun.set()
    thread = threading.Thread(target=reaper._loop, daemon=True)
    thread.start()
    try:
        assert second.wait(10), "the poke during the first pass was lost"
    finally:
        reaper._stop.set()
        reaper._wake.set()
        thread.join(5)
    assert not thread.is_alive()


def test_reaper_leaves_live_runners_alone() -> None:
    state.write_json(
        state.record_path("e-live"),
        {"exec_id": "e-live", "pid": os.getpid(), "create_time": processes.create_time()},
    )
    # this process is alive but not a runner: its execution's runner is gone
    failed: dict[str, str] = {}
    reaper.reconcile(fail=failed.__setitem__, status=lambda _: "running")
    assert list(failed) == ["e-live"]


# --- idempotency ----------------------------------------------------------------------


def _key_record(tool: str, key: str) -> dict | None:
    return state.read_json(idempotency._key_path(tool, key))


def test_a_key_is_pending_before_the_start_and_released_when_it_fails() -> None:
    seen: list[dict | None] = []

    def start() -> str:
        seen.append(_key_record("run", "k1"))
        raise RuntimeError("runner failed to start")

    with pytest.raises(RuntimeError):
        idempotency.start_once("run", "k1", {"a": 1}, start)
    assert seen[0]["exec_id"] is None and seen[0]["pending"]["pid"] == os.getpid()
    assert _key_record("run", "k1") is None
    assert idempotency.start_once("run", "k1", {"a": 1}, lambda: "e1") == ("e1", False)
    assert idempotency.start_once("run", "k1", {"a": 1}, lambda: "e2") == ("e1", True)


def test_a_pending_key_while_its_start_lives_is_a_retryable_conflict() -> None:
    path = idempotency._key_path("run", "k2")
    fingerprint = idempotency._digest({"a": 1})
    pending = {"pid": os.getpid(), "create_time": processes.create_time(), "since": time.time()}
    state.write_json(
        path, {"exec_id": None, "arguments": fingerprint, "at": time.time(), "pending": pending}
    )
    with pytest.raises(idempotency.StartInProgress) as caught:
        idempotency.start_once("run", "k2", {"a": 1}, lambda: "never")
    error = caught.value.to_dict()
    assert error["code"] == "conflict" and error["retryable"] is True
    assert "still in progress" in error["message"]


def test_a_pending_key_of_a_crashed_start_reuses_its_report_or_is_released() -> None:
    dead, created = _dead_pid()
    fingerprint = idempotency._digest({"a": 1})
    for key, token in (("k3", "tok3"), ("k4", "tok4")):
        pending = {"pid": dead, "create_time": created, "since": time.time(), "token": token}
        pending.update(runner_pid=dead, runner_create_time=created)
        state.write_json(
            idempotency._key_path("run", key),
            {"exec_id": None, "arguments": fingerprint, "at": time.time(), "pending": pending},
        )
    state.write_json(state.subdir("reports") / "tok3.json", {"exec_id": "e-reported"})
    assert idempotency.start_once("run", "k3", {"a": 1}, lambda: "new") == ("e-reported", True)
    assert _key_record("run", "k3")["exec_id"] == "e-reported"
    assert idempotency.start_once("run", "k4", {"a": 1}, lambda: "fresh") == ("fresh", False)


def test_a_runner_record_is_written_to_the_pending_key_as_soon_as_it_exists() -> None:
    seen: list[dict | None] = []

    def start() -> str:
        launcher._notify({"token": "tokX", "runner_pid": 4242, "runner_create_time": 1.5})
        seen.append(_key_record("retry", "k5"))
        return "e5"

    assert idempotency.start_once("retry", "k5", {"exec_id": "e"}, start) == ("e5", False)
    assert seen[0]["pending"]["token"] == "tokX" and seen[0]["pending"]["runner_pid"] == 4242
    assert _key_record("retry", "k5")["pending"] is None


# --- template fallback ----------------------------------------------------------------


def test_without_fork_no_template_starts_and_starts_go_cold(monkeypatch, caplog) -> None:
    monkeypatch.delattr(forkserver.os, "fork")  # as on a platform without fork()
    assert forkserver.fork_available() is False and forkserver.template_enabled() is False
    with caplog.at_level("WARNING", logger="kitaru_mcp"):
        assert forkserver.start_template() is None
    assert "fork() is not available" in caplog.text
    assert forkserver.template_pid() is None
    with pytest.raises(forkserver.TemplateUnavailable):
        forkserver.fork_runner("t", Path("job"), Path("log"))


def test_the_template_switch(monkeypatch) -> None:
    monkeypatch.setenv(forkserver.WARM_RUNNER_ENV, "off")
    assert forkserver.template_enabled() is False
    monkeypatch.setenv(forkserver.WARM_RUNNER_ENV, "1")
    assert forkserver.template_enabled() is forkserver.fork_available()


def test_reaper_settles_a_record_whose_execution_is_not_in_the_store() -> None:
    dead, _ = _dead_pid()
    state.write_json(state.record_path("e-gone"), {"exec_id": "e-gone", "pid": dead})

    class RunMissing(KeyError):  # what ZenML's store raises for an unknown run
        __module__ = "zenml.zen_stores.sql_zen_store"

    def missing(exec_id: str) -> str:
        raise RunMissing(f"No run with id {exec_id}")

    def busy(exec_id: str) -> str:
        raise RuntimeError("database is locked")

    reaper.reconcile(fail=lambda *_: None, status=busy)
    assert "settled" not in state.read_record("e-gone")  # try again next pass
    reaper.reconcile(fail=lambda *_: None, status=missing)
    assert state.read_record("e-gone")["settled"] is True
