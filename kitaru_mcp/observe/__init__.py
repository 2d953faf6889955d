"""Observing calls: who did what (the audit log) and where the time went (traces).

- ``audit``: one JSON line per ``tools/call``, ``resources/read`` and
  ``prompts/get`` (and per call refused before it ran), written when the call
  ends, into a size-rotated file that several processes can share.
- ``tracing``: OpenTelemetry spans under the SDK's span per message, exported
  over OTLP/HTTP when the standard ``OTEL_*`` environment asks for it; off, it
  costs a boolean test per span.
- ``callers``: who is calling, as the transport tells it (one place, used by
  both the audit log and the call context).

Nothing here imports Kitaru; the OpenTelemetry SDK and exporter are imported
only when tracing is configured. This wing may import ``core`` and the standard
library; the call pipeline, the runs and the server import it, never the reverse.
"""
