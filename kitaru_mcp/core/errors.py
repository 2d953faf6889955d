"""The one error boundary: every failure becomes a ToolError, nothing else escapes.

Handlers raise the small ladder below when they know what went wrong; anything
else (a Kitaru, ZenML or Python exception) is mapped by ``to_failure``. The
message is redacted of secret values; a traceback goes to the server's log
(stderr), never to the client.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from typing import Any

logger = logging.getLogger("kitaru_mcp")


class ToolFailure(Exception):
    """A failure the model can act on: code, message, field and hint."""

    code = "internal"
    retryable = False

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": redact(self.message[: MAX_MESSAGE_CHARS * 2]),
            "field": self.field,
            "hint": redact(self.hint) if self.hint else None,
            "retryable": self.retryable,
        }


class NotFound(ToolFailure):
    code = "not_found"


class InvalidArgument(ToolFailure):
    code = "invalid_argument"


class Conflict(ToolFailure):
    code = "conflict"


class BackendUnavailable(ToolFailure):
    code = "backend_unavailable"
    retryable = True


class Timeout(ToolFailure):
    code = "timeout"
    retryable = True


class Unsupported(ToolFailure):
    code = "unsupported"


class Internal(ToolFailure):
    code = "internal"


_BY_CODE: dict[str, type[ToolFailure]] = {
    cls.code: cls
    for cls in (NotFound, InvalidArgument, Conflict, BackendUnavailable, Timeout, Unsupported)
}


def failure_from_dict(error: dict[str, Any]) -> ToolFailure:
    """Rebuild a failure reported by another process (the runner)."""
    kind = _BY_CODE.get(str(error.get("code")), Internal)
    return kind(str(error.get("message")), field=error.get("field"), hint=error.get("hint"))


# Exception class names (anywhere in the MRO) mapped to a failure kind. Names,
# not classes, so this module never imports Kitaru or ZenML. They apply only to
# exceptions that come from the backend (see ``_from_backend``): the same
# KeyError from our own code is a bug, not a missing object.
_BY_CLASS_NAME: list[tuple[tuple[str, ...], type[ToolFailure], str | None]] = [
    (("EntityExistsError",), Conflict, None),
    (("IllegalOperationError", "StackComponentInterfaceError", "KitaruStateError"), Conflict, None),
    (("KitaruUsageError", "ValidationError", "ValueError", "TypeError"), InvalidArgument, None),
    (("KeyError", "LookupError", "DoesNotExistException", "EntityNotFoundError"), NotFound, None),
    (
        (
            "ConnectionError",
            "ConnectTimeout",
            "MaxRetryError",
            "NewConnectionError",
            "ConnectionRefusedError",
            "AuthorizationException",
            "CredentialsNotValid",
        ),
        BackendUnavailable,
        "Check the connection with kitaru_status; log in again with `kitaru login`.",
    ),
    (("TimeoutError", "ReadTimeout"), Timeout, "Try again; the backend was slow to answer."),
    (("NotImplementedError",), Unsupported, None),
]
# Where backend exceptions come from: their class's module, or the code that raised them.
_BACKEND_MODULES = ("kitaru", "zenml", "requests", "urllib3", "sqlalchemy", "sqlmodel")
_NETWORK_ERRORS = (ConnectionError, TimeoutError)  # builtin: only ever the network's


def _is_backend_module(name: str | None) -> bool:
    return bool(name) and str(name).split(".")[0] in _BACKEND_MODULES


def _from_backend(exc: BaseException) -> bool:
    """Whether Kitaru, ZenML or their clients raised ``exc`` (by its type or its traceback)."""
    if isinstance(exc, _NETWORK_ERRORS) or _is_backend_module(type(exc).__module__):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if _is_backend_module(tb.tb_frame.f_globals.get("__name__")):
            return True
        tb = tb.tb_next
    return False


def is_not_found(exc: BaseException) -> bool:
    """Whether the backend said the thing asked for is not there (the one not-found rule)."""
    return isinstance(to_failure(exc, log=False), NotFound)


def to_failure(exc: BaseException, *, log: bool = True) -> ToolFailure:
    """Map any exception onto the error ladder; anything unexpected is ``internal``.

    Only exceptions that come from the backend (Kitaru, ZenML, their network
    and database clients) are mapped by kind, following ``__cause__`` only.
    Everything else is our bug: ``internal``, with the traceback logged once.
    """
    if isinstance(exc, ToolFailure):
        return exc
    for cause in _chain(exc):
        if isinstance(cause, ToolFailure):
            return cause
        if not _from_backend(cause):
            continue
        names = {cls.__name__ for cls in type(cause).__mro__}
        for class_names, kind, hint in _BY_CLASS_NAME:
            if names.intersection(class_names):
                message = _message_of(cause if cause is not exc else exc)
                if kind is BackendUnavailable:
                    message = _unreachable_message(message)
                return kind(message, hint=hint)
    if log:
        # The traceback goes to the server's log (stderr) only, redacted like any message.
        logger.error(
            "unexpected %s in a tool call:\n%s",
            type(exc).__name__,
            redact("".join(traceback.format_exception(exc)).rstrip()),
        )
    return Internal(
        f"Unexpected {type(exc).__name__}: {_message_of(exc)}",
        hint="This is a bug or an unexpected backend state; the server log has details.",
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its explicit causes (``raise ... from``), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__
    return chain


_CONNECTING = re.compile(r"Error connecting to URL '(?P<url>[^']+)'")
_POOL = re.compile(r"HTTPS?ConnectionPool\(host='(?P<host>[^']+)', port=(?P<port>\d+)\)")


def _unreachable_message(message: str) -> str:
    """Lead a connection failure with ``cannot reach <url>``, the part a reader needs."""
    found = _CONNECTING.search(message)
    url = found.group("url") if found else None
    if url is None and (pool := _POOL.search(message)):
        scheme = "https" if message[pool.start() : pool.start() + 5] == "HTTPS" else "http"
        url = f"{scheme}://{pool.group('host')}:{pool.group('port')}"
    if url is None or message.startswith("cannot reach"):
        return message
    reason = "connection refused" if "refused" in message.lower() else "connection failed"
    return f"cannot reach {url}: {reason}. Details: {message}"


MAX_MESSAGE_CHARS = 2000


def _message_of(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text[: MAX_MESSAGE_CHARS * 2].split())[:MAX_MESSAGE_CHARS] or type(exc).__name__


def quote(value: object, limit: int = 200) -> str:
    """A bad value for an error message: JSON, at most ``limit`` characters, with its length."""
    if isinstance(value, str) and len(value) > limit:
        return json.dumps(value[:limit]) + f"... ({len(value)} characters)"
    text = json.dumps(value, default=str)
    if len(text) > limit:
        return text[:limit] + f"... ({len(text)} characters of JSON)"
    return text


# KEY anywhere (KEYRING, PRIVATE_KEY_PEM, SSH_KEY_FILE...): over-masking a harmless value
# costs little, a leaked one a lot.
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASS|KEY|CREDENTIAL|COOKIE|SESSION_ID", re.I)
# Values too common to be a secret: masking them would garble messages ("true" -> "***").
_NOT_SECRET_VALUES = {"true", "false", "yes", "no", "none", "null", "on", "off"}


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    return bool(_SECRET_NAME.search(name))


# The look-behind anchors a scheme at the start of a word: without it a long run of
# letters is rescanned from every position (quadratic in the text's length).
_URL_CREDENTIALS = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+(:[^/\s@]*)?@"
)
_BEARER = re.compile(r"(?i)(bearer\s+|token[=:]\s*|password[=:]\s*)[^\s,;\"']+")


def _secret_values() -> list[str]:
    values = [
        value
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name)
        and len(value) >= 4
        and value.strip().lower() not in _NOT_SECRET_VALUES
    ]
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """Remove secret environment values, URL credentials and bearer tokens from text."""
    for value in _secret_values():
        text = text.replace(value, "***")
    text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)
    return _BEARER.sub(lambda m: m.group(1) + "***", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks secrets in every line (message and traceback alike)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def install_log_handlers(level: str) -> None:
    """Log to stderr through the redacting formatter (the CLI, and each HTTP worker).

    Our own log has its own stderr handler and does not propagate: Kitaru adds
    handlers to the root logger when it is imported (one writes to stdout), which
    would print each of our lines, tracebacks included, more than once.
    """
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:  # the server's log never shows a secret
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    ours = logging.getLogger("kitaru_mcp")
    own = logging.StreamHandler(sys.stderr)
    own.setFormatter(RedactingFormatter(LOG_FORMAT))
    ours.addHandler(own)
    ours.setLevel(level.upper())
    ours.propagate = False


def failure_text(failure: ToolFailure) -> str:
    """The JSON text block of an error result."""
    return json.dumps(failure.to_dict(), ensure_ascii=False)
