"""How Kitaru names statuses and flows in ZenML's records (both read paths).

Private Kitaru API (pinned in ``tests/test_gateway_pins.py``):
``_RAW_STATUSES_BY_PUBLIC_STATUS`` (how a run's ZenML status maps onto an
execution status) and ``PIPELINE_SOURCE_ALIAS_PREFIX`` (the second stored name
of a flow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import ExecutionStatus

ADAPTER_TYPES = {"llm_call", "tool_call"}  # their inputs and fallback kinds: the SDK maps them
_RAW_STATUS: dict[str, str] = {}  # ZenML run status -> execution status


RUNNING: Final = "running"
WAITING: Final = "waiting"


def public_status(value: Any) -> ExecutionStatus:
    """An execution or checkpoint status as the contract spells it (from Kitaru's enum or
    the mapped text; Kitaru's statuses are the contract's)."""
    return cast("ExecutionStatus", str(getattr(value, "value", value)))


def raw_statuses() -> dict[str, str]:
    """ZenML run status -> execution status, as Kitaru maps them.

    Private Kitaru API: ``kitaru._client._mappers._RAW_STATUSES_BY_PUBLIC_STATUS``.
    """
    if not _RAW_STATUS:
        from kitaru._client._mappers import _RAW_STATUSES_BY_PUBLIC_STATUS

        for public, raws in _RAW_STATUSES_BY_PUBLIC_STATUS.items():
            for raw in raws:
                _RAW_STATUS[raw] = str(public.value)
    return _RAW_STATUS


def raw_for(public: str) -> list[str]:
    return [raw for raw, mapped in raw_statuses().items() if mapped == public]


def flow_names(flow: str) -> list[str]:
    """Both names a Kitaru flow is stored under (Kitaru's ``pipeline_name`` filter).

    Private Kitaru API: ``kitaru._source_aliases.PIPELINE_SOURCE_ALIAS_PREFIX``.
    """
    from kitaru._source_aliases import PIPELINE_SOURCE_ALIAS_PREFIX

    return [flow, f"{PIPELINE_SOURCE_ALIAS_PREFIX}{flow}"]


def public_flow_name(name: str | None) -> str | None:
    from kitaru._source_aliases import normalize_flow_name

    return normalize_flow_name(name)
