"""How Kitaru names statuses and flows in ZenML's records (every read path).

Copies of private Kitaru API, checked against it in ``tests/test_gateway_pins.py``:
``_RAW_STATUSES_BY_PUBLIC_STATUS`` (how a run's ZenML status maps onto an
execution status), ``PIPELINE_SOURCE_ALIAS_PREFIX`` (the second stored name of
a flow) and ``normalize_flow_name``. Importing this module imports no Kitaru.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ExecutionStatus

# Kitaru 0.21's ``kitaru._client._mappers._RAW_STATUSES_BY_PUBLIC_STATUS``, copied so a
# read needs no Kitaru import (the embedded store's first listing, ``store.light``).
RAW_STATUSES_BY_PUBLIC: Final[dict[str, tuple[str, ...]]] = {
    "running": (
        "cancelling",
        "initializing",
        "provisioning",
        "queued",
        "running",
        "retrying",
        "resuming",
        "stopping",
    ),
    "waiting": ("paused",),
    "completed": (
        "completed",
        "cached",
        "skipped",
        "replay_reused",
        "reused",
        "reused_not_incurred",
    ),
    "failed": ("failed", "retried"),
    "cancelled": ("cancelled", "stopped"),
}
PIPELINE_ALIAS_PREFIX: Final = "__kitaru_pipeline_source_"  # kitaru._source_aliases'
ADAPTER_TYPES = {"llm_call", "tool_call"}  # their inputs and fallback kinds: the SDK maps them
_RAW_STATUS: dict[str, str] = {}  # ZenML run status -> execution status


RUNNING: Final = "running"
WAITING: Final = "waiting"


def public_status(value: Any) -> ExecutionStatus:
    """An execution or checkpoint status as the contract spells it (from Kitaru's enum or
    the mapped text; Kitaru's statuses are the contract's)."""
    return cast("ExecutionStatus", str(getattr(value, "value", value)))


def raw_statuses() -> dict[str, str]:
    """ZenML run status -> execution status, as Kitaru maps them."""
    if not _RAW_STATUS:
        for public, raws in RAW_STATUSES_BY_PUBLIC.items():
            for raw in raws:
                _RAW_STATUS[raw] = public
    return _RAW_STATUS


def raw_for(public: str) -> list[str]:
    return [raw for raw, mapped in raw_statuses().items() if mapped == public]


def flow_names(flow: str) -> list[str]:
    """Both names a Kitaru flow is stored under (Kitaru's ``pipeline_name`` filter)."""
    return [flow, f"{PIPELINE_ALIAS_PREFIX}{flow}"]


def public_flow_name(name: str | None) -> str | None:
    """A stored flow name as Kitaru shows it: stripped, without the alias prefix; None
    for none or blank (Kitaru's ``normalize_flow_name``)."""
    if name is None:
        return None
    stripped = str(name).strip()
    return stripped.removeprefix(PIPELINE_ALIAS_PREFIX) or None
