"""One connection step per call: a tool call probes the server once, however many
clients its handler asks for; outside a call every use probes."""

from __future__ import annotations

import threading

import pytest

from kitaru_mcp.gateway import backend, session
from kitaru_mcp.gateway.base import GatewayBase

pytestmark = pytest.mark.unit


@pytest.fixture
def probes(monkeypatch) -> list[str]:
    """Probes made, by thread name; the SDK import, store and reload are stood in for."""
    made: list[str] = []
    monkeypatch.setattr(
        backend, "ensure_reachable", lambda: made.append(threading.current_thread().name)
    )
    monkeypatch.setattr(session, "import_kitaru", lambda: None)
    monkeypatch.setattr(session, "ensure_store", lambda: None)
    monkeypatch.setattr(session, "_reload_if_changed", lambda: None)
    return made


def _handler_like(gw: GatewayBase) -> None:
    """What get or statistics do on a server connection: several clients, a reachability check."""
    for _ in range(4):
        session.sync_connection()
    gw.check_reachable()
    session.sync_connection(probe=False)


def test_a_call_probes_once(probes) -> None:
    with session.in_call():
        _handler_like(GatewayBase())
    assert len(probes) == 1


def test_each_call_probes_afresh(probes) -> None:
    for _ in range(3):
        with session.in_call():
            _handler_like(GatewayBase())
    assert len(probes) == 3


def test_a_long_call_probes_again_after_a_while(probes, monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(session, "_clock", lambda: clock[0])
    with session.in_call():
        session.sync_connection()
        clock[0] += session.REPROBE_S / 2
        session.sync_connection()
        clock[0] += session.REPROBE_S
        session.sync_connection()
    assert len(probes) == 2


def test_calls_in_parallel_threads_probe_once_each(probes) -> None:
    def call() -> None:
        with session.in_call():
            _handler_like(GatewayBase())

    threads = [threading.Thread(target=call, name=f"call-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(probes) == [f"call-{i}" for i in range(4)]


def test_outside_a_call_every_use_probes(probes) -> None:
    _handler_like(GatewayBase())
    assert len(probes) == 5
