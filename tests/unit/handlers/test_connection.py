"""handlers.connection on a fake gateway: status shaping, URL redaction, the local server."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import connection

from kitaru_mcp.core.errors import BackendUnavailable, Conflict, Unsupported
from kitaru_mcp.gateway.connection import LocalServer
from unit.fakes_admin import FakeAdminGateway, raised

pytestmark = pytest.mark.unit


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway()


def _status(gw) -> models.KitaruStatusOutput:
    return connection.status(gw, models.KitaruStatusInput())


def test_status_on_the_local_store(admin) -> None:
    status = _status(admin)
    assert status.connection.kind == "local_store"
    assert status.connection.url.startswith("sqlite:///")
    assert status.connection.reachable is True and status.connection.error is None
    assert (status.user, status.project, status.stack) == ("default", "default", "default")
    assert status.local_server_running is False and status.local_server_url is None
    dumped = status.versions.model_dump()
    assert dumped == {"kitaru": "0.21.0", "zenml": "0.98.0", "mcp": "2.0.0", "kitaru_mcp": "0.1.0"}


def test_status_kind_follows_the_server_url_and_hides_its_credentials(admin) -> None:
    admin.snapshot.server_url = "https://bob:hunter2@kitaru.example.com/api"
    admin.snapshot.server_version = "0.98.0"
    status = _status(admin)
    assert status.connection.kind == "remote"
    assert status.connection.url == "https://***@kitaru.example.com/api"
    admin.snapshot.server_url = "http://127.0.0.1:8383"
    assert _status(admin).connection.kind == "local_server"


def test_status_reports_a_server_that_is_down_instead_of_failing(admin) -> None:
    admin.snapshot_error = BackendUnavailable("cannot reach http://u:pw@10.0.0.9:8080: refused.")
    admin.server_url = "http://u:pw@10.0.0.9:8080"
    status = _status(admin)
    assert status.connection.kind == "remote" and status.connection.reachable is False
    assert status.connection.url == "http://***@10.0.0.9:8080"
    assert "pw" not in status.connection.error and "cannot reach" in status.connection.error
    assert status.user is None and status.versions.kitaru == "0.21.0"


def test_status_shows_a_running_local_server(admin) -> None:
    admin.server = LocalServer(running=True, url="http://127.0.0.1:9000")
    status = _status(admin)
    assert (status.local_server_running, status.local_server_url) == (True, "http://127.0.0.1:9000")
    assert ("local_server", ()) in admin.calls


def test_status_reads_no_local_server_record_when_kitaru_found_none(admin) -> None:
    admin.snapshot.local_server_registered = False
    admin.server = LocalServer(running=True, url="http://127.0.0.1:9000")  # never consulted
    status = _status(admin)
    assert (status.local_server_running, status.local_server_url) == (False, None)
    assert ("local_server", ()) not in admin.calls


def _start(gw, **arguments) -> models.KitaruStartLocalServerOutput:
    return connection.start_local_server(gw, models.KitaruStartLocalServerInput(**arguments))


def test_start_then_reuse_then_stop(admin) -> None:
    started = _start(admin, port=9100)
    assert (started.url, started.action, started.already_running) == (
        "http://127.0.0.1:9100",
        "started",
        False,
    )
    assert "Started" in started.message and "Note:" not in started.message
    again = _start(admin)
    assert (again.action, again.already_running) == ("connected", True)
    other = raised(Conflict, _start, admin, port=9200)
    assert other.field == "port" and "http://127.0.0.1:9100" in other.message
    stopped = connection.stop_local_server(admin, models.KitaruStopLocalServerInput())
    assert (stopped.stopped, stopped.url) == (True, "http://127.0.0.1:9100")
    nothing = connection.stop_local_server(admin, models.KitaruStopLocalServerInput())
    assert nothing.stopped is False and "nothing to stop" in nothing.message


def test_start_refuses_a_busy_port_and_a_missing_extra(admin) -> None:
    admin.busy_ports.add(9300)
    busy = raised(Conflict, _start, admin, port=9300)
    assert busy.field == "port" and "already in use" in busy.message
    admin.missing_dependency = "ImportError"
    missing = raised(Unsupported, _start, admin)
    assert "ZenML server packages" in missing.message and "(ImportError)" in missing.message
    assert 'pip install "kitaru-mcp[local]"' in missing.hint
    assert "start_local_server" not in admin.names()


def test_url_variables_in_the_environment_are_noted(admin) -> None:
    admin.url_variables = ["KITARU_SERVER_URL"]
    message = _start(admin).message
    assert "Note: KITARU_SERVER_URL is set" in message
