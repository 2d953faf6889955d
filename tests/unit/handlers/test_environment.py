"""handlers.environment on a fake gateway: info's redaction and the clean preview."""

from __future__ import annotations

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import environment

from kitaru_mcp.core.errors import NotFound
from kitaru_mcp.gateway.environment import CleanupPreview
from unit.fakes_admin import FakeAdminGateway, raised

pytestmark = pytest.mark.unit


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway()


def test_info_hides_secret_looking_variables(admin, monkeypatch) -> None:
    monkeypatch.setenv("KITARU_UNIT_AUTH_TOKEN", "tok-unit-0123456789")
    monkeypatch.setenv("ZENML_UNIT_PASSWORD", "pw1")
    monkeypatch.setenv("KITARU_UNIT_PLAIN", "visible")
    monkeypatch.setenv("OTHER_UNIT_PLAIN", "not listed")
    info = environment.info(admin, models.KitaruInfoInput(packages=["pydantic", "nope-xyz"]))
    by_name = {e.name: e.model_dump() for e in info.environment}
    assert by_name["KITARU_UNIT_AUTH_TOKEN"] == {
        "name": "KITARU_UNIT_AUTH_TOKEN",
        "value": "***",
        "redacted": True,
    }
    assert by_name["ZENML_UNIT_PASSWORD"]["value"] == "***"
    assert by_name["KITARU_UNIT_PLAIN"]["value"] == "visible"
    assert "OTHER_UNIT_PLAIN" not in by_name
    assert "tok-unit-0123456789" not in info.model_dump_json()
    versions = info.versions
    assert versions["python"] == "3.11.9" and versions["pydantic"] == "1.0"
    assert versions["nope-xyz"] is None


def test_info_shapes_the_snapshot_and_redacts_urls(admin) -> None:
    admin.snapshot.server_url = "https://bob:hunter2@kitaru.example.com"
    admin.snapshot.warning = "server at https://bob:hunter2@kitaru.example.com is slow"
    info = environment.info(admin, models.KitaruInfoInput())
    assert info.connection.server_url == "https://***@kitaru.example.com"
    assert info.warnings == ["server at https://***@kitaru.example.com is slow"]
    assert info.connection.database == "sqlite"
    assert info.active.model_dump() == {"user": "default", "project": "default", "stack": "default"}
    assert info.paths.config_directory == "/home/u/.config/kitaru"
    assert info.system == {"os": "linux"}


def test_clean_preview_shapes_and_bounds_the_plan(admin) -> None:
    entries = [
        {"path": f"/c/{i}", "type": "file", "size_bytes": 1, "note": None, "depth": 1}
        for i in range(250)
    ]
    admin.cleanup = CleanupPreview(
        scope="global", entries=entries, total_bytes=250, backup_path="/c.bak", warnings=["w"]
    )
    preview = environment.clean_preview(admin, models.KitaruCleanPreviewInput(scope="global"))
    assert preview.deletes_nothing is True and preview.scope == "global"
    assert len(preview.entries) == 200 and preview.truncated is True
    assert (preview.total_bytes, preview.backup_path, preview.warnings) == (250, "/c.bak", ["w"])
    assert admin.calls[-1] == ("cleanup_preview", ("global",))
    environment.clean_preview(admin, models.KitaruCleanPreviewInput())
    assert admin.calls[-1] == ("cleanup_preview", ("all",))


def test_clean_preview_without_a_project_is_not_found(admin) -> None:
    admin.cleanup = None
    missing = raised(
        NotFound, environment.clean_preview, admin, models.KitaruCleanPreviewInput(scope="project")
    )
    assert missing.field == "scope" and "scope=global" in missing.hint
