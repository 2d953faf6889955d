"""Idempotency keys kept in the Kitaru server, so that every replica finds them.

With a Kitaru server as the connection, several replicas (each with its own
state directory) serve one address; a retried ``run`` may land on any of them.
The key then lives in the server, as ZenML tags:

- a **claim**: the tag ``kitaru-mcp-key-<key digest>-<arguments digest>-g<n>``,
  created before the runner starts. Tag names are unique in the server, so of
  two replicas racing on one key exactly one creates it; the other answers
  ``StartInProgress`` (retryable), then the execution.
- the **execution** carries the claim's tag (the runner adds it the moment the
  exec_id exists, the claimant again once it returns), found again by a
  filtered query (``tags=<claim>``).

The claimant touches its claim every ``TOUCH_S`` while the start is under
way. A claim untouched for ``LEASE_S`` whose name no execution carries is
stale (its replica died between claim and start): the next attempt, through
any replica, creates claim ``g<n+1>`` (again unique: one winner) and starts
exactly one execution. If the dead replica's runner did start, its execution
carries the tag and is returned instead. A start that fails releases its claim.

Claims older than the idempotency window are ignored and deleted when next
seen; the same key with other arguments within it is a ``Conflict`` naming
``idempotency_key``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import Conflict

PREFIX = "kitaru-mcp-key-"
LEASE_S = settings.number("KITARU_MCP_CLAIM_LEASE")
TOUCH_S = max(0.5, min(5.0, LEASE_S / 4))
ATTEMPTS = 3


class StartInProgress(Conflict):
    """The same key's start is still under way: call again in a moment."""

    retryable = True


def _digest(value: Any, size: int) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def key_digest(tool: str, key: str) -> str:
    """The part of a claim's name that names the key (never the key itself)."""
    return _digest([tool, key], 24)


def arguments_digest(arguments: dict[str, Any]) -> str:
    return _digest({k: v for k, v in arguments.items() if k != "idempotency_key"}, 12)


def claim_name(key: str, arguments: str, generation: int) -> str:
    return f"{PREFIX}{key}-{arguments}-g{generation}"


@dataclass(frozen=True)
class Claim:
    """One claim tag as the server holds it."""

    name: str
    arguments: str
    generation: int
    created: float  # epoch seconds
    updated: float

    @classmethod
    def parse(cls, name: str, created: float, updated: float) -> Claim | None:
        parts = name[len(PREFIX) :].split("-") if name.startswith(PREFIX) else []
        if len(parts) != 3 or not parts[2].startswith("g") or not parts[2][1:].isdigit():
            return None
        return cls(name, parts[1], int(parts[2][1:]), created, updated)


class ClaimStore(Protocol):
    """What the algorithm asks of the server (``kitaru_mcp.gateway.claims``; tests: a fake)."""

    def claims(self, prefix: str) -> list[tuple[str, float, float]]: ...
    def create(self, name: str) -> bool: ...
    def touch(self, name: str) -> None: ...
    def release(self, name: str) -> None: ...
    def tagged_execution(self, names: list[str]) -> str | None: ...
    def tag_execution(self, exec_id: str, name: str) -> None: ...


def _server() -> ClaimStore:
    from kitaru_mcp.gateway import claims

    return claims.ServerClaims()


def _claim_or_find(
    server: ClaimStore, key: str, digest: str, arguments: str, window_s: float
) -> tuple[str | None, str | None]:
    """(exec_id, None) when an earlier start holds the key, (None, claim) once ours."""
    for _ in range(ATTEMPTS):
        now = time.time()
        found = [Claim.parse(*row) for row in server.claims(f"{PREFIX}{digest}-")]
        every = [claim for claim in found if claim is not None]
        live = [claim for claim in every if now - claim.created < window_s]
        _forget(server, [claim for claim in every if claim not in live])
        other = next((claim for claim in live if claim.arguments != arguments), None)
        if other is not None:
            raise Conflict(
                f"idempotency_key {key!r} was already used with different arguments "
                f"{now - other.created:.0f} s ago.",
                field="idempotency_key",
                hint="Use a new key for a different call, or repeat the same arguments.",
            )
        if live:
            exec_id = server.tagged_execution([claim.name for claim in live])
            if exec_id:
                return exec_id, None
            newest = max(live, key=lambda claim: claim.generation)
            if now - newest.updated < LEASE_S:
                raise StartInProgress(
                    f"idempotency_key {key!r}: the start it names is still in progress "
                    f"(claimed {now - newest.created:.0f} s ago).",
                    field="idempotency_key",
                    hint="Call again in a few seconds with the same key: you will get its "
                    "execution.",
                )
        generation = 1 + max((claim.generation for claim in every), default=0)
        name = claim_name(digest, arguments, generation)
        if server.create(name):
            return None, name
    raise StartInProgress(
        f"idempotency_key {key!r}: another replica is claiming it right now.",
        field="idempotency_key",
        hint="Call again in a moment with the same key.",
    )


def _forget(server: ClaimStore, expired: list[Claim]) -> None:
    """Delete claims past the window (the tag leaves its execution too); best effort."""
    for claim in expired:
        with contextlib.suppress(Exception):
            server.release(claim.name)


@contextlib.contextmanager
def _kept_alive(server: ClaimStore, name: str) -> Iterator[None]:
    """Touch the claim every ``TOUCH_S`` while the start is under way."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(TOUCH_S):
            with contextlib.suppress(Exception):  # a missed touch only shortens the lease
                server.touch(name)

    thread = threading.Thread(target=keep, name="kitaru-claim", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def start_once(
    tool: str,
    key: str,
    arguments: dict[str, Any],
    start: Callable[[], str],
    window_s: float,
    server: ClaimStore | None = None,
) -> tuple[str, bool]:
    """``start`` once per key among every replica of this server; (exec_id, reused)."""
    from kitaru_mcp.runs import launcher

    server = server or _server()
    found, name = _claim_or_find(
        server, key, key_digest(tool, key), arguments_digest(arguments), window_s
    )
    if found is not None:
        return found, True
    assert name is not None
    try:
        with _kept_alive(server, name), launcher.tagging(name):
            exec_id = start()
    except BaseException:
        with contextlib.suppress(Exception):
            server.release(name)  # nothing started: the key is free again
        raise
    with contextlib.suppress(Exception):  # the runner tagged it already; this is a second try
        server.tag_execution(exec_id, name)
    return exec_id, False
