"""A SIGTERM before the transport listens: raised outside the event loop, handed over inside."""

from __future__ import annotations

import anyio
import pytest

from kitaru_mcp import cli
from kitaru_mcp.core import early_stop
from kitaru_mcp.surface import stdio_transport

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _not_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(early_stop, "_asked", type(early_stop._asked)())


def test_before_the_loop_the_handler_ends_the_start() -> None:
    with pytest.raises(cli._StopBeforeServing):
        cli._stop_before_serving(15, None)
    assert not early_stop.asked()


def test_inside_the_loop_the_handler_raises_nothing_and_the_transport_stops() -> None:
    shut: list[str] = []

    class Lines(stdio_transport._StdinLines):
        def close(self) -> None:
            shut.append("stdin")

    async def on_shutdown() -> None:
        shut.append("calls")

    async def main() -> None:
        cli._stop_before_serving(15, None)  # as if SIGTERM came while the loop started
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    stdio_transport._stop_on_signal, tasks.cancel_scope, Lines(), on_shutdown
                )
                await anyio.sleep_forever()

    anyio.run(main)
    assert early_stop.asked()
    assert shut == ["calls", "stdin"]
