"""Statistics, diff and cohort on a fake gateway: windows, grouping, pairing, matching, paging."""

from __future__ import annotations

from datetime import datetime

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import cohort, diff, statistics

from kitaru_mcp.core.errors import InvalidArgument, NotFound
from kitaru_mcp.gateway.inspection import time_conditions
from unit.fakes import execution
from unit.fakes_reads import ReadsFake, artifact, comparison_item, uuid

pytestmark = pytest.mark.unit


@pytest.fixture
def reads() -> ReadsFake:
    """Four runs of two_steps (minutes 0-3; the last a replay, one failed) and one of approval."""
    gw = ReadsFake(
        [
            execution("aaaa0001", flow="two_steps", minutes=0, checkpoints=["greet", "shout"]),
            execution("bbbb0002", flow="two_steps", minutes=1, checkpoints=["greet", "shout"]),
            execution(
                "cccc0003", flow="two_steps", minutes=2, status="failed", checkpoints=["greet"]
            ),
            execution("dddd0004", flow="two_steps", minutes=3, checkpoints=["greet", "shout"]),
            execution(
                "eeee0005", flow="approval", minutes=4, status="waiting", checkpoints=["ask"]
            ),
        ]
    )
    gw.executions["dddd0004"]["original_exec_id"] = "bbbb0002"
    gw.inputs = {
        "aaaa0001": {"name": "seed", "delay": 0.0},
        "bbbb0002": {"name": "same", "delay": 0.0},
        "cccc0003": {"name": "same", "delay": 0.0},
        "dddd0004": {"name": "same", "delay": 0.0},
        "eeee0005": {"topic": "x" * 400},
    }
    return gw


# ------------------------------------------------------------------ statistics


def _stats(gw, **arguments):
    return statistics.statistics(gw, models.KitaruExecutionsStatisticsInput(**arguments))


def test_statistics_groups_and_total(reads):
    got = _stats(reads, group_by=["flow", "status"])
    assert [(g.flow, g.status, g.count) for g in got.groups] == [
        ("two_steps", "completed", 3),
        ("two_steps", "failed", 1),
        ("approval", "waiting", 1),
    ]
    assert got.total == 5 and got.group_by == ["flow", "status"] and got.truncated is False
    by_day = _stats(reads, group_by=["day"], max_groups=1)
    assert [(g.day, g.count) for g in by_day.groups] == [("2026-01-01", 5)]


def test_statistics_without_groups_is_one_total_even_when_empty(reads):
    assert [g.count for g in _stats(reads, flow="two_steps").groups] == [4]
    nothing = _stats(reads, flow="no_such_flow")
    assert [g.model_dump(exclude_none=True) for g in nothing.groups] == [{"count": 0}]
    assert nothing.total == 0


def test_statistics_window_is_naive_utc(reads):
    got = _stats(reads, since="2026-01-01T02:01:00+02:00", until="2026-01-01T00:02:30Z")
    assert got.window.since == "2026-01-01T00:01:00" and got.window.until == "2026-01-01T00:02:30"
    assert got.total == 2  # minutes 1 and 2
    ((_, (_, _, _, since, until)),) = [c for c in reads.calls if c[0] == "execution_statistics"]
    assert since == datetime(2026, 1, 1, 0, 1) and until == datetime(2026, 1, 1, 0, 2, 30)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"since": "last tuesday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since"),
    ],
)
def test_statistics_bad_windows_name_the_field(reads, arguments, field):
    with pytest.raises(InvalidArgument) as caught:
        _stats(reads, **arguments)
    assert caught.value.field == field
    assert "execution_statistics" not in reads.names()


def test_time_conditions_are_whole_seconds_with_an_open_upper_bound():
    since, until = datetime(2026, 1, 1, 8, 0, 0, 500), datetime(2026, 1, 1, 9, 30, 59, 999)
    assert time_conditions(since, until) == ["gte:2026-01-01 08:00:00", "lt:2026-01-01 09:31:00"]
    assert time_conditions(None, None) == []


# ------------------------------------------------------------------------ diff


def _diff(gw, exec_id, other_exec_id):
    params = models.KitaruExecutionsDiffInput(exec_id=exec_id, other_exec_id=other_exec_id)
    return diff.diff(gw, params)


def test_diff_of_two_identical_runs(reads):
    reads.inputs["aaaa0001"] = dict(reads.inputs["bbbb0002"])
    got = _diff(reads, "aaaa0001", "bbbb0002")
    assert got.identical is True and got.inputs == [] and got.outputs == []
    assert [(c.name, c.status_match, c.outputs_match) for c in got.checkpoints] == [
        ("greet", True, True),
        ("shout", True, True),
    ]
    assert got.checkpoints[0].duration_delta_ms == 1.235
    assert got.differences.model_dump() == {
        "inputs": [],
        "checkpoint_statuses": [],
        "checkpoint_outputs": [],
    }


def test_diff_shows_inputs_and_outputs_that_differ(reads):
    reads.inputs["bbbb0002"]["extra"] = [1, 2]
    reads.comparisons[("aaaa0001", "bbbb0002")] = {
        "checkpoints": [
            comparison_item("greet", "aaaa0001-0", "bbbb0002-0", hashes={"output": ["h1", "h2"]}),
            comparison_item("shout", "aaaa0001-1", "bbbb0002-1", hashes={"output": ["h3", None]}),
        ],
        "urls": [f"http://ui/{i}" for i in range(9)],
        "warnings": ["w" * 900],
    }
    reads.call_artifacts = {
        "aaaa0001": {"aaaa0001-0": {"output": uuid(1)}},
        "bbbb0002": {"bbbb0002-0": {"output": uuid(2)}},
    }
    reads.artifacts = {"aaaa0001": [artifact(uuid(1), "o")], "bbbb0002": [artifact(uuid(2), "o")]}
    reads.values = {uuid(1): "Hello, seed!", uuid(2): "y" * 400}
    got = _diff(reads, "aaaa0001", "bbbb0002")
    assert got.identical is False
    assert [i.model_dump(exclude_unset=True) for i in got.inputs] == [
        {"name": "extra", "other": [1, 2]},
        {"name": "name", "base": "seed", "other": "same"},
    ]
    assert [(c.name, c.outputs_match) for c in got.checkpoints] == [
        ("greet", False),
        ("shout", None),
    ]
    (output,) = got.outputs
    assert output.checkpoint == "greet" and output.base_preview == "'Hello, seed!'"
    assert output.other_preview == "'" + "y" * 299 + "…"
    assert got.differences.checkpoint_outputs == ["greet"]
    assert got.differences.inputs == ["extra", "name"]
    assert len(got.details.urls) == 5 and len(got.details.warnings[0]) == 500


def test_diff_reads_both_executions_inputs_at_once(reads):
    reads.inputs["bbbb0002"]["extra"] = 1
    got = _diff(reads, "aaaa0001", "bbbb0002")
    reads_of_inputs = [c for c in reads.calls if c[0].startswith("flow_inputs")]
    assert reads_of_inputs == [("flow_inputs_many", (("aaaa0001", "bbbb0002"),))]
    assert got.differences.inputs == ["extra", "name"]


def test_diff_of_an_execution_deleted_after_the_comparison_is_not_found(reads):
    real = reads.flow_inputs_many

    def deleted_meanwhile(exec_ids):  # gone between the comparison and the inputs
        reads.executions.pop("bbbb0002")
        return real(exec_ids)

    reads.flow_inputs_many = deleted_meanwhile
    with pytest.raises(NotFound) as caught:
        _diff(reads, "aaaa0001", "bbbb0002")
    assert "bbbb0002" in caught.value.message


def test_diff_preview_is_null_when_a_value_does_not_load(reads):
    reads.comparisons[("aaaa0001", "bbbb0002")] = {
        "checkpoints": [
            comparison_item("greet", "aaaa0001-0", "bbbb0002-0", hashes={"output": ["h1", "h2"]})
        ],
        "urls": [],
        "warnings": [],
    }
    reads.call_artifacts = {"aaaa0001": {"aaaa0001-0": {"output": uuid(7)}}}  # no such artifact
    (output,) = _diff(reads, "aaaa0001", "bbbb0002").outputs
    assert output.base_preview is None and output.other_preview is None


def test_diff_across_statuses_and_missing_checkpoints(reads):
    got = _diff(reads, "bbbb0002", "cccc0003")
    assert got.status.model_dump() == {"base": "completed", "other": "failed", "same": False}
    shout = next(c for c in got.checkpoints if c.name == "shout")
    assert shout.base_status == "completed" and shout.other_status is None
    assert shout.status_match is False and shout.outputs_match is None
    assert got.differences.checkpoint_statuses == ["shout"] and got.identical is False


def test_diff_with_an_unknown_execution_names_the_field(reads):
    with pytest.raises(NotFound) as caught:
        _diff(reads, "aaaa0001", "ffff0009")
    assert caught.value.field == "other_exec_id"
    with pytest.raises(NotFound) as caught:
        _diff(reads, "ffff0009", "aaaa0001")
    assert caught.value.field == "exec_id"


# ---------------------------------------------------------------------- cohort


def _cohort(gw, **arguments):
    return cohort.cohort(gw, models.KitaruExecutionsCohortInput(**arguments))


def test_cohort_by_inputs_counts_what_each_filter_removed(reads):
    got = _cohort(reads, flow="two_steps", inputs={"name": "same"})
    assert [e.exec_id for e in got.executions] == ["bbbb0002"]
    assert got.filtered == {"status": 1, "replays": 1, "window": 0, "inputs": 1}
    assert got.scanned == 4 and got.partial is False and got.count == 1
    assert got.executions[0].inputs == {"name": "same", "delay": 0.0}
    wider = _cohort(
        reads,
        flow="two_steps",
        inputs={"name": "same"},
        include_replays=True,
        statuses=["completed", "failed"],
    )
    assert [e.exec_id for e in wider.executions] == ["dddd0004", "cccc0003", "bbbb0002"]
    assert wider.executions[0].original_exec_id == "bbbb0002"


def test_cohort_window_and_limit(reads):
    got = _cohort(reads, flow="two_steps", since="2026-01-01T00:00:30", include_replays=True)
    assert [e.exec_id for e in got.executions] == ["dddd0004", "bbbb0002"]
    assert got.filtered["window"] == 1
    first = _cohort(reads, flow="two_steps", include_replays=True, limit=1)
    assert [e.exec_id for e in first.executions] == ["dddd0004"]
    # the inputs of every candidate come in one batch per call, never one read per execution
    assert reads.names().count("flow_inputs_many") == 2 and "flow_inputs" not in reads.names()


def test_cohort_over_an_unknown_flow_is_not_found_before_any_scan(reads):
    with pytest.raises(NotFound) as caught:
        _cohort(reads, flow="no_such_flow")
    assert caught.value.field == "flow"
    assert "list_executions" not in reads.names() and "flow_inputs_many" not in reads.names()


def test_cohort_like_an_execution_and_at_a_checkpoint(reads):
    like = _cohort(reads, same_inputs_as="bbbb0002", statuses=["completed", "failed"])
    assert like.flow == "two_steps" and like.inputs == {"name": "same", "delay": 0.0}
    assert [e.exec_id for e in like.executions] == ["cccc0003", "bbbb0002"]
    at = _cohort(reads, same_inputs_as="bbbb0002", statuses=["completed", "failed"], at="shout")
    assert [e.exec_id for e in at.executions] == ["bbbb0002"]
    assert at.filtered["checkpoint"] == 1 and at.at == "shout"
    long = _cohort(reads, flow="approval", statuses=["waiting"])
    assert long.executions[0].inputs["topic"].endswith("…")


@pytest.mark.parametrize(
    ("arguments", "field", "error"),
    [
        (
            {"flow": "two_steps", "inputs": {"a": 1}, "same_inputs_as": "aaaa0001"},
            "same_inputs_as",
            InvalidArgument,
        ),
        ({"flow": "approval", "same_inputs_as": "aaaa0001"}, "same_inputs_as", InvalidArgument),
        ({"inputs": {"a": 1}}, "flow", InvalidArgument),
        ({"same_inputs_as": "ffff0009"}, "same_inputs_as", NotFound),
        ({"flow": "two_steps", "until": "the day before"}, "until", InvalidArgument),
    ],
)
def test_cohort_bad_arguments_name_the_field(reads, arguments, field, error):
    with pytest.raises(error) as caught:
        _cohort(reads, **arguments)
    assert caught.value.field == field


def _many(count: int) -> ReadsFake:
    return ReadsFake(
        [execution(f"{i:08x}", flow="busy", minutes=i) for i in range(count)]
        + [execution("ffffffff", flow="other", minutes=10_000)]
    )


@pytest.mark.parametrize("count", [100, 200, 300, 400])
@pytest.mark.parametrize("max_scan", [100, 200, 500])
def test_cohort_at_page_boundaries_never_asks_past_the_end(count, max_scan):
    """Issue 17.10: exactly 100/200/300/400 executions used to ask for the page after the last."""
    gw = _many(count)
    got = _cohort(gw, flow="busy", limit=200, max_scan=max_scan)
    assert got.scanned == min(count, max_scan)
    assert got.count == min(count, max_scan, 200)
    assert got.partial is (count > max_scan and got.count < 200)
    assert got.executions[0].exec_id == f"{count - 1:08x}"  # newest first


def test_the_fake_refuses_a_page_past_the_end():
    """The old scan (pages of 100 until a short one) fails on this fake as it did for real."""
    gw = _many(100)
    everything = gw.list_executions(flow="busy", limit=100)
    assert len(gw._store_page(everything, 1, 100)) == 100
    with pytest.raises(InvalidArgument, match="Invalid page 2"):
        gw._store_page(everything, 2, 100)


def test_cohort_scan_beyond_max_scan_is_partial():
    gw = _many(30)
    got = _cohort(gw, flow="busy", max_scan=10, limit=20)
    assert got.scanned == 10 and got.count == 10 and got.partial is True
    assert ("list_executions", ("busy", None, 11)) in gw.calls
    enough = _cohort(gw, flow="busy", max_scan=10, limit=5)
    assert enough.count == 5 and enough.partial is False
