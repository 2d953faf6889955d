"""The error codes are one list: the ToolError schema's, and every other place agrees with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kitaru_mcp.codegen.docs import ERROR_MEANINGS

from kitaru_mcp.core import errors

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _source() -> list[str]:
    """The codes as ``schemas/defs/error.yaml`` defines them (the source)."""
    defs = yaml.safe_load((ROOT / "schemas" / "defs" / "error.yaml").read_text())
    return list(defs["ToolError"]["properties"]["code"]["enum"])


def test_a_tools_errors_list_may_name_every_code_and_only_those() -> None:
    meta = json.loads((ROOT / "schemas" / "tool.schema.json").read_text())
    assert meta["properties"]["errors"]["items"]["enum"] == _source()


def test_the_reference_docs_explain_every_code() -> None:
    assert list(ERROR_MEANINGS) == _source()


def test_the_error_ladder_raises_every_code_and_only_those() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ToolFailure)
    }
    assert codes == set(_source())


def test_the_generated_contract_carries_the_same_codes() -> None:
    contract = json.loads((ROOT / "generated" / "contract.json").read_text())
    assert contract["toolError"]["properties"]["code"]["enum"] == _source()
