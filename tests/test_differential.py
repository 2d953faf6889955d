"""The gateway's own store queries give the SDK's answers, field by field.

A seeded store (``bench/seed.py``: four real runs, one paused on a wait, one
failed, then several hundred copies of their rows with varied statuses, start
times, inputs and replays). The same 50 random executions and the filters
they suggest go through the gateway's SQL path and through the SDK call it
replaces (or the gateway's own SDK path, ``store_sql`` answering None).
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.store, pytest.mark.slow]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

SEEDED = 400
STATUSES = (None, "completed", "failed", "running", "waiting", "cancelled")
GROUPINGS = (
    [],
    ["status"],
    ["flow"],
    ["stack"],
    ["day"],
    ["status", "flow"],
    ["status", "day"],
    ["flow", "stack", "day"],
)


def _run_ids() -> set[str]:
    from zenml.client import Client
    from zenml.utils.pagination_utils import depaginate

    return {str(run.id) for run in depaginate(Client().list_pipeline_runs, hydrate=False)}


@pytest.fixture(scope="module")
def store() -> Iterator[dict[str, Any]]:
    """The seeded executions; removed again afterwards (the session's store is shared)."""
    import seed

    from kitaru_mcp.gateway import session

    session.ensure_store()
    before = _run_ids()
    templates = seed.real_runs()
    assert len(templates) == 4, templates
    seed.seed(templates, SEEDED + seed.count())
    mine = _run_ids() - before
    sample = random.Random(18).sample(sorted(mine - set(templates)), 50 - len(templates))
    yield {"templates": templates, "sample": sample + templates, "mine": mine}
    _remove(_run_ids() - before, templates)


def _remove(run_ids: set[str], real: list[str]) -> None:
    """Delete the module's executions: the real runs through ZenML, the row copies in bulk."""
    import uuid

    from sqlalchemy import delete
    from sqlmodel import Session
    from zenml.client import Client
    from zenml.zen_stores.schemas import PipelineRunSchema

    for exec_id in real:
        Client().delete_pipeline_run(exec_id)
    copies = [uuid.UUID(i) for i in run_ids - set(real)]
    with Session(Client().zen_store.engine) as session:
        for start in range(0, len(copies), 500):
            chunk = copies[start : start + 500]
            session.execute(delete(PipelineRunSchema).where(PipelineRunSchema.id.in_(chunk)))
        session.commit()


@pytest.fixture
def gw():
    from kitaru_mcp.gateway import Gateway

    gateway = Gateway()
    assert gateway.store_sql() is not None, "the test store is the embedded SQL store"
    return gateway


@pytest.fixture
def sdk_gw():
    """A gateway that takes the server path (no SQL engine: SDK calls and REST filters)."""
    from kitaru_mcp.gateway import Gateway

    gateway = Gateway()
    gateway.store_sql = lambda: None  # type: ignore[method-assign]
    return gateway


def _kitaru():
    from kitaru import KitaruClient

    return KitaruClient()


def _flows_and_statuses(gw, sample: list[str]) -> list[tuple[str | None, str | None]]:
    flows = {gw.get_execution(exec_id)["flow"] for exec_id in sample}
    return [
        (flow, status) for flow in (None, *sorted(flows), "no_such_flow") for status in STATUSES
    ]


def test_get_is_the_sdks_execution(store, gw, sdk_gw) -> None:
    from kitaru_mcp.gateway import serialize

    for exec_id in store["sample"]:
        expected = serialize.execution(_kitaru().executions.get(exec_id))
        assert gw.get_execution(exec_id) == expected, exec_id
        assert sdk_gw.get_execution(exec_id) == expected, exec_id  # the server path


def test_get_on_a_server_sends_fewer_requests_than_the_sdk(store, sdk_gw, monkeypatch) -> None:
    """The store calls a server would answer: the run, one steps listing, one artifacts request."""
    from zenml.client import Client

    from kitaru_mcp.gateway import serialize

    store_type = type(Client().zen_store)
    calls: list[str] = []
    for name in ("get_run", "list_run_steps", "get_artifact_version", "list_artifact_versions"):
        real = getattr(store_type, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(store_type, name, counted)
    completed = store["templates"][0]  # two checkpoints, two output artifacts
    expected = serialize.execution(_kitaru().executions.get(completed))
    sdk_calls, calls[:] = list(calls), []
    assert sdk_gw.get_execution(completed) == expected
    assert len(expected["artifacts"]) == 2
    assert sorted(sdk_calls) == sorted(
        [
            "get_run",
            "list_run_steps",
            "list_run_steps",
            "get_artifact_version",
            "get_artifact_version",
        ]
    )
    assert sorted(calls) == ["get_run", "list_artifact_versions", "list_run_steps"]


def test_list_is_the_sdks_list(store, gw, sdk_gw) -> None:
    from kitaru_mcp.gateway import serialize

    for flow, status in _flows_and_statuses(gw, store["sample"]):
        listed = _kitaru().executions.list(flow=flow, status=status, limit=200)
        expected = [serialize.execution_summary(execution) for execution in listed]
        assert gw.list_executions(flow=flow, status=status, limit=200) == expected, (flow, status)
        by_rest = sdk_gw.list_executions(flow=flow, status=status, limit=200)
        assert by_rest == expected, ("rest", flow, status)


@pytest.mark.parametrize("path", ["sql", "rest"])
def test_keyset_pages_walk_the_sdks_order(store, gw, sdk_gw, path) -> None:
    """Both paths: the embedded query, and the REST filters a server connection uses."""
    from kitaru_mcp.gateway import serialize

    gateway = gw if path == "sql" else sdk_gw
    for flow, status in [(None, None), ("two_steps", "completed"), (None, "waiting")]:
        expected = [
            serialize.execution_summary(execution)
            for execution in _kitaru().executions.list(flow=flow, status=status)
        ]
        walked, keys, after = [], [], None
        while True:
            page = gateway.page_executions(flow=flow, status=status, limit=37, after=after)
            walked += page["executions"]
            keys += page["keys"]
            if len(page["executions"]) < 37:
                break
            after = page["keys"][-1]
        assert walked == expected, (flow, status)
        # from any key (the REST filter rounds to its second), what follows it exactly
        for index in random.Random(7).sample(range(len(keys)), min(5, len(keys))):
            after_key = gateway.page_executions(
                flow=flow, status=status, limit=5, after=keys[index]
            )
            assert after_key["executions"] == walked[index + 1 : index + 6], (flow, status)


def test_the_listing_before_kitaru_loads_is_the_sdks_listing(store, gw, monkeypatch) -> None:
    """``embedded`` + ``store.light``: the first page a server answers while Kitaru still
    loads, read with SQLAlchemy Core from the same file, equals the SQL path's (which
    equals the SDK's)."""
    from kitaru_mcp.gateway import embedded, keyset, session, store_lock

    found = embedded.connection()
    assert found is not None, "the test store is one the light path reads"
    assert found[1] == gw.store_sql()[1], "the same project"
    monkeypatch.setattr(session, "warming", lambda: True)
    monkeypatch.setattr(store_lock, "store_open", lambda: False)
    pairs = _flows_and_statuses(gw, store["sample"])
    assert len(pairs) > 12
    for flow, status in pairs:
        sql = gw.page_executions(flow=flow, status=status, limit=60)
        before = gw._page_before_kitaru(flow=flow, status=status, limit=60, after=None)
        assert before is not None
        assert [s for s, _ in before] == sql["executions"], (flow, status)
        assert [k for _, k in before] == sql["keys"], (flow, status)
        if len(sql["keys"]) > 30:  # and from a key on, the same next page
            after = keyset.decode_key(sql["keys"][30])
            rest = gw._page_before_kitaru(flow=flow, status=status, limit=20, after=after)
            assert [s for s, _ in rest or []] == sql["executions"][31:51], (flow, status)
    assert sum(len(gw.page_executions(limit=500)["executions"]) for _ in [0]) > SEEDED


def test_flow_inputs_are_the_runs_parameters(store, gw, sdk_gw) -> None:
    sample = store["sample"]
    expected = {exec_id: sdk_gw.flow_inputs(exec_id) for exec_id in sample}
    assert {exec_id: gw.flow_inputs(exec_id) for exec_id in sample} == expected
    assert gw.flow_inputs_many([*sample, "0" * 8]) == expected


def test_statistics_are_the_sdks_statistics(store, gw, sdk_gw) -> None:
    from datetime import datetime

    started = sorted(
        datetime.fromisoformat(gw.get_execution(exec_id)["started_at"])
        for exec_id in store["sample"]
    )
    windows = [(None, None), (started[10], started[40]), (started[25], None)]
    filters = [{}, {"flow": "two_steps"}, {"status": "completed"}, {"stack": "default"}]
    for group_by in GROUPINGS:
        for since, until in windows:
            for extra in filters:
                arguments = {"group_by": group_by, "since": since, "until": until, **extra}
                expected = gw.sdk_statistics(**arguments, max_groups=1000)  # Kitaru's helper
                got = gw.execution_statistics(**arguments, max_groups=1000)  # SQL aggregate
                assert got == expected, arguments
                one_request = sdk_gw.execution_statistics(**arguments, max_groups=1000)
                assert one_request == expected, arguments  # the server path: one request


def test_kept_statistics_follow_every_change_to_the_store(store, gw) -> None:
    """Asked again of an unchanged store, the kept answer; after any commit, a new one."""
    import uuid

    from sqlalchemy import event, update
    from sqlmodel import Session
    from zenml.zen_stores.schemas import PipelineRunSchema

    engine, _ = gw.store_sql()
    arguments = {"group_by": ["status", "flow"], "max_groups": 1000}
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    first = gw.execution_statistics(**arguments)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert gw.execution_statistics(**arguments) == first
        assert not [s for s in statements if "FROM pipeline_run" in s], "kept, not counted again"
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    failed = next(
        i for i in store["sample"] if gw.get_execution(i)["status"] == "failed"
    )  # turned completed behind the server's back, as a retry in place would
    flow = gw.get_execution(failed)["flow"]
    with Session(engine) as session:
        row = uuid.UUID(failed)
        session.execute(
            update(PipelineRunSchema).where(PipelineRunSchema.id == row).values(status="completed")
        )
        session.commit()
    try:
        changed = gw.execution_statistics(**arguments)
        assert changed != first
        assert changed == gw.sdk_statistics(**arguments)
        counts = {(g["status"], g["flow"]): g["count"] for g in changed["groups"]}
        before = {(g["status"], g["flow"]): g["count"] for g in first["groups"]}
        assert sum(counts.values()) == sum(before.values())
        assert counts[("completed", flow)] == before.get(("completed", flow), 0) + 1
        assert counts.get(("failed", flow), 0) == before[("failed", flow)] - 1
    finally:
        with Session(engine) as session:
            session.execute(
                update(PipelineRunSchema).where(PipelineRunSchema.id == row).values(status="failed")
            )
            session.commit()
    assert gw.execution_statistics(**arguments) == first


def test_statistics_window_edges_are_whole_seconds(store, gw, sdk_gw) -> None:
    started = gw.get_execution(store["templates"][0])["started_at"]
    from datetime import datetime

    moment = datetime.fromisoformat(started)
    for since, until in [(moment, moment), (moment + timedelta(seconds=1), None)]:
        arguments = {"group_by": ["status"], "since": since, "until": until}
        expected = gw.sdk_statistics(**arguments)
        assert gw.execution_statistics(**arguments) == expected
        assert sdk_gw.execution_statistics(**arguments) == expected


def test_diff_is_the_sdks_diff(store, gw) -> None:
    from kitaru.diff import diff

    templates = store["templates"]
    for base, other in [(templates[0], templates[1]), (templates[1], templates[2])]:
        ours = gw.compare_executions(base, other)
        theirs = diff(base, other)
        items = theirs.compared[0][1]
        assert [c["name"] for c in ours["checkpoints"]] == [i.name for i in items]
        for mine, item in zip(ours["checkpoints"], items, strict=True):
            assert mine["base_call_id"] == item.original_call_id
            assert mine["other_call_id"] == item.replay_call_id
            assert mine["status_match"] == item.status_match
            assert mine["artifact_hashes"] == {
                name: [left, right] for name, (left, right) in item.artifact_hashes.items()
            }
        assert ours["urls"] == [str(url) for url in theirs.urls]
        assert ours["base"] == gw.get_execution(base) and ours["other"] == gw.get_execution(other)


def test_stacks_mark_the_active_stack_as_kitaru_does(gw) -> None:
    import kitaru

    expected = {info.name: info.is_active for info in kitaru.list_stacks()}
    assert {stack["name"]: stack["active"] for stack in gw.list_stacks()} == expected


def test_stacks_are_the_same_through_either_path(gw, sdk_gw, monkeypatch) -> None:
    """The SQL listing gives the hydrated models' stacks and components, field by field."""
    import kitaru

    # ZenML finds its source root from __main__'s file; an xdist worker's has none.
    monkeypatch.setattr(sys.modules["__main__"], "__file__", __file__, raising=False)
    from zenml.client import Client
    from zenml.enums import StackComponentType

    zen = Client()
    kitaru.create_stack("differential_stack", activate=False)
    extra = [f"differential_sandbox_{n}" for n in range(3)]  # a type a stack may hold several of
    try:
        sandbox = zen.get_stack("differential_stack").components[StackComponentType.SANDBOX][0]
        made = [
            zen.create_stack_component(name, sandbox.flavor_name, StackComponentType.SANDBOX, {})
            for name in extra
        ]
        zen.update_stack(
            "differential_stack",
            component_updates={StackComponentType.SANDBOX: [sandbox.id, *(c.id for c in made)]},
        )
        by_name = lambda stacks: {stack["name"]: stack for stack in stacks}  # noqa: E731
        ours, theirs = by_name(gw.list_stacks()), by_name(sdk_gw.list_stacks())
        assert ours == theirs
        assert {"default", "differential_stack"} <= set(ours)
        components = ours["differential_stack"]["components"]
        assert [c["type"] for c in components] == [
            "artifact_store",
            "orchestrator",
            *["sandbox"] * 4,
        ]
        assert {c["name"] for c in components[2:]} == {sandbox.name, *extra}
    finally:
        kitaru.delete_stack("differential_stack", recursive=True, force=True)
        for name in extra:
            with contextlib.suppress(KeyError):
                zen.delete_stack_component(name, StackComponentType.SANDBOX)


def test_paging_while_the_store_changes_neither_repeats_nor_skips(store, gw) -> None:
    """Executions arrive on top and one already shown is deleted between pages."""
    import seed
    from kitaru_mcp.generated import models
    from kitaru_mcp.handlers import executions
    from zenml.client import Client

    def page(token: str | None):
        arguments = {"limit": 50, **({"cursor": token} if token else {})}
        return executions.list_executions(gw, models.KitaruExecutionsListInput(**arguments))

    before = [e["exec_id"] for e in gw.list_executions(limit=10_000)]
    first = page(None)
    seen = [e.exec_id for e in first.executions]
    seed.seed(store["templates"], seed.count() + 30, random.Random(7), days=0)  # arrivals
    gone = next(i for i in reversed(seen) if i in store["mine"] and i not in store["templates"])
    Client().delete_pipeline_run(gone)  # an execution already shown goes away
    token = first.next_cursor
    while token:
        found = page(token)
        seen += [e.exec_id for e in found.executions]
        token = found.next_cursor
    assert seen == [exec_id for exec_id in before], "every execution of the start, once, in order"


def test_cohort_and_statistics_bad_input_run_no_query(gw) -> None:
    from kitaru_mcp.generated import models
    from kitaru_mcp.handlers import cohort, statistics
    from sqlalchemy import event

    from kitaru_mcp.core.errors import InvalidArgument, NotFound

    engine = gw.store_sql()[0]
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with pytest.raises(NotFound) as caught:
            cohort.cohort(gw, models.KitaruExecutionsCohortInput(flow="no_such_flow"))
        assert caught.value.field == "flow"
        assert not [s for s in statements if "FROM pipeline_run" in s], statements
        statements.clear()
        with pytest.raises(InvalidArgument) as caught:
            statistics.statistics(
                gw,
                models.KitaruExecutionsStatisticsInput(since="2026-02-01", until="2026-01-01"),
            )
        assert caught.value.field == "since" and statements == []
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_cohort_is_the_same_through_either_path(store, gw, sdk_gw) -> None:
    from kitaru_mcp.generated import models
    from kitaru_mcp.handlers import cohort

    cases = [
        {"flow": "two_steps", "inputs": {"name": "alpha"}},
        {"flow": "two_steps", "inputs": {"name": "beta"}, "include_replays": True, "limit": 5},
        {"flow": "two_steps", "inputs": {"name": "nobody"}, "statuses": ["completed", "failed"]},
        {"same_inputs_as": store["templates"][0], "max_scan": 40},
        {"flow": "approval", "statuses": ["waiting", "running"], "include_replays": True},
    ]
    for arguments in cases:
        params = models.KitaruExecutionsCohortInput(**arguments)
        ours = cohort.cohort(gw, params).model_dump()
        assert ours == cohort.cohort(sdk_gw, params).model_dump(), arguments
