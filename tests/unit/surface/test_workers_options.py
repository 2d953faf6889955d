"""``--workers`` and ``--stateless``: the options' checks, and no pushed form without a session."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from kitaru_mcp.surface import workers

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "transport", "expected"),
    [(None, "stdio", 1), ("", "http", 1), ("1", "stdio", 1), ("3", "http", 3), (2, "http", 2)],
)
def test_a_usable_worker_count(raw, transport, expected) -> None:
    assert workers.parse_workers(raw, transport) == expected


@pytest.mark.parametrize(
    ("raw", "transport", "says"),
    [
        ("2", "stdio", "--workers needs --transport http"),
        ("0", "http", "--workers 0: at least 1"),
        ("-1", "http", "--workers -1: at least 1"),
        ("many", "http", "--workers 'many': give a whole number"),
    ],
)
def test_an_unusable_worker_count_names_the_flag(raw, transport, says) -> None:
    with pytest.raises(workers.WorkersConfigError, match=says):
        workers.parse_workers(raw, transport)


def test_more_workers_than_cores_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    assert workers.cores_warning(2) is None
    warning = workers.cores_warning(3)
    assert warning is not None and "--workers 3 is more than this machine's 2 cores" in warning


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_stateless_from_the_environment(monkeypatch: pytest.MonkeyPatch, value, on) -> None:
    monkeypatch.setenv(workers.STATELESS_ENV, value)
    assert workers.stateless_from_env() is on


def test_the_sdk_serves_stateless_when_asked() -> None:
    from kitaru_mcp.surface.http_transport import HttpOptions, build_app
    from kitaru_mcp.surface.server import build_server

    for stateless in (False, True):
        server = build_server()
        build_app(server, replace(HttpOptions.build(), stateless=stateless))
        manager = server._session_manager
        assert manager is not None and manager.stateless is stateless


def _legacy_ctx(can_send_request: bool) -> SimpleNamespace:
    capabilities = SimpleNamespace(elicitation=SimpleNamespace())
    session = SimpleNamespace(client_capabilities=capabilities)
    transport = SimpleNamespace(can_send_request=can_send_request)
    return SimpleNamespace(
        session=session, transport=transport, protocol_version="2025-11-25", request_id=1
    )


def test_a_stateless_legacy_call_pushes_no_form() -> None:
    """Without a session the client's reply to a pushed form has nowhere to land:
    ``ask_user`` then answers ``not_supported`` (``can_ask`` is false), never hangs."""
    from kitaru_mcp.surface.server import _call_context

    assert _call_context(_legacy_ctx(can_send_request=True)).can_ask
    stateless = _call_context(_legacy_ctx(can_send_request=False))
    assert stateless.elicit is None and not stateless.can_ask
