"""Idempotency keys in the Kitaru server (``shared_keys``), against a fake claim store:
one execution per key among replicas, races, stale claims, dead replicas."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kitaru_mcp.core.errors import Conflict
from kitaru_mcp.runs import reaper, shared_keys
from kitaru_mcp.runs.shared_keys import StartInProgress

pytestmark = pytest.mark.unit

WINDOW_S = 900.0


class FakeServer:
    """Tags with unique names (creation is atomic) and runs that carry them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tags: dict[str, list[float]] = {}  # name -> [created, updated]
        self.runs: dict[str, set[str]] = {}  # exec_id -> tags

    def claims(self, prefix: str) -> list[tuple[str, float, float]]:
        with self.lock:
            return [(n, c, u) for n, (c, u) in self.tags.items() if n.startswith(prefix)]

    def create(self, name: str) -> bool:
        with self.lock:
            if name in self.tags:
                return False
            self.tags[name] = [time.time(), time.time()]
            return True

    def touch(self, name: str) -> None:
        with self.lock:
            self.tags[name][1] = time.time()

    def release(self, name: str) -> None:
        with self.lock:
            self.tags.pop(name, None)

    def tagged_execution(self, names: list[str]) -> str | None:
        with self.lock:
            return next((e for e, tags in self.runs.items() if tags & set(names)), None)

    def tag_execution(self, exec_id: str, name: str) -> None:
        with self.lock:
            self.runs.setdefault(exec_id, set()).add(name)

    def age(self, seconds: float) -> None:
        with self.lock:
            for times in self.tags.values():
                times[0] -= seconds
                times[1] -= seconds


def _once(server: FakeServer, start: Any, key: str = "k1", **arguments: Any) -> tuple[str, bool]:
    arguments = arguments or {"target": "flows.py:greet"}
    return shared_keys.start_once("run", key, arguments, start, WINDOW_S, server=server)


def _starter(server: FakeServer, exec_id: str, started: list[str], pause_s: float = 0.0):
    def start() -> str:
        time.sleep(pause_s)
        started.append(exec_id)
        return exec_id

    return start


def test_a_retry_through_any_replica_gets_the_same_execution() -> None:
    server, started = FakeServer(), list[str]()
    assert _once(server, _starter(server, "e1", started)) == ("e1", False)
    assert _once(server, _starter(server, "e2", started)) == ("e1", True)
    assert started == ["e1"]
    (name,) = server.tags
    assert name.startswith(shared_keys.PREFIX) and name.endswith("-g1")
    assert "k1" not in name, "the key itself is never written, only its digest"


def test_the_same_key_with_other_arguments_is_a_conflict_naming_the_field() -> None:
    server, started = FakeServer(), list[str]()
    _once(server, _starter(server, "e1", started))
    with pytest.raises(Conflict) as caught:
        _once(server, _starter(server, "e2", started), target="flows.py:other")
    assert caught.value.field == "idempotency_key"
    assert started == ["e1"]


def test_two_replicas_racing_on_one_key_start_one_execution() -> None:
    server, started = FakeServer(), list[str]()
    answers: list[Any] = []
    barrier = threading.Barrier(2)

    def replica(exec_id: str) -> None:
        barrier.wait()
        try:
            answers.append(_once(server, _starter(server, exec_id, started, pause_s=0.2)))
        except StartInProgress as exc:
            answers.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in ("e1", "e2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1
    assert sum(isinstance(a, StartInProgress) for a in answers) == 1
    assert _once(server, _starter(server, "e3", started)) == (started[0], True)


def test_a_replica_that_died_between_claim_and_start_leaves_one_start_to_the_next() -> None:
    server, started = FakeServer(), list[str]()
    assert server.create(
        shared_keys.claim_name(
            shared_keys.key_digest("run", "k1"),
            shared_keys.arguments_digest({"target": "flows.py:greet"}),
            1,
        )
    )
    with pytest.raises(StartInProgress):  # within the lease: it may still be starting
        _once(server, _starter(server, "e1", started))
    server.age(shared_keys.LEASE_S + 1)  # nobody touched it: the replica is gone
    answers: list[Any] = []

    def replica(exec_id: str) -> None:
        try:
            answers.append(_once(server, _starter(server, exec_id, started, pause_s=0.1)))
        except StartInProgress as exc:
            answers.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in ("e1", "e2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1, "exactly one takes the stale claim over"
    assert any(name.endswith("-g2") for name in server.tags)


def test_a_dead_replicas_runner_that_started_is_returned_not_started_again() -> None:
    server, started = FakeServer(), list[str]()
    name = shared_keys.claim_name(
        shared_keys.key_digest("run", "k1"),
        shared_keys.arguments_digest({"target": "flows.py:greet"}),
        1,
    )
    server.create(name)
    server.tag_execution("e-orphan", name)  # its runner tagged the execution, then it died
    server.age(shared_keys.LEASE_S + 1)
    assert _once(server, _starter(server, "e1", started)) == ("e-orphan", True)
    assert started == []


def test_a_failed_start_releases_its_claim() -> None:
    server = FakeServer()

    def broken() -> str:
        raise RuntimeError("the runner could not start")

    with pytest.raises(RuntimeError):
        _once(server, broken)
    assert server.tags == {}
    assert _once(server, lambda: "e1") == ("e1", False)


def test_claims_past_the_window_are_ignored() -> None:
    server, started = FakeServer(), list[str]()
    _once(server, _starter(server, "e1", started))
    server.age(WINDOW_S + 1)
    assert _once(server, _starter(server, "e2", started)) == ("e2", False)
    assert [name[-3:] for name in server.tags] == ["-g2"], "the expired claim is deleted"


def test_a_claim_name_parses_back() -> None:
    name = shared_keys.claim_name("a" * 24, "b" * 12, 7)
    claim = shared_keys.Claim.parse(name, 1.0, 2.0)
    assert claim is not None and (claim.arguments, claim.generation) == ("b" * 12, 7)
    assert shared_keys.Claim.parse("someone-elses-tag", 1.0, 2.0) is None
    assert shared_keys.Claim.parse(shared_keys.PREFIX + "x-y-gz", 1.0, 2.0) is None


def test_the_reaper_stops_a_live_runner_whose_execution_was_asked_to_stop(monkeypatch) -> None:
    """A cancel through another replica leaves the stop request in the store; the replica
    that owns the runner stops it once the request is STOP_GRACE_S old."""
    from kitaru_mcp.core import state

    state.write_json(state.record_path("e-live"), {"exec_id": "e-live", "pid": 4242})
    monkeypatch.setattr(reaper, "_runner_alive", lambda record: True)
    monkeypatch.setattr(reaper, "STOP_GRACE_S", 0.0)
    stopped: list[tuple[str, int]] = []

    def stop(exec_id: str, pid: int) -> None:
        stopped.append((exec_id, pid))

    assert reaper.reconcile(status=lambda _: "running", stop=stop) == 1
    assert stopped == []
    reaper.reconcile(status=lambda _: "stopping", stop=stop)
    assert stopped == [("e-live", 4242)]
    state.record_path("e-live").unlink()


def test_a_runner_that_stopped_beating_is_failed_by_any_replica() -> None:
    from kitaru_mcp.runs import heartbeats

    server = FakeServer()
    for exec_id in ("e-dead", "e-mine", "e-ended", "e-fresh"):
        server.create(heartbeats.tag(exec_id))
    server.age(heartbeats.LEASE_S + 1)
    server.touch(heartbeats.tag("e-fresh"))
    statuses = {"e-dead": "running", "e-mine": "running", "e-ended": "completed"}
    failed: dict[str, str] = {}

    count = heartbeats.reconcile({"e-mine"}, statuses.__getitem__, failed.__setitem__, server)
    assert count == 1 and list(failed) == ["e-dead"]
    assert "no heartbeat" in failed["e-dead"]
    left = {name[len(heartbeats.PREFIX) :] for name in server.tags}
    assert left == {"e-mine", "e-fresh"}, "judged beats are deleted; live ones stay"
