"""handlers.deployments on a fake gateway: `unsupported` on the local store, selectors."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import deployments

from kitaru_mcp.core.errors import InvalidArgument, NotFound, Unsupported
from unit.fakes import execution
from unit.fakes_admin import FakeAdminGateway, deployment, raised

pytestmark = pytest.mark.unit


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway([execution("abcd0001", flow="two_steps", status="running")])


@pytest.fixture
def server(admin) -> FakeAdminGateway:
    admin.local_store = False
    admin.deployments = [
        deployment("two_steps", 1, tags=["default"]),
        deployment("two_steps", 2, tags=["canary"]),
    ]
    return admin


def test_list_on_the_local_store_explains_what_to_set_up(admin) -> None:
    listed = deployments.list_deployments(admin, models.KitaruDeploymentsListInput())
    assert listed.deployments == [] and listed.count == 0
    assert "Kitaru server" in listed.note and "kitaru login" in listed.note


def test_list_on_a_server(server) -> None:
    listed = deployments.list_deployments(server, models.KitaruDeploymentsListInput(limit=1))
    assert [d.version for d in listed.deployments] == [1] and listed.has_more is True
    none = deployments.list_deployments(server, models.KitaruDeploymentsListInput(flow="other"))
    assert none.note == "No deployments of flow 'other': create one with kitaru_deployments_deploy."


@pytest.mark.parametrize(
    ("call", "params"),
    [
        (deployments.get_deployment, models.KitaruDeploymentsGetInput(flow="two_steps")),
        (deployments.invoke, models.KitaruDeploymentsInvokeInput(flow="two_steps")),
        (deployments.delete, models.KitaruDeploymentsDeleteInput(flow="two_steps", version=1)),
        (
            deployments.tag,
            models.KitaruDeploymentsTagInput(flow="two_steps", version=1, tag="prod"),
        ),
        (
            deployments.untag,
            models.KitaruDeploymentsUntagInput(flow="two_steps", version=1, tag="prod"),
        ),
        (
            deployments.deploy,
            models.KitaruDeploymentsDeployInput(target="examples/two_steps.py:two_steps"),
        ),
    ],
)
def test_every_call_but_list_is_unsupported_on_the_local_store(admin, call, params) -> None:
    refused = raised(Unsupported, call, admin, params)
    assert "Deployments need a Kitaru server" in refused.message
    assert "local store" in refused.message
    assert "kitaru login" in refused.hint and "remotely" in refused.hint
    assert "deploy" not in admin.names() and "invoke_deployment" not in admin.names()


def test_version_and_tag_together_are_refused_first(admin) -> None:
    params = models.KitaruDeploymentsGetInput(flow="two_steps", version=1, tag="prod")
    both = raised(InvalidArgument, deployments.get_deployment, admin, params)
    assert both.field == "tag"
    assert "get_deployment" not in admin.names()


def test_get_defaults_to_the_default_tag(server) -> None:
    got = deployments.get_deployment(server, models.KitaruDeploymentsGetInput(flow="two_steps"))
    assert got.version == 1 and server.calls[-1] == (
        "get_deployment",
        ("two_steps", None, "default"),
    )
    canary = models.KitaruDeploymentsGetInput(flow="two_steps", tag="canary")
    assert deployments.get_deployment(server, canary).version == 2


def test_a_miss_on_a_server_is_not_found_with_a_hint(server) -> None:
    params = models.KitaruDeploymentsGetInput(flow="two_steps", version=9)
    missing = raised(NotFound, deployments.get_deployment, server, params)
    assert missing.field == "flow" and "kitaru_deployments_list" in missing.hint


def test_invoke_returns_the_new_execution(server) -> None:
    params = models.KitaruDeploymentsInvokeInput(flow="two_steps", inputs={"name": "x"})
    invoked = deployments.invoke(server, params)
    assert (invoked.exec_id, invoked.tag, invoked.version) == ("abcd0001", "default", None)
    assert invoked.execution.status == "running"


def test_deploy_tags_default_exclusively_and_others_as_asked(server) -> None:
    target = "examples/two_steps.py:two_steps"
    deployed = deployments.deploy(server, models.KitaruDeploymentsDeployInput(target=target))
    assert deployed.version == 3
    assert server.calls[-1] == ("deploy", (target, None, {"default": True}, {}))
    deployments.deploy(
        server, models.KitaruDeploymentsDeployInput(target=target, tag="canary", stack="k8s")
    )
    assert server.calls[-1] == ("deploy", (target, "k8s", {"canary": False}, {}))


def test_tag_untag_delete_on_a_server(server) -> None:
    tagged = deployments.tag(
        server, models.KitaruDeploymentsTagInput(flow="two_steps", version=2, tag="prod")
    )
    assert {t.tag for t in tagged.tags} == {"canary", "prod"}
    untagged = deployments.untag(
        server, models.KitaruDeploymentsUntagInput(flow="two_steps", version=2, tag="canary")
    )
    assert [t.tag for t in untagged.tags] == ["prod"]
    deleted = deployments.delete(
        server, models.KitaruDeploymentsDeleteInput(flow="two_steps", version=2)
    )
    assert deleted.deleted is True and [d["version"] for d in server.deployments] == [1]


def test_invoke_checks_inputs_against_the_deployments_schema_first(server) -> None:
    server.deployments[0]["input_schema"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "delay": {"type": "number"}},
        "required": ["name"],
    }
    cases = [({"name": 5}, "inputs.name"), ({"nmae": "x"}, "inputs.nmae"), ({}, "inputs.name")]
    for inputs, field in cases:
        params = models.KitaruDeploymentsInvokeInput(flow="two_steps", inputs=inputs)
        failure = raised(InvalidArgument, deployments.invoke, server, params)
        assert failure.field == field and "'two_steps' v1" in failure.message
    assert "invoke_deployment" not in [name for name, _ in server.calls]
    ok = models.KitaruDeploymentsInvokeInput(flow="two_steps", inputs={"name": "x", "delay": 1})
    assert deployments.invoke(server, ok).exec_id == "abcd0001"
