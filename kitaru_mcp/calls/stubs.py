"""What every generated stub shares: input checks, the worker thread, output checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

from kitaru_mcp.auth.scopes import scope_for
from kitaru_mcp.calls import layout
from kitaru_mcp.core.errors import Internal, InvalidArgument, quote

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from pydantic import BaseModel


@cache
def load_contract() -> dict[str, dict[str, Any]]:
    """The generated contract, keyed by tool name."""
    text = resources.files("kitaru_mcp.generated").joinpath("contract.json").read_text("utf-8")
    return {tool["name"]: tool for tool in json.loads(text)["tools"]}


def _field_path(error: ValidationError) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path]
    if error.validator == "required" or (
        error.validator == "additionalProperties" and "'" in error.message
    ):
        parts.append(error.message.split("'")[1])
    path = ".".join(parts).replace(".[", "[")
    return path or "(arguments)"


def _describe(error: ValidationError, field: str) -> str:
    rule = error.validator
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if rule == "required":
        return f"{field}: required field is missing"
    if rule == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {}))) or "none"
        return f"{field}: unknown field (allowed: {allowed})"
    if schema.get("writeOnly"):
        # A write-only value (e.g. a secret) is never repeated, not even in an error.
        return f"{field}: breaks the {rule!r} rule of the input schema (value not shown)"
    value = quote(error.instance)
    if rule == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{field}: expected {expected}, got {value}"
    if rule == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)  # type: ignore[union-attr]
        return f"{field}: {value} is not one of {allowed}"
    described = " ".join(str(schema.get("description", "")).split())
    suffix = f" ({described})" if described and rule in {"pattern", "const"} else ""
    if len(value) > 200:  # jsonschema's own message would repeat the whole value
        expected = quote(error.validator_value)
        return f"{field}: {value} breaks the {rule!r} rule ({rule}: {expected}){suffix}"
    return f"{field}: {error.message} (rule: {rule}){suffix}"


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # on the first call, not at start-up

    return Draft202012Validator(schema)


class ToolStub:
    """One tool: its contract, validators compiled on first use, and the generated call."""

    def __init__(
        self,
        spec: dict[str, Any],
        call: Callable[[Any, dict[str, Any]], BaseModel],
        *,
        summary: str = "",
        starts_runner: bool = False,
        scope: str | None = None,
    ) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.call = call
        self.summary = summary
        self.starts_runner = starts_runner
        # the OAuth scope a caller needs (kitaru_mcp.auth.scopes), from the annotations
        self.scope: str = scope or scope_for(spec["annotations"])

    @cached_property
    def _input(self) -> Draft202012Validator:
        return _validator(self.spec["inputSchema"])

    @cached_property
    def _output(self) -> Draft202012Validator:
        return _validator(self.spec["outputSchema"])

    @property
    def read_only(self) -> bool:
        return bool(self.spec["annotations"]["readOnlyHint"])

    def check_arguments(self, arguments: Any) -> dict[str, Any]:
        """Raise InvalidArgument naming the first bad field; return the arguments."""
        arguments = {} if arguments is None else arguments
        errors = sorted(self._input.iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            field = _field_path(first)
            problems = "; ".join(_describe(e, _field_path(e)) for e in errors[:5])
            raise InvalidArgument(
                problems,
                field=field,
                hint=f"Fix the arguments to match the input schema of {self.name} and call again.",
            )
        return arguments

    @property
    def group(self) -> str:
        return str(self.spec["group"])

    def run(self, gateway: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call the handler (blocking) and return its result, laid out as the contract says
        (``kitaru_mcp.calls.layout``) and checked against the output schema."""
        result = self.call(gateway, arguments)
        data = layout.lay_out(result.model_dump(mode="json", by_alias=True, exclude_unset=True))
        error = next(iter(self._output.iter_errors(data)), None)
        if error is not None:
            raise Internal(
                f"{self.name} produced a result that does not match its output schema "
                f"at {_field_path(error)}: {error.message}"
            )
        return data
