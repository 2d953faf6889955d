"""The listing read before Kitaru loads (``gateway.embedded``, ``gateway.store.light``), on
a small SQLite file laid out as ZenML's store: what it answers, and every case it leaves
to the SDK."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from kitaru_mcp.gateway import embedded
from kitaru_mcp.gateway.store import light, summaries

pytestmark = pytest.mark.unit

PROJECT = uuid.UUID(int=1)
OTHER_PROJECT = uuid.UUID(int=2)
SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32));
CREATE TABLE pipeline (id CHAR(32), project_id CHAR(32), name VARCHAR);
CREATE TABLE stack (id CHAR(32), name VARCHAR);
CREATE TABLE pipeline_snapshot (id CHAR(32), stack_id CHAR(32));
CREATE TABLE run_wait_condition (id CHAR(32), run_id CHAR(32), status VARCHAR);
CREATE TABLE pipeline_run (
    id CHAR(32), project_id CHAR(32), pipeline_id CHAR(32), snapshot_id CHAR(32),
    stack_id CHAR(32), original_run_id CHAR(32), status VARCHAR, created DATETIME,
    start_time DATETIME, end_time DATETIME
);
"""


def _id(n: int) -> str:
    return uuid.UUID(int=n).hex  # ZenML's CHAR(32) form


def _store(folder: Path, *, version: str | None = None, url: str | None = None) -> Path:
    """A config folder whose config.yaml points at a SQLite file with four runs."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "zenml.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA)
        conn.execute(
            "INSERT INTO alembic_version VALUES (?)", (version or metadata.version("zenml"),)
        )
        conn.execute("INSERT INTO pipeline VALUES (?, ?, 'greet')", (_id(10), PROJECT.hex))
        conn.execute(
            "INSERT INTO pipeline VALUES (?, ?, '__kitaru_pipeline_source_greet')",
            (_id(11), PROJECT.hex),
        )
        conn.execute("INSERT INTO stack VALUES (?, 'default')", (_id(20),))
        conn.execute("INSERT INTO pipeline_snapshot VALUES (?, ?)", (_id(30), _id(20)))
        runs = [  # id, pipeline, status, created
            (101, 10, "completed", "2026-12-01 10:00:00"),
            (102, 11, "running", "2026-12-01 10:01:00"),  # with a pending wait: waiting
            (103, 10, "paused", "2026-12-01 10:02:00"),  # Kitaru's waiting too
            (104, 10, "retried", "2026-12-01 10:03:00"),  # Kitaru's failed
        ]
        for run, pipeline, status, created in runs:
            conn.execute(
                "INSERT INTO pipeline_run VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?, NULL)",
                (_id(run), PROJECT.hex, _id(pipeline), _id(30), status, created, created),
            )
        conn.execute(
            "INSERT INTO pipeline_run VALUES"
            " (?, ?, ?, NULL, NULL, NULL, 'completed', ?, NULL, NULL)",
            (_id(199), OTHER_PROJECT.hex, _id(10), "2026-12-01 11:00:00"),
        )
        conn.execute("INSERT INTO run_wait_condition VALUES (?, ?, 'pending')", (_id(40), _id(102)))
    store_url = url or f"sqlite:///{db}"
    (folder / "config.yaml").write_text(
        f"active_project_id: {PROJECT}\nstore:\n  type: sql\n  url: {store_url}\n"
    )
    return folder


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ZENML_CONFIG_PATH", "KITARU_SERVER_URL", "ZENML_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(embedded, "_engines", {})
    folder = tmp_path / "config"
    monkeypatch.setenv("KITARU_CONFIG_PATH", str(folder))
    return folder


def test_a_page_is_read_with_kitarus_names_and_statuses(config: Path) -> None:
    _store(config)
    found = embedded.connection()
    assert found is not None and found[1] == PROJECT
    rows = summaries.list_summaries(*found, flow=None, status=None, limit=10, tables=light.table)
    listed = [(s["exec_id"], s["flow"], s["status"], s["stack"]) for s, _ in rows]
    assert listed == [
        (str(uuid.UUID(int=104)), "greet", "failed", "default"),
        (str(uuid.UUID(int=103)), "greet", "waiting", "default"),
        (str(uuid.UUID(int=102)), "greet", "waiting", "default"),
        (str(uuid.UUID(int=101)), "greet", "completed", "default"),
    ]  # newest first, the other project's run left out, the alias name shown plainly
    assert rows[3][0]["started_at"] == "2026-12-01T10:00:00"
    waiting = summaries.list_summaries(
        *found, flow="greet", status="waiting", limit=10, tables=light.table
    )
    assert [s["exec_id"] for s, _ in waiting] == [str(uuid.UUID(int=n)) for n in (103, 102)]


@pytest.mark.parametrize(
    "variable",
    ["KITARU_SERVER_URL", "ZENML_STORE_URL", "KITARU_PROJECT", "ZENML_ACTIVE_PROJECT_ID"],
)
def test_a_connection_variable_leaves_it_to_the_sdk(
    config: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    _store(config)
    monkeypatch.setenv(variable, "x")
    assert embedded.connection() is None


@pytest.mark.parametrize("marker", [".kitaru", ".zen"])
def test_a_repository_configuration_leaves_it_to_the_sdk(
    config: Path, tmp_path: Path, marker: str
) -> None:
    _store(config)
    (tmp_path / marker).mkdir()
    assert embedded.connection() is None


def test_a_schema_from_another_zenml_leaves_it_to_the_sdk(config: Path) -> None:
    _store(config, version="0.1.0")  # the SDK migrates it first
    assert embedded.connection() is None


def test_no_store_file_yet_leaves_it_to_the_sdk(config: Path, tmp_path: Path) -> None:
    _store(config, url=f"sqlite:///{tmp_path / 'not-yet.db'}")
    assert embedded.connection() is None


def test_a_server_connection_leaves_it_to_the_sdk(config: Path) -> None:
    _store(config, url="https://kitaru.example.test")
    assert embedded.connection() is None


@pytest.mark.parametrize("text", ["", ": not yaml: [", "store: 3\n", "active_project_id: nope\n"])
def test_an_odd_configuration_leaves_it_to_the_sdk(config: Path, text: str) -> None:
    _store(config)
    (config / "config.yaml").write_text(text)
    assert embedded.connection() is None


def test_the_configuration_folder_is_found_by_kitarus_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kitaru's: KITARU_CONFIG_PATH, ZENML_CONFIG_PATH, else click's folder for "kitaru"
    (XDG_CONFIG_HOME on Linux, ~/Library/Application Support on macOS); doctor agrees."""
    import click

    from kitaru_mcp.clients import doctor

    for name in ("KITARU_CONFIG_PATH", "ZENML_CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert embedded.config_dir() == Path(click.get_app_dir("kitaru"))
    assert doctor.config_dir() == embedded.config_dir()
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(tmp_path / "zen"))
    assert doctor.config_dir() == tmp_path / "zen"
    monkeypatch.setenv("KITARU_CONFIG_PATH", str(tmp_path / "kit"))
    assert embedded.config_dir() == tmp_path / "kit"


def test_a_call_decides_once_whether_kitaru_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``in_call`` asks ``embedded`` once per call (not again for the listing, nor for a
    nested hold), and a call answered without Kitaru neither creates the store nor reloads."""
    from kitaru_mcp.gateway import session

    asked: list[int] = []
    found = (object(), uuid.uuid4())

    def decide() -> object:
        asked.append(1)
        return found

    def never() -> None:
        raise AssertionError("a call answered before Kitaru touched the SDK")

    monkeypatch.setattr(session, "_light_store", decide)
    monkeypatch.setattr(session, "ensure_store", never)
    monkeypatch.setattr(session, "_reload_if_changed", never)
    with session.in_call():
        assert session.light_store() is found
        with session.in_call():
            assert session.light_store() is found
        assert session.light_store() is found
    assert len(asked) == 1
    with session.in_call():
        assert session.light_store() is found
    assert len(asked) == 2


def test_the_missing_store_is_looked_for_in_kitarus_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Kitaru keeps its local stores, whatever our state folder is (before: beside
    ``~/.config/kitaru/mcp``, wrong on macOS and with ZENML_CONFIG_PATH alone)."""
    from kitaru_mcp.gateway import backend

    for name in ("KITARU_CONFIG_PATH", *embedded.URL_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(tmp_path / "zen"))
    monkeypatch.setenv("KITARU_MCP_STATE_DIR", str(tmp_path / "elsewhere" / "mcp"))
    assert backend.local_store_missing()
    (tmp_path / "zen" / "local_stores").mkdir(parents=True)
    assert not backend.local_store_missing()
    monkeypatch.setenv("KITARU_SERVER_URL", "https://kitaru.example.test")
    (tmp_path / "zen" / "local_stores").rmdir()
    assert not backend.local_store_missing()  # a server: nothing to create here


def test_the_server_url_is_read_from_config_yaml_without_zenml(config: Path) -> None:
    from kitaru_mcp.gateway import backend

    _store(config, url="https://kitaru.example.com/")
    assert embedded.configured_url() == "https://kitaru.example.com/"
    assert backend.server_url() == "https://kitaru.example.com"  # as the SDK's, trimmed


def test_a_local_store_in_config_yaml_has_no_server_url(config: Path) -> None:
    from kitaru_mcp.gateway import backend

    _store(config)
    assert (embedded.configured_url() or "").startswith("sqlite:///")
    assert backend.server_url() is None


def test_a_variable_or_a_missing_file_leaves_the_url_to_the_sdk(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert embedded.configured_url() is None  # no config.yaml yet
    _store(config, url="https://kitaru.example.com")
    monkeypatch.setenv("ZENML_STORE_API_KEY", "x")  # could point the SDK elsewhere
    assert embedded.configured_url() is None


def test_a_current_store_is_first_opened_without_the_lock(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the installed schema nothing is created or migrated: no process waits for another's
    first access, and one with a single thread skips ZenML's migration check."""
    from kitaru_mcp.gateway import store_lock

    locked: list[bool] = []
    monkeypatch.setattr(store_lock, "store_lock", lambda: _noting(locked))
    monkeypatch.delenv(store_lock.MIGRATIONS_OFF_ENV, raising=False)
    monkeypatch.setattr(store_lock.threading, "active_count", lambda: 1)
    _store(config)
    with store_lock._first_access():
        assert os.environ[store_lock.MIGRATIONS_OFF_ENV] == "true"
    assert store_lock.MIGRATIONS_OFF_ENV not in os.environ and locked == []

    monkeypatch.setattr(store_lock.threading, "active_count", lambda: 3)  # a server
    with store_lock._first_access():
        assert store_lock.MIGRATIONS_OFF_ENV not in os.environ
    assert locked == []


def test_a_store_to_migrate_is_first_opened_under_the_lock(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitaru_mcp.gateway import store_lock

    locked: list[bool] = []
    monkeypatch.setattr(store_lock, "store_lock", lambda: _noting(locked))
    monkeypatch.setattr(store_lock.threading, "active_count", lambda: 1)
    _store(config, version="0.1.0")
    with store_lock._first_access():
        assert store_lock.MIGRATIONS_OFF_ENV not in os.environ  # ZenML migrates it
    assert locked == [True]


def _noting(locked: list[bool]) -> Any:
    """A stand-in for the store lock that notes it was taken."""
    locked.append(True)
    return contextlib.nullcontext()
