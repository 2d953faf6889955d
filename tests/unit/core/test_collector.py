"""``core.collector.paused``: the collector off inside, as it was after."""

from __future__ import annotations

import gc

import pytest

from kitaru_mcp.core import collector

pytestmark = pytest.mark.unit


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_is_on_again_after_an_error() -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("in the import")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
