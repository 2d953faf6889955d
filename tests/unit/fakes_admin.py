"""A fake gateway for the admin areas: connection, stacks, projects, secrets,
deployments and environment, held in memory, every call recorded."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from kitaru_mcp.core.errors import NotFound, Unsupported
from kitaru_mcp.gateway.connection import LocalServer, LocalServerAction, RuntimeSnapshot
from kitaru_mcp.gateway.environment import CleanupPreview
from unit.fakes import FakeGateway

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import Deployment, Project, SecretSummary, Stack

DEFAULT_PROJECT_ID = "5f1e0c2a-0000-4000-8000-000000000001"


def stack(name: str, *, managed: bool = True) -> dict[str, Any]:
    """A stack in the Stack shape, with Kitaru's two local components."""
    return {
        "name": name,
        "id": f"id-{name}",
        "active": False,
        "components": [
            {"type": "artifact_store", "name": name, "flavor": "local"},
            {"type": "orchestrator", "name": name, "flavor": "local"},
        ],
        "managed": managed,  # fake-only: Kitaru-created stacks lose their components
    }


class FakeAdminGateway(FakeGateway):
    """The executions of FakeGateway plus stacks, projects, secrets, deployments..."""

    def __init__(self, executions: list[dict[str, Any]] | None = None) -> None:
        super().__init__(executions)
        # Any: the ports check the methods, the models the shapes
        self.stacks: dict[str, Any] = {
            s["name"]: s for s in (stack("default", managed=False), stack("prod"))
        }
        self.active = "default"
        self.projects: list[Any] = [
            {
                "id": DEFAULT_PROJECT_ID,
                "name": "default",
                "display_name": "Default",
                "description": None,
                "active": True,
            }
        ]
        self.multi_project = False
        self.secrets: dict[str, dict[str, Any]] = {}
        self.secret_error: BaseException | None = None
        self.local_store = True
        self.deployments: list[Any] = []
        self.snapshot = RuntimeSnapshot(
            connection="local",
            connection_target="sqlite:////home/u/.config/kitaru/local_stores/default/zenml.db",
            server_database="sqlite",
            active_user="default",
            active_project="default",
            active_stack="default",
            config_directory="/home/u/.config/kitaru",
            local_server_status="not started",
            system_info={"os": "linux"},
        )
        self.snapshot_error: BaseException | None = None
        self.server_url: str | None = None
        self.url_variables: list[str] = []
        self.server = LocalServer()
        self.missing_dependency: str | None = None
        self.busy_ports: set[int] = set()
        self.cleanup: CleanupPreview | None = CleanupPreview(scope="all")

    # --- connection / environment -------------------------------------------------

    def versions(self, packages=()) -> dict[str, str | None]:
        found: dict[str, str | None] = {
            "kitaru": "0.21.0",
            "zenml": "0.98.0",
            "mcp": "2.0.0",
            "kitaru_mcp": "0.1.0",
            "python": "3.11.9",
        }
        found.update({name: "1.0" if name == "pydantic" else None for name in packages})
        return found

    def runtime_snapshot(self) -> RuntimeSnapshot:
        self.calls.append(("runtime_snapshot", ()))
        if self.snapshot_error is not None:
            raise self.snapshot_error
        return copy.deepcopy(self.snapshot)

    def configured_server_url(self) -> str | None:
        return self.server_url

    def url_variables_set(self) -> list[str]:
        return list(self.url_variables)

    def local_server(self) -> LocalServer:
        self.calls.append(("local_server", ()))
        return copy.copy(self.server)

    def local_server_missing_dependency(self) -> str | None:
        return self.missing_dependency

    def port_free(self, port: int) -> bool:
        return port not in self.busy_ports

    def start_local_server(self, port, timeout_s) -> LocalServerAction:
        self.calls.append(("start_local_server", (port, timeout_s)))
        if self.server.running:
            return LocalServerAction(url=self.server.url, action="connected")
        self.server = LocalServer(running=True, url=f"http://127.0.0.1:{port or 8383}")
        return LocalServerAction(url=self.server.url, action="started")

    def stop_local_server(self) -> LocalServerAction:
        self.calls.append(("stop_local_server", ()))
        url, stopped = self.server.url, self.server.url is not None
        self.server = LocalServer()
        return LocalServerAction(url=url, action="stopped", stopped=stopped)

    def cleanup_preview(self, scope: str) -> CleanupPreview | None:
        self.calls.append(("cleanup_preview", (scope,)))
        if self.cleanup is None:
            return None
        return CleanupPreview(**{**self.cleanup.__dict__, "scope": scope})

    # --- stacks ---------------------------------------------------------------------

    def _public(self, entry: dict[str, Any]) -> Any:
        shaped = {k: copy.deepcopy(v) for k, v in entry.items() if k != "managed"}
        return {**shaped, "active": entry["name"] == self.active}

    def list_stacks(self) -> list[Stack]:
        return [self._public(s) for s in reversed(list(self.stacks.values()))]

    def active_stack(self) -> str:
        return self.active

    def find_stack(self, name: str) -> Stack | None:
        return self._public(self.stacks[name]) if name in self.stacks else None

    def create_stack(self, name: str, activate: bool) -> None:
        self.calls.append(("create_stack", (name, activate)))
        self.stacks[name] = stack(name)
        if activate:
            self.active = name

    def delete_stack(self, name: str, force: bool) -> list[str]:
        self.calls.append(("delete_stack", (name, force)))
        gone = self.stacks.pop(name)
        if self.active == name:
            self.active = "default"
        if not gone["managed"]:
            return []
        return [f"{c['name']} ({c['type']})" for c in gone["components"]]

    # --- projects -------------------------------------------------------------------

    def list_projects(self) -> list[Project]:
        return copy.deepcopy(self.projects)

    def current_project(self) -> Project:
        return copy.deepcopy(next(p for p in self.projects if p["active"]))

    def get_project(self, name_or_id: str) -> Project:
        """Like ZenML: a name, a full id or a unique id prefix."""
        matches = [
            p
            for p in self.projects
            if name_or_id in (p["name"], p["id"]) or str(p["id"]).startswith(name_or_id)
        ]
        if len(matches) != 1:
            raise NotFound(f"No project {name_or_id!r}.", field="name_or_id")
        return copy.deepcopy(matches[0])

    def use_project(self, name_or_id: str) -> Project:
        if not self.multi_project:
            raise Unsupported("Switching projects needs a ZenML Pro/Cloud workspace.")
        chosen = self.get_project(name_or_id)
        for project in self.projects:
            project["active"] = project["id"] == chosen["id"]
        return self.get_project(chosen["id"])

    # --- secrets --------------------------------------------------------------------

    def list_secrets(self) -> list[SecretSummary]:
        return [
            {"name": s["name"], "id": s["id"], "private": s["private"]}
            for s in self.secrets.values()
        ]

    def create_secret(self, name: str, values: dict[str, str], private: bool) -> SecretSummary:
        self.calls.append(("create_secret", (name, sorted(values), private)))
        if self.secret_error is not None:
            raise self.secret_error
        self.secrets[name] = {
            "name": name,
            "id": f"sec-{len(self.secrets):04d}",
            "private": private,
            "values": dict(values),  # held, never handed back
        }
        return {"name": name, "id": self.secrets[name]["id"], "private": private}

    # --- deployments ----------------------------------------------------------------

    def on_local_store(self) -> bool:
        return self.local_store

    def _find_deployment(self, flow, version=None, tag=None) -> Any:
        for d in self.deployments:
            tags = {t["tag"] for t in d["tags"]}
            if d["flow"] == flow and (version == d["version"] or (tag and tag in tags)):
                return d
        raise NotFound(f"No deployment of flow {flow!r} (version={version}, tag={tag}).")

    def list_deployments(self, flow=None) -> list[Deployment]:
        return [copy.deepcopy(d) for d in self.deployments if flow in (None, d["flow"])]

    def get_deployment(self, flow, version, tag) -> Deployment:
        self.calls.append(("get_deployment", (flow, version, tag)))
        return copy.deepcopy(self._find_deployment(flow, version, tag))

    def deploy(self, target, *, stack, tags, inputs) -> Deployment:
        self.calls.append(("deploy", (target, stack, tags, inputs)))
        flow = target.rpartition(":")[2]
        version = 1 + sum(d["flow"] == flow for d in self.deployments)
        created = deployment(flow, version, tags=sorted(tags))
        self.deployments.append(created)
        return copy.deepcopy(created)

    def invoke_deployment(self, flow, version, tag, inputs) -> str:
        self.calls.append(("invoke_deployment", (flow, version, tag, inputs)))
        self._find_deployment(flow, version, tag)
        return next(iter(self.executions))

    def delete_deployment(self, flow, version) -> None:
        self.calls.append(("delete_deployment", (flow, version)))
        self.deployments.remove(self._find_deployment(flow, version))

    def tag_deployment(self, flow, version, tag, exclusive) -> Deployment:
        self.calls.append(("tag_deployment", (flow, version, tag, exclusive)))
        found = self._find_deployment(flow, version)
        found["tags"].append({"tag": tag, "exclusive": exclusive})
        return copy.deepcopy(found)

    def untag_deployment(self, flow, version, tag) -> Deployment:
        self.calls.append(("untag_deployment", (flow, version, tag)))
        found = self._find_deployment(flow, version)
        found["tags"] = [t for t in found["tags"] if t["tag"] != tag]
        return copy.deepcopy(found)


def deployment(flow: str, version: int, *, tags: Sequence[str] = ()) -> Any:
    """One deployment version in the Deployment shape."""
    return {
        "flow": flow,
        "version": version,
        "deployment_id": f"dep-{flow}-{version}",
        "tags": [{"tag": t, "exclusive": t == "default"} for t in tags],
        "stack": "remote",
        "created_at": "2026-01-01T00:00:00+00:00",
        "commit_sha": None,
        "commit_dirty": None,
        "image_digest": None,
        "input_schema": None,
    }


def raised(kind: type[BaseException], call: Any, *args: Any, **kwargs: Any) -> Any:
    """The exception of ``kind`` that ``call(*args, **kwargs)`` raises (fails otherwise)."""
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    return caught.value


if TYPE_CHECKING:  # mypy: the fake offers what the gateway's ports say, with their signatures
    from kitaru_mcp.gateway.ports import (
        ConnectionPort,
        DeploymentsPort,
        EnvironmentPort,
        ProjectsPort,
        SecretsPort,
        StacksPort,
    )

    _connection: ConnectionPort = FakeAdminGateway()
    _stacks: StacksPort = FakeAdminGateway()
    _projects: ProjectsPort = FakeAdminGateway()
    _secrets: SecretsPort = FakeAdminGateway()
    _deployments: DeploymentsPort = FakeAdminGateway()
    _environment: EnvironmentPort = FakeAdminGateway()
