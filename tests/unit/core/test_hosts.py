"""One loopback rule for HTTP binds, OAuth URLs, doctor and ``kitaru_status``."""

from __future__ import annotations

import pytest

from kitaru_mcp.core.hosts import is_loopback

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", " LocalHost "]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "kitaru.example.test", "", None])
def test_hosts_that_reach_further(host: str | None) -> None:
    assert not is_loopback(host)


def test_doctor_and_status_call_any_loopback_address_local() -> None:
    from kitaru_mcp.handlers.connection import _kind

    assert _kind("http://127.8.0.1:8237") == "local_server"
    assert _kind("http://0.0.0.0:8237") == "local_server"  # connecting there reaches this machine
    assert _kind("https://kitaru.example.test") == "remote"
