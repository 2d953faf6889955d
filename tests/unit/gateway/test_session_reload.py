"""Following configuration changes without ever reloading a half-written file."""

from __future__ import annotations

import threading
import time

import pytest

from kitaru_mcp.gateway import sdk, session

pytestmark = pytest.mark.unit

WHOLE = b"active_project_id: p1\nuser_id: 1b9475bd-0f5d-4c12\nversion: 0.98.0\n"
CHANGED = WHOLE.replace(b"p1", b"p2")


@pytest.fixture
def follow(tmp_path, monkeypatch):
    """The file, and a look at it that returns how many reloads happened so far."""
    monkeypatch.setattr(session, "_config_seen", {})
    path = tmp_path / "config.yaml"
    path.write_bytes(WHOLE)
    reloads: list[bytes] = []

    def look() -> int:
        session.follow_configuration(str(path), lambda: reloads.append(path.read_bytes()))
        return len(reloads)

    assert look() == 0  # the first look only records the file
    return path, look, reloads


@pytest.mark.parametrize(
    "torn",
    [
        WHOLE[:52],  # cut inside a line: not YAML at all (ScannerError)
        WHOLE[:49],  # cut at a line end: YAML, but without the last key
        b"",  # truncated to nothing: ZenML would write a fresh configuration
    ],
)
def test_a_half_written_file_is_not_reloaded_until_it_is_whole(follow, torn) -> None:
    path, look, reloads = follow
    path.write_bytes(torn)
    assert look() == 0  # left alone: looked at again on the next call
    path.write_bytes(CHANGED)
    assert look() == 1 and reloads == [CHANGED]
    assert look() == 1  # unchanged since: nothing more


def test_a_file_still_being_written_waits_for_the_writer(follow) -> None:
    path, look, reloads = follow

    def writer() -> None:  # rewrites in place, in pieces, as ZenML does
        with open(path, "wb") as file:
            for piece in (CHANGED[:20], CHANGED[20:]):
                file.write(piece)
                file.flush()
                time.sleep(sdk.SETTLE_S / 4)

    thread = threading.Thread(target=writer)
    thread.start()
    while look() == 0 and thread.is_alive():
        pass
    thread.join()
    look()
    assert reloads == [CHANGED]  # one reload, of the whole file


def test_waiting_for_a_whole_file_returns_at_once_when_it_is_whole_or_missing(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    started = time.monotonic()
    assert sdk.wait_until_whole(str(path)) is True  # missing: nothing to wait for
    path.write_bytes(WHOLE)
    assert sdk.wait_until_whole(str(path)) is True
    assert time.monotonic() - started < 0.5
    path.write_bytes(WHOLE[:52])
    assert sdk.wait_until_whole(str(path), timeout_s=0.2) is False
