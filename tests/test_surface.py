"""The rest of Kitaru's surface through the official MCP client, on the real local store:
statistics, diff, cohort, deployments, secrets, projects, info and the clean preview."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, wait_until
from mcp_client import StdioClient

pytestmark = pytest.mark.server

FINISHED = {"completed", "failed", "cancelled"}
SAME_NAME = f"surface-{uuid.uuid4().hex[:6]}"

SURFACE_TOOLS = {
    "kitaru_executions_statistics": "read",
    "kitaru_executions_diff": "read",
    "kitaru_executions_cohort": "read",
    "kitaru_deployments_list": "read",
    "kitaru_deployments_get": "read",
    "kitaru_deployments_deploy": "write",
    "kitaru_deployments_invoke": "write",
    "kitaru_deployments_delete": "destructive",
    "kitaru_deployments_tag": "write",
    "kitaru_deployments_untag": "write",
    "kitaru_secrets_list": "read",
    "kitaru_secrets_create": "write",
    "kitaru_projects_list": "read",
    "kitaru_projects_current": "read",
    "kitaru_projects_show": "read",
    "kitaru_projects_use": "write",
    "kitaru_info": "read",
    "kitaru_clean_preview": "read",
}


def _finished(client: StdioClient, exec_id: str) -> dict:
    def done() -> dict | None:
        execution = client.ok("kitaru_executions_get", {"exec_id": exec_id})
        return execution if execution["status"] in FINISHED else None

    return wait_until(done, timeout=120)


@pytest.fixture(scope="module")
def pair(mcp_server: StdioClient, seeded: dict) -> dict:
    """Two runs of two_steps with the same inputs (started together), inside a known window."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    ids = [
        mcp_server.ok(
            "kitaru_executions_run",
            {"target": "examples/two_steps.py:two_steps", "args": {"name": SAME_NAME}},
        )["execution"]["exec_id"]
        for _ in range(2)
    ]
    done = [_finished(mcp_server, exec_id) for exec_id in ids]
    assert [d["status"] for d in done] == ["completed", "completed"], done
    first, second = sorted(done, key=lambda d: d["started_at"])
    return {
        "first": first["exec_id"],
        "second": second["exec_id"],
        "since": since.isoformat(),
        "until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
        "seed": seeded["completed"],
        "waiting": seeded["waiting"],
    }


def test_new_tools_are_listed_with_honest_annotations(mcp_server: StdioClient) -> None:
    tools = {tool.name: tool for tool in mcp_server.list_tools()}
    for name, kind in SURFACE_TOOLS.items():
        hints = tools[name].annotations
        assert tools[name].output_schema["type"] == "object", name
        assert hints.read_only_hint is (kind == "read"), name
        assert hints.destructive_hint is (kind == "destructive"), name
    assert tools["kitaru_secrets_create"].annotations.idempotent_hint is False
    assert tools["kitaru_deployments_deploy"].annotations.idempotent_hint is False
    assert tools["kitaru_deployments_invoke"].annotations.open_world_hint is True


# ------------------------------------------------------------------ statistics


def test_statistics_count_the_pair_in_its_window(mcp_server: StdioClient, pair: dict) -> None:
    window = {"since": pair["since"], "until": pair["until"], "flow": "two_steps"}
    stats = mcp_server.ok(
        "kitaru_executions_statistics", {**window, "group_by": ["status", "flow"]}
    )
    assert stats["groups"] == [{"status": "completed", "flow": "two_steps", "count": 2}]
    assert stats["total"] == 2 and stats["truncated"] is False
    assert stats["window"]["since"] and stats["window"]["until"]

    by_day = mcp_server.ok("kitaru_executions_statistics", {**window, "group_by": ["day", "stack"]})
    today = datetime.now(UTC).date().isoformat()
    assert by_day["groups"] == [{"day": today, "stack": "default", "count": 2}]


def test_statistics_totals_and_filters(mcp_server: StdioClient, pair: dict) -> None:
    listed = mcp_server.ok("kitaru_executions_list", {"flow": "two_steps", "limit": 200})["count"]
    total = mcp_server.ok("kitaru_executions_statistics", {"flow": "two_steps"})
    assert total["groups"] == [{"count": listed}] and total["total"] == listed
    before = mcp_server.ok(
        "kitaru_executions_statistics", {"flow": "two_steps", "until": pair["since"]}
    )
    assert before["total"] == listed - 2
    # The seeded approval execution waits: "waiting" once paused, "running" while it polls.
    approval = mcp_server.ok(
        "kitaru_executions_statistics", {"flow": "approval", "group_by": ["status"]}
    )
    statuses = {g["status"]: g["count"] for g in approval["groups"]}
    assert statuses.get("waiting", 0) + statuses.get("running", 0) >= 1, statuses
    only_completed = mcp_server.ok(
        "kitaru_executions_statistics", {"status": "completed", "group_by": ["status", "flow"]}
    )
    assert {g["status"] for g in only_completed["groups"]} == {"completed"}
    completed = mcp_server.ok(
        "kitaru_executions_list", {"flow": "two_steps", "status": "completed", "limit": 200}
    )["count"]
    assert {"flow": "two_steps", "status": "completed", "count": completed} in (
        only_completed["groups"]
    )
    nothing = mcp_server.ok("kitaru_executions_statistics", {"flow": "no_such_flow"})
    assert nothing["total"] == 0


def test_statistics_bad_arguments_are_named(mcp_server: StdioClient) -> None:
    bad_time = mcp_server.error("kitaru_executions_statistics", {"since": "last tuesday"})
    assert bad_time["code"] == "invalid_argument" and bad_time["field"] == "since"
    reversed_window = mcp_server.error(
        "kitaru_executions_statistics", {"since": "2026-02-01", "until": "2026-01-01"}
    )
    assert reversed_window["field"] == "since" and "later than" in reversed_window["message"]
    bad_group = mcp_server.error("kitaru_executions_statistics", {"group_by": ["colour"]})
    assert bad_group["field"] == "group_by[0]"
    no_stack = mcp_server.error("kitaru_executions_statistics", {"stack": "no-such-stack"})
    assert no_stack["code"] == "not_found" and no_stack["field"] == "stack"


# ------------------------------------------------------------------------ diff


def test_diff_of_two_identical_runs(mcp_server: StdioClient, pair: dict) -> None:
    diff = mcp_server.ok(
        "kitaru_executions_diff", {"exec_id": pair["first"], "other_exec_id": pair["second"]}
    )
    assert diff["identical"] is True
    assert diff["inputs"] == []
    assert diff["differences"] == {
        "inputs": [],
        "checkpoint_statuses": [],
        "checkpoint_outputs": [],
    }
    assert [c["name"] for c in diff["checkpoints"]] == ["greet", "shout"]
    assert all(c["status_match"] and c["outputs_match"] for c in diff["checkpoints"])
    assert diff["outputs"] == []


def test_diff_shows_inputs_and_outputs_that_differ(mcp_server: StdioClient, pair: dict) -> None:
    diff = mcp_server.ok(
        "kitaru_executions_diff", {"exec_id": pair["seed"], "other_exec_id": pair["first"]}
    )
    assert diff["identical"] is False
    assert diff["flow"] == {"base": "two_steps", "other": "two_steps", "same": True}
    assert diff["inputs"] == [{"name": "name", "base": "seed", "other": SAME_NAME}]
    assert diff["differences"]["inputs"] == ["name"]
    assert diff["differences"]["checkpoint_statuses"] == []
    assert diff["differences"]["checkpoint_outputs"] == ["greet", "shout"]
    greet = next(o for o in diff["outputs"] if o["checkpoint"] == "greet")
    assert greet["base_preview"] == "'hello seed'"
    assert greet["other_preview"] == f"'hello {SAME_NAME}'"


def test_diff_across_flows_and_statuses(mcp_server: StdioClient, pair: dict) -> None:
    diff = mcp_server.ok(
        "kitaru_executions_diff", {"exec_id": pair["first"], "other_exec_id": pair["waiting"]}
    )
    assert diff["flow"]["same"] is False
    assert diff["status"] == {"base": "completed", "other": "waiting", "same": False}
    assert diff["identical"] is False
    assert "greet" in diff["differences"]["checkpoint_statuses"]
    greet = next(c for c in diff["checkpoints"] if c["name"] == "greet")
    # null fields of an entry are left out (the result layout)
    assert greet.get("other_status") is None and greet.get("outputs_match") is None
    assert "other_status" not in greet


def test_diff_with_an_unknown_execution(mcp_server: StdioClient, pair: dict) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    error = mcp_server.error(
        "kitaru_executions_diff", {"exec_id": pair["first"], "other_exec_id": unknown}
    )
    assert error["code"] == "not_found" and error["field"] == "other_exec_id"
    assert unknown in error["message"]


# ---------------------------------------------------------------------- cohort


def test_cohort_by_inputs(mcp_server: StdioClient, pair: dict) -> None:
    cohort = mcp_server.ok(
        "kitaru_executions_cohort", {"flow": "two_steps", "inputs": {"name": SAME_NAME}}
    )
    assert [e["exec_id"] for e in cohort["executions"]] == [pair["second"], pair["first"]]
    assert cohort["count"] == 2 and cohort["partial"] is False
    assert cohort["executions"][0]["inputs"] == {
        "name": SAME_NAME,
        "punctuation": "!",
        "delay": 0.0,
    }
    assert cohort["filtered"]["inputs"] >= 1  # the seed run at least
    newest = mcp_server.ok(
        "kitaru_executions_cohort", {"flow": "two_steps", "inputs": {"name": SAME_NAME}, "limit": 1}
    )
    assert [e["exec_id"] for e in newest["executions"]] == [pair["second"]]


def test_cohort_like_an_execution_and_at_a_checkpoint(mcp_server: StdioClient, pair) -> None:
    like = mcp_server.ok("kitaru_executions_cohort", {"same_inputs_as": pair["first"]})
    assert like["flow"] == "two_steps"
    assert like["inputs"]["name"] == SAME_NAME
    assert {e["exec_id"] for e in like["executions"]} == {pair["first"], pair["second"]}
    at = mcp_server.ok(
        "kitaru_executions_cohort",
        {"flow": "two_steps", "inputs": {"name": SAME_NAME}, "at": "shout"},
    )
    assert at["count"] == 2 and at["at"] == "shout"
    missing = mcp_server.ok(
        "kitaru_executions_cohort",
        {"flow": "two_steps", "inputs": {"name": SAME_NAME}, "at": "no_such_checkpoint"},
    )
    assert missing["count"] == 0 and missing["filtered"]["checkpoint"] == 2


def test_cohort_bad_arguments(mcp_server: StdioClient, pair: dict) -> None:
    neither = mcp_server.error("kitaru_executions_cohort", {"inputs": {"name": "x"}})
    assert neither["code"] == "invalid_argument" and neither["field"] == "flow"
    both = mcp_server.error(
        "kitaru_executions_cohort",
        {"flow": "two_steps", "inputs": {"name": "x"}, "same_inputs_as": pair["first"]},
    )
    assert both["field"] == "same_inputs_as"
    other_flow = mcp_server.error(
        "kitaru_executions_cohort", {"flow": "approval", "same_inputs_as": pair["first"]}
    )
    assert other_flow["field"] == "same_inputs_as" and "two_steps" in other_flow["message"]


# ----------------------------------------------------------------- deployments


def test_deployments_list_is_empty_on_the_local_store(mcp_server: StdioClient) -> None:
    listed = mcp_server.ok("kitaru_deployments_list")
    assert listed["deployments"] == [] and listed["count"] == 0
    assert "Kitaru server" in listed["note"] and "kitaru login" in listed["note"]
    assert mcp_server.ok("kitaru_deployments_list", {"flow": "two_steps"})["count"] == 0


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("kitaru_deployments_get", {"flow": "two_steps"}),
        ("kitaru_deployments_get", {"flow": "two_steps", "version": 1}),
        ("kitaru_deployments_deploy", {"target": "examples/two_steps.py:two_steps"}),
        ("kitaru_deployments_invoke", {"flow": "two_steps", "inputs": {"name": "x"}}),
        ("kitaru_deployments_delete", {"flow": "two_steps", "version": 1}),
        ("kitaru_deployments_tag", {"flow": "two_steps", "version": 1, "tag": "prod"}),
        ("kitaru_deployments_untag", {"flow": "two_steps", "version": 1, "tag": "prod"}),
    ],
)
def test_deployments_need_a_server(mcp_server: StdioClient, tool: str, arguments: dict) -> None:
    error = mcp_server.error(tool, arguments)
    assert error["code"] == "unsupported", error
    assert "Deployments need a Kitaru server" in error["message"]
    assert "local store" in error["message"]
    assert "kitaru login" in error["hint"] and "remotely" in error["hint"]


def test_deployment_selectors_are_checked_first(mcp_server: StdioClient) -> None:
    both = mcp_server.error(
        "kitaru_deployments_get", {"flow": "two_steps", "version": 1, "tag": "prod"}
    )
    assert both["code"] == "invalid_argument" and both["field"] == "tag"
    reserved = mcp_server.error(
        "kitaru_deployments_tag", {"flow": "f", "version": 1, "tag": "kitaru:x"}
    )
    assert reserved["field"] == "tag"
    assert mcp_server.error("kitaru_deployments_delete", {"flow": "f", "version": 0})["field"] == (
        "version"
    )


# --------------------------------------------------------------------- secrets


def test_secret_values_go_in_and_never_come_out(mcp_server: StdioClient) -> None:
    value = f"kmcp-{uuid.uuid4().hex}-value"
    name = f"surface-{uuid.uuid4().hex[:8]}"
    texts = []

    def text_of(tool: str, arguments: dict) -> dict:
        result = mcp_server.call(tool, arguments)
        texts.append(result.content[0].text)
        texts.append(json.dumps(result.structured_content))
        return json.loads(result.content[0].text)

    created = text_of("kitaru_secrets_create", {"name": name, "values": {"API_KEY": value}})
    assert created["name"] == name and created["keys"] == ["API_KEY"]
    assert created["private"] is False and created["id"]
    listed = text_of("kitaru_secrets_list", {"name_contains": name.upper()})
    assert [s["name"] for s in listed["secrets"]] == [name]
    again = text_of("kitaru_secrets_create", {"name": name, "values": {"API_KEY": value}})
    assert again["code"] == "conflict" and again["field"] == "name"
    for bad_values in (
        value,
        {"API_KEY": {"nested": value}},
        {"API_KEY": [value]},
        {"1BAD": value},
    ):
        error = text_of("kitaru_secrets_create", {"name": name + "-x", "values": bad_values})
        assert error["code"] == "invalid_argument", error
    text_of("kitaru_info", {})

    assert all(value not in text for text in texts)
    log = Path(mcp_server.errlog_path).read_text(encoding="utf-8", errors="replace")
    assert value not in log


def test_secret_create_refuses_empty_values(mcp_server: StdioClient) -> None:
    empty = mcp_server.error("kitaru_secrets_create", {"name": "surface-empty", "values": {}})
    assert empty["field"] == "values"
    blank = mcp_server.error(
        "kitaru_secrets_create", {"name": "surface-empty", "values": {"K": ""}}
    )
    assert blank["field"] == "values.K"
    names = [s["name"] for s in mcp_server.ok("kitaru_secrets_list")["secrets"]]
    assert "surface-empty" not in names


# -------------------------------------------------------------------- projects


def test_projects_on_the_local_store(mcp_server: StdioClient) -> None:
    listed = mcp_server.ok("kitaru_projects_list")
    assert listed["active"] == "default" and listed["count"] == 1
    current = mcp_server.ok("kitaru_projects_current")
    assert current["name"] == "default" and current["active"] is True
    assert mcp_server.ok("kitaru_projects_show", {"name_or_id": "default"}) == current
    assert mcp_server.ok("kitaru_projects_show", {"name_or_id": current["id"]}) == current
    missing = mcp_server.error("kitaru_projects_show", {"name_or_id": "no-such-project"})
    assert missing["code"] == "not_found" and "default" in missing["message"]
    use = mcp_server.error("kitaru_projects_use", {"name_or_id": "default"})
    assert use["code"] == "unsupported"
    assert "Pro/Cloud" in use["message"] and "kitaru login" in use["hint"]
    assert mcp_server.ok("kitaru_projects_current") == current


# ------------------------------------------------------------- info and clean


def test_info_redacts_secret_looking_variables(tmp_path: Path, kitaru_home: Path) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    env = {
        "KITARU_SURFACE_AUTH_TOKEN": token,
        "ZENML_SURFACE_PASSWORD": "pw1",  # too short for value-based redaction: the name decides
        "KITARU_SURFACE_PLAIN": "visible",
    }
    log = tmp_path / "info-server.log"
    client = StdioClient(env=env, cwd=ROOT).start(errlog_path=log)
    try:
        result = client.call("kitaru_info", {"packages": ["pydantic", "no-such-package-xyz"]})
    finally:
        client.close()
    assert token not in log.read_text(encoding="utf-8", errors="replace")
    text = result.content[0].text
    assert not result.is_error, text
    info = result.structured_content
    assert token not in text and '"pw1"' not in text
    by_name = {e["name"]: e for e in info["environment"]}
    assert by_name["KITARU_SURFACE_AUTH_TOKEN"] == {
        "name": "KITARU_SURFACE_AUTH_TOKEN",
        "value": "***",
        "redacted": True,
    }
    assert by_name["ZENML_SURFACE_PASSWORD"]["value"] == "***"
    assert by_name["KITARU_SURFACE_PLAIN"] == {
        "name": "KITARU_SURFACE_PLAIN",
        "value": "visible",
        "redacted": False,
    }
    assert info["versions"]["kitaru"].startswith("0.21.")
    assert info["versions"]["pydantic"] and info["versions"]["no-such-package-xyz"] is None
    assert info["connection"]["database"] == "sqlite"
    assert str(kitaru_home) in info["paths"]["config_directory"]
    assert info["active"] == {"user": "default", "project": "default", "stack": "default"}


def _project_root() -> Path | None:
    for folder in (ROOT, *ROOT.parents):
        if (folder / ".kitaru").is_dir():
            return folder
    return None


def test_clean_preview_lists_and_deletes_nothing(mcp_server: StdioClient, kitaru_home) -> None:
    config = kitaru_home / ".config" / "kitaru"
    before = sorted(p.name for p in config.iterdir())
    preview = mcp_server.ok("kitaru_clean_preview", {"scope": "global"})
    assert preview["deletes_nothing"] is True and preview["scope"] == "global"
    paths = {e["path"]: e for e in preview["entries"]}
    assert paths[str(config)]["type"] == "directory" and paths[str(config)]["depth"] == 0
    assert preview["total_bytes"] > 0
    assert preview["backup_path"] and not Path(preview["backup_path"]).exists()
    assert sorted(p.name for p in config.iterdir()) == before
    assert mcp_server.ok("kitaru_executions_list", {"limit": 1})["count"] == 1

    if _project_root() is None:
        error = mcp_server.error("kitaru_clean_preview", {"scope": "project"})
        assert error["code"] == "not_found" and "scope=global" in error["hint"]
    else:
        assert mcp_server.ok("kitaru_clean_preview", {"scope": "project"})["entries"]
