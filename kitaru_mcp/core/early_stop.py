"""A stop signal that arrived before a transport listened for signals.

From its start until its transport takes SIGTERM and SIGINT over, the server
has nothing in flight, so ``kitaru_mcp.cli`` ends it at once on a SIGTERM or a
SIGINT. Once
an event loop runs, raising from the signal handler would land in whatever
task or callback the loop is in (a task group wraps it, a callback logs it), so
the handler calls ``ask()`` instead and the transport, once it listens,
stops as it would for a signal (``asked()``).
"""

from __future__ import annotations

import asyncio
import threading

_asked = threading.Event()


def loop_running() -> bool:
    """Is an event loop running in this thread (a signal handler runs in the main one)?"""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def ask() -> None:
    _asked.set()


def asked() -> bool:
    return _asked.is_set()
