"""The audit log: one JSON line per call, written when it ends.

Enabled with ``--audit-log PATH`` or ``KITARU_MCP_AUDIT_LOG`` (``off``
disables it); off by default on stdio, on by default with ``--auth oauth``
(``resolve(..., default_on=True)``), into ``<state dir>/audit.log``.

Each ``tools/call``, ``resources/read`` and ``prompts/get`` leaves a line
(``AuditMiddleware``, a middleware of the low-level server, so a call the
SDK refuses, e.g. an unknown tool or malformed params, is there too); a
request refused before it reaches the server (a bad token, a missing scope)
is written by the HTTP layer with ``refused(...)``. Fields:

``time`` (UTC, ISO 8601), ``caller``, ``client_id``, ``transport``,
``protocol``, ``method``, ``tool`` / ``resource`` / ``prompt``, ``exec_ids``
(from the arguments and the result), ``outcome`` (``ok``, a tool error code
such as ``not_found``, or a protocol error such as ``invalid_params``),
``refused`` (what refused the call before it ran: ``arguments``, ``mode``,
``unknown``, ``scope``, ``token``...), ``duration_ms``, ``arguments`` (each
argument's name with a keyed digest of its value, or ``***`` for a name
that looks secret), ``unknown_arguments`` (how many names were not the
tool's own; never written), ``trace_id`` when tracing is on, ``pid``.

No argument value is ever written: digests are HMAC-SHA256 under a key kept
beside the log (``<log>.key``, 0600), so equal values show equal digests in
one log and a guess cannot be checked without the key. Lines are bounded
(``MAX_LINE_CHARS``) whatever the arguments.

The file is 0600, rotated by size (``logging.handlers.RotatingFileHandler``),
and shared safely: each line is one ``write`` on an ``O_APPEND`` descriptor,
and rotation happens under an ``flock`` on ``<log>.lock`` (a process that
finds the file rotated under it reopens it).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kitaru_mcp.core import settings
from kitaru_mcp.core.errors import is_secret_name
from kitaru_mcp.core.nesting import nesting_depth

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: rotation then takes no lock
    fcntl = None  # type: ignore[assignment]

AUDIT_ENV = "KITARU_MCP_AUDIT_LOG"
MAX_BYTES_ENV = "KITARU_MCP_AUDIT_MAX_BYTES"
BACKUPS_ENV = "KITARU_MCP_AUDIT_BACKUPS"
OFF = frozenset({"off", "none", "0", "false", "no", "-"})
AUDITED = frozenset({"tools/call", "resources/read", "prompts/get"})

MAX_LINE_CHARS = 8192
MAX_NAMES = 64  # argument names written per line
MAX_NAME_CHARS = 64
MAX_EXEC_IDS = 20
MAX_DIGEST_DEPTH = 64  # values nested deeper get a marker, not a digest
MAX_WALK_NODES = 5000  # nodes looked at for exec ids, per value
REDACTED = "***"
# argument names whose values are free-form and may hold anything (flow inputs, answers)
FREE_FORM = frozenset({"args", "value", "flow_inputs", "overrides", "content", "input_responses"})
_EXEC_ID = re.compile(r"^[0-9a-fA-F-]{8,64}$")

logger = logging.getLogger("kitaru_mcp")


class AuditConfigError(ValueError):
    """The audit log cannot be written: the server must not start unaudited."""


# --- what a line says (pure) ----------------------------------------------------------


def is_sensitive(name: str) -> bool:
    """Whether an argument's name says its value is a secret (no digest is written)."""
    return is_secret_name(name) or "auth" in name.lower() or "private" in name.lower()


def digest(value: Any, key: bytes) -> str:
    """A keyed digest of a JSON value (canonical: sorted keys, no spaces); 16 bytes of hex."""
    if nesting_depth(value, MAX_DIGEST_DEPTH) > MAX_DIGEST_DEPTH:
        return "too_deep"
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value))
    return (
        "hmac-sha256:"
        + hmac.new(key, text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]
    )


def argument_digests(
    arguments: Any, known: frozenset[str] | set[str] | None, key: bytes
) -> tuple[dict[str, str], int]:
    """(name -> digest or ``***``, how many names were left out): only known names are
    written (an unknown name is the caller's text, and could be anything)."""
    if not isinstance(arguments, Mapping):
        return ({} if arguments is None else {"(arguments)": digest(arguments, key)}), 0
    written: dict[str, str] = {}
    left_out = 0
    for name, value in arguments.items():
        name = str(name)
        ok = known is not None and name in known and len(name) <= MAX_NAME_CHARS
        if not ok or len(written) >= MAX_NAMES:
            left_out += 1
            continue
        written[name] = REDACTED if is_sensitive(name) else digest(value, key)
    return written, left_out


def exec_ids(*values: Any) -> list[str]:
    """Execution ids in ``values`` (under any key ending in ``exec_id``), in order, bounded."""
    found: list[str] = []
    for value in values:
        queue, seen = deque([value]), 0
        while queue and seen < MAX_WALK_NODES and len(found) < MAX_EXEC_IDS:
            node = queue.popleft()  # breadth first: the top-level ids come first
            seen += 1
            if isinstance(node, Mapping):
                for name, child in node.items():
                    if (
                        isinstance(name, str)
                        and name.endswith("exec_id")
                        and isinstance(child, str)
                        and _EXEC_ID.match(child)
                        and child not in found
                    ):
                        found.append(child)
                    elif isinstance(child, Mapping | list):
                        queue.append(child)
            elif isinstance(node, list):
                queue.extend(child for child in node if isinstance(child, Mapping | list))
    return found[:MAX_EXEC_IDS]


def bounded_line(entry: Mapping[str, Any]) -> str:
    """``entry`` as one JSON line (no newline) of at most ``MAX_LINE_CHARS`` characters."""
    data = {k: v for k, v in entry.items() if v is not None and v != {} and v != []}
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(line) <= MAX_LINE_CHARS:
        return line
    data["truncated"] = True
    for name in ("arguments", "exec_ids"):
        if name in data:
            count = len(data.pop(name))
            data[f"{name}_left_out"] = count
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
            if len(line) <= MAX_LINE_CHARS:
                return line
    for name, value in list(data.items()):  # any string still too long (never expected)
        if isinstance(value, str) and len(value) > 256:
            data[name] = value[:256] + "..."
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)[:MAX_LINE_CHARS]


def outcome_of_text(text: str) -> str:
    """The ``code`` of a tool error's JSON text (``internal`` when it has none)."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        code = json.loads(text[:20000]).get("code")
        if isinstance(code, str) and len(code) <= 64:
            return code
    return "internal"


_PROTOCOL_CODES = {
    -32700: "parse_error",
    -32600: "invalid_request",
    -32601: "method_not_found",
    -32602: "invalid_params",
    -32603: "internal",
    -32002: "not_found",
}


def outcome_of_error(exc: BaseException) -> str:
    """The outcome of a call that raised: a protocol error's name, cancelled, or internal."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if isinstance(code, int):
        message = str(getattr(error, "message", ""))
        if message.startswith("{"):  # a tool failure carried as a protocol error
            return outcome_of_text(message)
        return _PROTOCOL_CODES.get(code, f"error_{code}")
    if type(exc).__name__ == "ValidationError":
        return "invalid_params"
    if is_cancellation(exc):
        return "cancelled"
    return "internal"


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is the event loop's cancellation (asyncio's, or trio's by name)."""
    import asyncio

    return isinstance(exc, asyncio.CancelledError) or type(exc).__name__ == "Cancelled"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- what deeper layers tell the line ----------------------------------------------------


@dataclass
class Note:
    """What the layers under the middleware learn about the call they serve."""

    refused: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_note: contextvars.ContextVar[Note | None] = contextvars.ContextVar(
    "kitaru_mcp_audit", default=None
)


def mark_refused(stage: str) -> None:
    """The call being served was refused before it ran, by ``stage`` (``arguments``,
    ``mode``, ``scope``...); a no-op outside an audited call."""
    note = _note.get()
    if note is not None and note.refused is None:
        note.refused = stage


# --- the file ---------------------------------------------------------------------------


@contextlib.contextmanager
def _flock(path: str) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The stdlib size-rotating handler, safe with several processes on one file."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        self.lock_path = path + ".lock"
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, delay=False)

    def _open(self) -> Any:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.baseFilename, flags, 0o600)
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "ab", buffering=0)

    def _fd(self) -> int:
        stream: Any = self.stream
        if stream is None:
            stream = self.stream = self._open()
        return int(stream.fileno())

    def _reopen(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
        self.stream = self._open()

    def _rotate_if_needed(self, size: int) -> None:
        mine = os.fstat(self._fd())
        try:
            current = os.stat(self.baseFilename)
        except FileNotFoundError:
            current = None
        if current is None or not _same_file(current, mine):  # another process rotated
            self._reopen()
            current = os.fstat(self._fd())
        if self.maxBytes <= 0 or current.st_size == 0 or current.st_size + size <= self.maxBytes:
            return
        with _flock(self.lock_path):
            current = os.stat(self.baseFilename)
            if not _same_file(current, os.fstat(self._fd())):
                self._reopen()
            elif current.st_size + size > self.maxBytes:
                self.doRollover()
                if self.stream is None:
                    self.stream = self._open()

    def emit(self, record: logging.LogRecord) -> None:
        data = (record.getMessage() + "\n").encode("utf-8")
        try:
            self._rotate_if_needed(len(data))
            fd = self._fd()
            written = os.write(fd, data)  # one write on O_APPEND: never interleaved
            while written < len(data):  # only on a full disk or a signal
                written += os.write(fd, data[written:])
        except Exception:
            self.handleError(record)


def _key(path: Path) -> bytes:
    """The digest key kept beside the log (created once, under the rotation lock)."""
    key_path = path.with_name(path.name + ".key")
    with _flock(str(path) + ".lock"):
        try:
            text = key_path.read_text("ascii").strip()
        except FileNotFoundError:
            text = ""
        if len(text) < 32:
            text = secrets.token_hex(32)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text + "\n")
    return bytes.fromhex(text) if re.fullmatch(r"[0-9a-f]+", text) else text.encode()


class AuditLog:
    """An open audit log: ``write(entry)`` adds one bounded line."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.handler = SharedRotatingFileHandler(str(path), max_bytes, backups)
        self.key = _key(path)

    def write(self, entry: Mapping[str, Any]) -> None:
        record = logging.makeLogRecord({"msg": bounded_line(entry), "args": None})
        self.handler.handle(record)

    def close(self) -> None:
        self.handler.close()


def default_path() -> Path:
    from kitaru_mcp.core import state

    return state.state_dir() / "audit.log"


def resolve(option: str | None, *, default_on: bool = False) -> Path | None:
    """Where the audit log goes: ``option`` (the flag, else ``KITARU_MCP_AUDIT_LOG``),
    ``off`` for none, and when neither says, the state directory if ``default_on``."""
    raw = option if option is not None else os.environ.get(AUDIT_ENV)
    if raw is not None and raw.strip():
        if raw.strip().lower() in OFF:
            return None
        return Path(raw.strip()).expanduser()
    return default_path() if default_on else None


def open_log(path: Path) -> AuditLog:
    """Open (and create) the log at ``path``; AuditConfigError when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = AuditLog(path, int(settings.number(MAX_BYTES_ENV)), int(settings.number(BACKUPS_ENV)))
    except OSError as exc:
        raise AuditConfigError(
            f"cannot write the audit log {str(path)!r}: {exc.strerror or exc}. Give a writable "
            f"path with --audit-log (env {AUDIT_ENV}), or --audit-log off to serve unaudited."
        ) from None
    return log


_log: AuditLog | None = None


def install(log: AuditLog | None) -> None:
    """Make ``log`` the process's audit log (None: none)."""
    global _log
    _log = log


def installed() -> AuditLog | None:
    return _log


# --- writing lines ------------------------------------------------------------------


def refused(
    *,
    method: str | None,
    name: str | None = None,
    outcome: str,
    stage: str,
    caller: str = "anonymous",
    client_id: str | None = None,
    transport: str = "http",
    protocol: str | None = None,
) -> None:
    """A line for a request refused before it reached the server (bad token, scope...).

    ``name`` (a tool or prompt the request named, e.g. from ``Mcp-Name``) is only
    written as a digest: an unauthenticated caller's text is never copied.
    """
    log = _log
    if log is None:
        return
    with contextlib.suppress(Exception):
        log.write(
            {
                "time": now_iso(),
                "caller": caller,
                "client_id": client_id,
                "transport": transport,
                "protocol": protocol,
                "method": method if method in AUDITED else ("(other)" if method else None),
                "name_digest": digest(name, log.key) if name else None,
                "outcome": outcome,
                "refused": stage,
                "duration_ms": 0.0,
                "pid": os.getpid(),
            }
        )


@dataclass(frozen=True)
class Catalog:
    """What the server serves, so only its own names are written as text."""

    tool_arguments: Mapping[str, frozenset[str]]  # tool -> its argument names
    prompt_arguments: Mapping[str, frozenset[str]]
    resource_tool: Callable[[str], str | None]  # uri -> the tool reading it (None: unknown)


def _field(result: Any, wire: str, attribute: str) -> Any:
    if isinstance(result, Mapping):  # the SDK hands middleware wire-shaped results
        return result.get(wire)
    return getattr(result, attribute, None)


def _text_of(item: Any) -> str:
    text = item.get("text") if isinstance(item, Mapping) else getattr(item, "text", None)
    return text if isinstance(text, str) else ""


def result_data(result: Any) -> tuple[str, Any]:
    """(outcome, structured data) of a handler's result (a model or its wire mapping)."""
    if _field(result, "isError", "is_error") is True:
        content = _field(result, "content", "content") or []
        return outcome_of_text(_text_of(content[0]) if content else ""), None
    if _field(result, "resultType", "result_type") == "input_required" or (
        type(result).__name__ == "InputRequiredResult"
    ):
        return "input_required", None
    structured = _field(result, "structuredContent", "structured_content")
    contents = _field(result, "contents", "contents")
    if structured is None and contents:  # resources/read: the JSON text
        text = _text_of(contents[0])
        if 0 < len(text) < 200_000:
            with contextlib.suppress(ValueError):
                structured = json.loads(text)
    return "ok", structured


def build_entry(
    *,
    catalog: Catalog,
    key: bytes,
    method: str,
    params: Mapping[str, Any] | None,
    caller: Any,
    protocol: str | None,
    outcome: str,
    result_data: Any,
    note: Note,
    duration_s: float,
    trace: str | None,
) -> dict[str, Any]:
    """The line's fields for one call (no value of any argument is copied)."""
    params = params or {}
    entry: dict[str, Any] = {
        "time": now_iso(),
        "caller": caller.caller,
        "client_id": caller.client_id,
        "transport": caller.transport,
        "protocol": protocol,
        "method": method,
    }
    arguments: Any = None
    known: frozenset[str] | None = None
    name = params.get("name")
    if method == "tools/call":
        arguments = params.get("arguments")
        if isinstance(name, str) and name in catalog.tool_arguments:
            entry["tool"], known = name, catalog.tool_arguments[name]
        else:
            entry["tool"] = "(unknown)"
            entry["name_digest"] = digest(name, key)
    elif method == "prompts/get":
        arguments = params.get("arguments")
        if isinstance(name, str) and name in catalog.prompt_arguments:
            entry["prompt"], known = name, catalog.prompt_arguments[name]
        else:
            entry["prompt"] = "(unknown)"
            entry["name_digest"] = digest(name, key)
    elif method == "resources/read":
        uri = params.get("uri")
        tool = catalog.resource_tool(uri) if isinstance(uri, str) else None
        if tool is not None and isinstance(uri, str):
            entry["resource"], entry["tool"] = uri, tool or None
        else:
            entry["resource"] = "(unknown)"
            entry["name_digest"] = digest(uri, key)
    written, left_out = argument_digests(arguments, known, key)
    ids = exec_ids(arguments if known is not None else None, result_data)
    if method == "resources/read" and "resource" in entry and entry["resource"] != "(unknown)":
        found = re.search(r"[0-9a-fA-F-]{8,64}", str(entry["resource"]).split("//", 1)[-1])
        if found and _EXEC_ID.match(found.group(0)) and found.group(0) not in ids:
            ids.insert(0, found.group(0))
    entry.update(
        exec_ids=ids[:MAX_EXEC_IDS],
        outcome=outcome,
        refused=note.refused,
        duration_ms=round(duration_s * 1000, 3),
        arguments=written,
        unknown_arguments=left_out or None,
        trace_id=trace,
        pid=os.getpid(),
        **note.extra,
    )
    return entry


class AuditMiddleware:
    """A middleware of the low-level server: a line for every audited method, at its end."""

    def __init__(self, log: AuditLog, catalog: Catalog) -> None:
        self.log = log
        self.catalog = catalog

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method not in AUDITED or ctx.request_id is None:
            return await call_next(ctx)
        import anyio
        import anyio.to_thread

        from kitaru_mcp.observe import callers, tracing

        note = Note()
        token = _note.set(note)
        began = time.perf_counter()
        outcome, data, result = "internal", None, None
        try:
            result = await call_next(ctx)
            outcome, data = result_data(result)
            return result
        except BaseException as exc:
            outcome = outcome_of_error(exc)
            if outcome == "invalid_params" and note.refused is None:
                note.refused = "params"
            raise
        finally:
            _note.reset(token)
            duration = time.perf_counter() - began
            params = ctx.params if isinstance(ctx.params, Mapping) else None
            fields = {
                "catalog": self.catalog,
                "key": self.log.key,
                "method": ctx.method,
                "params": params,
                "caller": callers.identify(ctx),
                "protocol": ctx.protocol_version,
                "outcome": outcome,
                "result_data": data,
                "note": note,
                "duration_s": duration,
                "trace": tracing.trace_id(),
            }
            with anyio.CancelScope(shield=True):  # a cancelled call is audited too
                await anyio.to_thread.run_sync(self._write, fields)

    def _write(self, fields: dict[str, Any]) -> None:
        try:
            self.log.write(build_entry(**fields))
        except Exception:
            logger.exception("kitaru-mcp: could not write an audit line")
