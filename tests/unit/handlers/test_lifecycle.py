"""run, replay, retry, resume and cancel on fakes: what they launch, and what they refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import lifecycle

from kitaru_mcp.core.errors import Conflict, InvalidArgument
from unit.fakes import FakeGateway, FakeRuns, execution

pytestmark = pytest.mark.unit


@pytest.fixture
def gw(runs: FakeRuns) -> FakeGateway:
    fake = FakeGateway(
        [
            execution("d0e00001", status="completed", checkpoints=["fetch", "write"]),
            execution("fa1e0002", status="failed", minutes=1),
            execution("a11e0003", status="running", minutes=2),
            execution("be1d0004", status="waiting", minutes=3),
        ]
    )
    runs.gateway = fake
    return fake


@pytest.fixture
def flow_file(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("KITARU_MCP_TARGET_ROOTS", str(tmp_path))
    path = tmp_path / "flows.py"
    path.write_text("# a flow file\n")
    return path


def _model(name: str, **arguments):
    return getattr(models, name).model_validate(arguments)


def test_run_launches_the_target_with_its_arguments(gw, runs, flow_file) -> None:
    params = _model("KitaruExecutionsRunInput", target=f"{flow_file}:greet", args={"name": "Ada"})
    started = lifecycle.run_flow(gw, params)
    assert runs.launched == [
        ("run", {"target": f"{flow_file}:greet", "args": '{"name": "Ada"}', "stack": None})
    ]
    assert started.execution.exec_id == "0000e001"
    assert (started.operation, started.reused, started.log_file) == (
        "run",
        False,
        "/runs/0000e001.log",
    )
    assert "prepare" in gw.names()  # the store and Kitaru get ready before the runner starts


def test_a_run_is_answered_with_the_execution_its_runner_reported(gw, runs, flow_file) -> None:
    runs.describes = True  # the runner read it when it reported: the server reads nothing
    params = _model("KitaruExecutionsRunInput", target=f"{flow_file}:greet")
    started = lifecycle.run_flow(gw, params)
    assert started.execution.exec_id == "0000e001"
    assert started.execution.status == "running"
    assert "get_execution" not in gw.names()
    runs.describes = False  # a report without it: the gateway reads it
    lifecycle.run_flow(gw, params)
    assert gw.calls[-1] == ("get_execution", ("0000e002",))


def test_run_with_the_same_idempotency_key_starts_once(gw, runs, flow_file) -> None:
    arguments = {"target": f"{flow_file}:greet", "idempotency_key": "k-1"}
    first = lifecycle.run_flow(gw, _model("KitaruExecutionsRunInput", **arguments))
    again = lifecycle.run_flow(gw, _model("KitaruExecutionsRunInput", **arguments))
    assert len(runs.launched) == 1
    assert (first.reused, again.reused) == (False, True)
    assert again.execution.exec_id == first.execution.exec_id
    assert again.log_file == first.log_file


@pytest.mark.parametrize(
    ("target", "field", "words"),
    [
        ("missing.py:greet", "target", "does not exist"),
        ("/elsewhere/flows.py:greet", "target", "outside"),
    ],
)
def test_run_refuses_a_bad_file_target_and_launches_nothing(
    gw, runs, flow_file, target, field, words
) -> None:
    target = str(flow_file.parent / target) if not target.startswith("/") else target
    with pytest.raises(InvalidArgument) as caught:
        lifecycle.run_flow(gw, _model("KitaruExecutionsRunInput", target=target))
    assert caught.value.field == field
    assert words in str(caught.value)
    assert runs.launched == []


def test_replay_maps_the_checkpoint_overrides_and_keeps_the_known_target(gw, runs) -> None:
    runs.records["d0e00001"] = {"target": "pkg.flows:greet", "cwd": "/work"}
    params = _model(
        "KitaruExecutionsReplayInput",
        exec_id="d0e00001",
        from_="write",
        flow_inputs={"name": "Bo"},
        overrides={"checkpoint.fetch": [1, 2]},
    )
    started = lifecycle.replay(gw, params)
    operation, options = runs.launched[0]
    assert operation == "replay"
    assert options["exec_id"] == "d0e00001" and options["at"] == "write"
    assert json.loads(options["flow_inputs"] or "null") == {"name": "Bo"}
    assert json.loads(options["overrides"] or "null") == {"fetch": {"output": [1, 2]}}
    assert options["target"] == "pkg.flows:greet"  # a module target is not joined to the cwd
    assert started.execution.exec_id == "0000e001"


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"exec_id": "d0e00001", "from_": "nowhere"}, InvalidArgument, "from_"),
        (
            {"exec_id": "d0e00001", "from_": "write", "overrides": {"checkpoint.x": 1}},
            InvalidArgument,
            "overrides.checkpoint.x",
        ),
        ({"exec_id": "a11e0003", "from_": "step"}, Conflict, "exec_id"),
    ],
)
def test_replay_refuses_what_cannot_be_replayed(gw, runs, arguments, error, field) -> None:
    with pytest.raises(error) as caught:
        lifecycle.replay(gw, _model("KitaruExecutionsReplayInput", **arguments))
    assert caught.value.field == field
    assert runs.launched == []


def test_retry_relaunches_a_failed_execution_from_its_file_target(gw, runs) -> None:
    runs.records["fa1e0002"] = {"target": "flows.py:greet", "cwd": "/work/project"}
    lifecycle.retry(gw, _model("KitaruExecutionsRetryInput", exec_id="fa1e0002"))
    assert runs.launched == [
        ("retry", {"exec_id": "fa1e0002", "target": "/work/project/flows.py:greet"})
    ]


def test_retry_refuses_an_execution_that_did_not_fail(gw, runs) -> None:
    with pytest.raises(Conflict, match="Only failed executions"):
        lifecycle.retry(gw, _model("KitaruExecutionsRetryInput", exec_id="d0e00001"))
    assert runs.launched == []


def test_resume_relaunches_a_paused_execution(gw, runs) -> None:
    gw.statuses["a11e0003"] = "paused"
    started = lifecycle.resume(gw, _model("KitaruExecutionsResumeInput", exec_id="a11e0003"))
    assert runs.launched == [("resume", {"exec_id": "a11e0003", "target": None})]
    assert started.operation == "resume"


def test_resume_refuses_an_execution_that_still_waits(gw, runs) -> None:
    gw.executions["be1d0004"]["pending_wait"] = {
        "name": "approve",
        "wait_id": "w",
        "question": "Ok?",
    }
    with pytest.raises(Conflict, match="still waits on 'approve'"):
        lifecycle.resume(gw, _model("KitaruExecutionsResumeInput", exec_id="be1d0004"))
    assert runs.launched == []


def test_cancel_that_kitaru_honours_stops_no_runner(gw, runs) -> None:
    runs.records["a11e0003"] = {"pid": 4242}
    cancelled = lifecycle.cancel(gw, _model("KitaruExecutionsCancelInput", exec_id="a11e0003"))
    assert cancelled.status == "cancelled"
    assert runs.stopped == []


def test_cancel_of_a_finished_execution_is_a_conflict(gw, runs) -> None:
    with pytest.raises(Conflict, match="already ended"):
        lifecycle.cancel(gw, _model("KitaruExecutionsCancelInput", exec_id="d0e00001"))
