"""The numbers the environment sets: read in one place, refused at start-up when they are
not what they must be (before, a bad one crashed an import with a traceback)."""

from __future__ import annotations

import pytest

from kitaru_mcp import cli
from kitaru_mcp.core import settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.NUMBERS:
        monkeypatch.delenv(name, raising=False)


def test_unset_or_empty_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.number("KITARU_MCP_CONNECT_TIMEOUT") == 3
    monkeypatch.setenv("KITARU_MCP_PORT", " ")
    assert settings.number("KITARU_MCP_PORT") == 8765 and settings.environment_problems() == []


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("KITARU_MCP_CONNECT_TIMEOUT", "0.5", 0.5),
        ("KITARU_MCP_AUTH_LEEWAY", "0", 0.0),
        ("KITARU_MCP_MAX_CONNECTIONS", "12", 12),
        ("KITARU_MCP_AUDIT_BACKUPS", "0", 0),
        ("KITARU_MCP_PORT", "0", 0),
    ],
)
def test_good_values_are_taken(monkeypatch, name: str, raw: str, value: float) -> None:
    monkeypatch.setenv(name, raw)
    assert settings.number(name) == value and settings.environment_problems() == []


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("KITARU_MCP_CONNECT_TIMEOUT", "abc", "a number of seconds above 0"),
        ("KITARU_MCP_CALL_TIMEOUT", "0", "a number of seconds above 0"),
        ("KITARU_MCP_START_TIMEOUT", "nan", "a number of seconds above 0"),
        ("KITARU_MCP_AUTH_LEEWAY", "-1", "a number of seconds, 0 or more"),
        ("KITARU_MCP_MAX_CONNECTIONS", "2.5", "a whole number, 1 or more"),
        ("KITARU_MCP_AUDIT_MAX_BYTES", "-3", "a whole number, 0 or more"),
        ("KITARU_MCP_PORT", "70000", "a port number from 0 to 65535"),
    ],
)
def test_bad_values_are_named_with_what_was_expected(
    monkeypatch, capsys, name: str, raw: str, expected: str
) -> None:
    monkeypatch.setenv(name, raw)
    assert settings.number(name) == settings.NUMBERS[name].default  # never a crash
    assert settings.environment_problems() == [f"{name} must be {expected}, not {raw!r}."]
    assert cli.main(["--transport", "http"]) == cli.USAGE_ERROR  # refused before serving
    said = capsys.readouterr().err
    assert f"kitaru-mcp: {name} must be {expected}" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("KITARU_MCP_MODE", "wild", "one of read-only, standard, destructive, not 'wild'"),
        ("KITARU_MCP_TRANSPORT", "carrier", "one of stdio, http, not 'carrier'"),
        ("KITARU_MCP_AUTH", "maybe", "one of none, oauth, not 'maybe'"),
        ("KITARU_MCP_LOG_LEVEL", "loud", "one of debug, info, warning, error, critical"),
    ],
)
def test_a_choice_from_the_environment_is_checked_as_a_flag_would_be(
    monkeypatch, capsys, variable: str, raw: str, says: str
) -> None:
    """argparse checks a flag against its choices, never a default taken from a variable:
    before, a bad mode or transport served silently, a bad log level crashed."""
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SystemExit) as stopped:
        cli.main([])
    said = capsys.readouterr().err
    assert stopped.value.code == cli.USAGE_ERROR
    assert f"kitaru-mcp: {variable} must be {says}" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("TRUE", True), (" on ", True), ("no", False), ("0", False)]
)
def test_a_switch_takes_the_usual_words(monkeypatch, raw: str, value: bool) -> None:
    for name in settings.SWITCHES:
        monkeypatch.setenv(name, raw)
        assert settings.switch(name) is value
    assert settings.environment_problems() == []


def test_an_unknown_switch_word_is_refused_and_reads_as_the_default(monkeypatch) -> None:
    """Before, KITARU_MCP_WARMUP=false left the warm-up on (only "0" was off), and
    KITARU_MCP_STATELESS=maybe served with sessions, silently."""
    monkeypatch.setenv("KITARU_MCP_WARMUP", "false")
    assert settings.switch("KITARU_MCP_WARMUP") is False
    monkeypatch.setenv("KITARU_MCP_STATELESS", "maybe")
    assert settings.switch("KITARU_MCP_STATELESS") is False
    assert settings.environment_problems() == [
        "KITARU_MCP_STATELESS must be one of 1, true, yes, on, 0, false, no, off, not 'maybe'."
    ]
