"""OpenTelemetry traces: our spans under the SDK's span per message, and into the runner.

The ``mcp`` SDK opens one SERVER span per message (``tools/call NAME``...) and
honours a client's ``traceparent`` in ``_meta``; it depends only on the
OpenTelemetry API, so nothing is exported until an SDK and an exporter are
configured. ``configure()`` does that from the standard environment:

- ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``
  (OTLP over HTTP, protobuf; the exporter reads its own ``OTEL_EXPORTER_OTLP_*``
  headers and timeout), ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
  ``OTEL_TRACES_SAMPLER``;
- ``OTEL_SDK_DISABLED=true`` (or ``OTEL_TRACES_EXPORTER=none``) wins over all.

Nothing configured: no SDK import, and every ``span()`` is one boolean test
returning a shared no-op context. Export is batched in a background thread; a
collector that is down costs a call nothing (spans are dropped, one warning).

A run's trace goes on in its runner: ``carrier()`` is the W3C trace context
(``traceparent``) the launcher puts in the job file, and the runner opens its
own span under it (``runner_span``) and flushes before it exits (``finish``).
The exporter comes with the optional extra ``kitaru-mcp[telemetry]``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from kitaru_mcp.core.errors import redact

logger = logging.getLogger("kitaru_mcp")

DISABLED_ENV = "OTEL_SDK_DISABLED"
ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
EXTRA = "kitaru-mcp[telemetry]"
TRACER_NAME = "kitaru-mcp"
SERVICE_NAME = "kitaru-mcp"
FLUSH_TIMEOUT_S = 2.0  # the most a server's or a runner's exit waits for the collector
MAX_MESSAGE_CHARS = 300  # of an error message recorded on a span (redacted)

# attribute names
TOOL = "kitaru_mcp.tool"
OUTCOME = "kitaru_mcp.outcome"
EXEC_ID = "kitaru_mcp.exec_id"
MODE = "kitaru_mcp.mode"
CALLER = "kitaru_mcp.caller"
OPERATION = "kitaru_mcp.operation"

_enabled = False
_provider: Any = None
_tracer: Any = None
_runner: Any = None  # a runner's own span, while it runs
_lock = threading.Lock()
_NO_SPAN = contextlib.nullcontext(None)


def wanted(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces (an endpoint, and the SDK not disabled)."""
    env = os.environ if env is None else env
    if env.get(DISABLED_ENV, "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_ENVS)


def enabled() -> bool:
    return _enabled


class _OneWarning:
    """Wraps the OTLP exporter: a failed export drops its spans and warns once, quietly."""

    def __init__(self, inner: Any, where: str) -> None:
        self.inner = inner
        self.where = where
        self.warned = False

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self.inner.export(spans)
        except Exception:  # the exporter must never take the batch thread down
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS and not self.warned:
            self.warned = True
            logger.warning(
                "kitaru-mcp: traces could not be sent to %s; they are dropped "
                "(later failures are not reported)",
                self.where,
            )
        return result

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


def _endpoint() -> str:
    traces = os.environ.get(ENDPOINT_ENVS[0], "").strip()
    if traces:
        return traces
    return os.environ.get(ENDPOINT_ENVS[1], "").strip().rstrip("/") + "/v1/traces"


def configure(role: str = "server") -> bool:
    """Set up export from the environment, once per process; True when traces are on.

    ``role`` (``server`` or ``runner``) becomes the ``kitaru_mcp.process``
    resource attribute. Without the exporter package but with an endpoint set,
    says once on stderr what to install; serving goes on untraced.
    """
    global _enabled, _provider, _tracer
    with _lock:
        if _enabled:
            return True
        if not wanted():
            return False
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            print(
                f"kitaru-mcp: an OTLP endpoint is set ({' or '.join(ENDPOINT_ENVS)}) but the "
                f"OpenTelemetry exporter is not installed ({exc.name}): "
                f"pip install '{EXTRA}'. Serving without traces.",
                file=sys.stderr,
                flush=True,
            )
            return False
        from opentelemetry import trace

        from kitaru_mcp import __version__

        attributes: dict[str, Any] = {"service.version": __version__, "kitaru_mcp.process": role}
        if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        ):
            attributes["service.name"] = SERVICE_NAME
        # the exporter's own retry warnings would repeat for every batch: ours says it once
        logging.getLogger("opentelemetry.exporter.otlp.proto.http").setLevel(logging.CRITICAL)
        logging.getLogger("opentelemetry.sdk.trace.export").setLevel(logging.CRITICAL)
        provider = TracerProvider(resource=Resource.create(attributes), shutdown_on_exit=False)
        exporter = _OneWarning(OTLPSpanExporter(), _endpoint())
        provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
        trace.set_tracer_provider(provider)
        _provider = provider
        _tracer = provider.get_tracer(TRACER_NAME, __version__)
        _enabled = True
        return True


def finish(timeout_s: float = FLUSH_TIMEOUT_S) -> None:
    """Send what is batched, waiting at most ``timeout_s`` (before a process exits)."""
    provider = _provider
    if provider is None:
        return
    with contextlib.suppress(Exception):
        provider.force_flush(int(timeout_s * 1000))


def _set(span: Any, attributes: Mapping[str, Any]) -> None:
    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(key, value if isinstance(value, bool | int | float) else str(value))


@contextlib.contextmanager
def _span(name: str, attributes: Mapping[str, Any], context: Any = None) -> Iterator[Any]:
    with _tracer.start_as_current_span(
        name, context=context, record_exception=False, set_status_on_exception=False
    ) as span:
        _set(span, attributes)
        try:
            yield span
        except BaseException as exc:
            if type(exc).__name__ == "InputRequired":  # a question for the user, not a failure
                span.set_attribute(OUTCOME, "input_required")
            else:
                fail(span, exc)
            raise


def span(name: str, **attributes: Any) -> Any:
    """A span under the current one (a no-op context when tracing is off); an exception
    leaving it is recorded (its error code and a redacted message) and goes on."""
    if not _enabled:
        return _NO_SPAN
    return _span(name, attributes)


def annotate(span: Any, **attributes: Any) -> None:
    """Set attributes on ``span`` (the value a ``span()`` context gave; None when off)."""
    if span is not None:
        _set(span, attributes)


def event(name: str, **attributes: Any) -> None:
    """An event on the current span (nothing when tracing is off)."""
    if not _enabled:
        return
    from opentelemetry import trace

    current = trace.get_current_span()
    if not current.is_recording() and _runner is not None:  # a hook called from another thread
        current = _runner
    current.add_event(name, {k: str(v) for k, v in attributes.items() if v is not None})
    _set(current, {EXEC_ID: attributes.get("exec_id")} if "exec_id" in attributes else {})


def fail(span: Any, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: outcome code, error type, a bounded redacted message."""
    if span is None:
        return
    from opentelemetry.trace import StatusCode

    code = getattr(exc, "code", None)
    if not isinstance(code, str):
        code = "cancelled" if _is_cancellation(exc) else type(exc).__name__
    message = redact(str(getattr(exc, "message", None) or exc)[: MAX_MESSAGE_CHARS * 4])
    span.set_attribute(OUTCOME, code)
    span.set_attribute("error.type", code)
    span.add_event(
        "exception",
        {"exception.type": type(exc).__name__, "exception.message": message[:MAX_MESSAGE_CHARS]},
    )
    span.set_status(StatusCode.ERROR, code)


def _is_cancellation(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError) or type(exc).__name__ == "Cancelled"


def carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (for a runner's job), or None when off."""
    if not _enabled:
        return None
    from opentelemetry.propagate import inject

    headers: dict[str, str] = {}
    inject(headers)
    return headers or None


def trace_id() -> str | None:
    """The current trace's id (32 hex digits) when a span is recording, else None."""
    if not _enabled:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@contextlib.contextmanager
def runner_span(headers: Mapping[str, str] | None, operation: str) -> Iterator[Any]:
    """In a runner: its span, child of the launch that sent ``headers``; flushed at the end.

    A no-op unless the job carried a trace context and tracing can be configured here.
    """
    if not headers or not configure("runner"):
        yield None
        return
    global _runner
    from opentelemetry.propagate import extract

    try:
        with _span(f"kitaru_mcp.runner {operation}", {OPERATION: operation}, extract(headers)) as s:
            _runner = s
            yield s
    finally:
        _runner = None
        finish()


def preload() -> None:
    """Import the SDK and the exporter ahead of need (the runner template, before it forks:
    imports start no thread), when the environment asks for traces."""
    if wanted():
        with contextlib.suppress(ImportError):
            import opentelemetry.exporter.otlp.proto.http.trace_exporter
            import opentelemetry.sdk.trace.export  # noqa: F401


class TracedGateway:
    """The gateway with a span around each method a handler calls (only when tracing is on)."""

    _UNTRACED = frozenset({"using", "prepare"})

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or name in self._UNTRACED or not callable(value):
            return value

        def traced(*args: Any, **kwargs: Any) -> Any:
            with span(f"kitaru_mcp.gateway {name}"):
                return value(*args, **kwargs)

        return traced


def traced_gateway(gateway: Any) -> Any:
    return TracedGateway(gateway) if _enabled else gateway
