"""The embedded store as the SDK would open it, found without Kitaru or ZenML.

Importing Kitaru and opening ZenML's store take seconds. While they load,
``connection()`` finds the store the SDK would open, by the SDK's own rules,
and only when nothing could make it another: no connection variable, no
repository configuration, a SQLite store that exists and is already at the
installed ZenML's schema (else the SDK must create or migrate it first, under
the store lock). It answers a SQLAlchemy engine on that file and the active
project, or None: the SDK then decides. ``store.light`` reads a listing with it.

Imports nothing of ours. Private ZenML API (pinned in
``tests/test_gateway_pins.py``): the store's layout in ``config.yaml``
(``store.type``/``store.url``, ``active_project_id``) and ZenML's version as
the schema's alembic revision.
"""

from __future__ import annotations

import os
import threading
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

# the variables that name a server to talk to, in the SDK's order of precedence
URL_VARIABLES = ("KITARU_SERVER_URL", "ZENML_STORE_URL")
# variables that choose a connection (URL_VARIABLES among them), a project or a
# repository: with any of them set, the SDK decides
_ENV_PREFIXES = (
    "ZENML_STORE_",
    "ZENML_SERVER",
    "ZENML_ACTIVE_",
    "ZENML_PROJECT",
    "ZENML_REPOSITORY_PATH",
    "KITARU_SERVER",
    "KITARU_STORE",
    "KITARU_PROJECT",
    "KITARU_AUTH",
)
REPOSITORY_MARKER = ".kitaru"  # kitaru._env.KITARU_REPOSITORY_DIRECTORY_NAME (ZenML's is .zen)
_engines: dict[str, Any] = {}
_lock = threading.Lock()


def config_dir() -> Path:
    """Kitaru's configuration folder, as Kitaru resolves it (portable)."""
    for name in ("KITARU_CONFIG_PATH", "ZENML_CONFIG_PATH"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    import click

    return Path(click.get_app_dir("kitaru"))


def _configured_elsewhere() -> bool:
    """Whether a variable or a repository's configuration could point the SDK elsewhere."""
    if any(name.startswith(_ENV_PREFIXES) and value for name, value in os.environ.items()):
        return True
    markers = {REPOSITORY_MARKER, ".zen", os.environ.get("ZENML_REPOSITORY_DIRECTORY_NAME")}
    here = Path.cwd()
    return any(
        (folder / marker).is_dir()
        for folder in (here, *here.parents)
        for marker in markers
        if marker
    )


def read_config(folder: Path | None = None) -> dict[str, Any]:
    """Kitaru's ``config.yaml`` (in ``folder``, else ``config_dir()``) as a mapping; {} when
    it is missing or unreadable."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: 0.1 ms, not 0.7
    try:
        text = ((folder or config_dir()) / "config.yaml").read_text("utf-8")
        loaded = yaml.load(text, Loader=loader)  # a safe loader, C or Python
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def store_section(config: dict[str, Any]) -> dict[str, Any]:
    """The ``store`` section of a loaded ``config.yaml`` ({} when there is none)."""
    store = config.get("store")
    return store if isinstance(store, dict) else {}


def configured_url() -> str | None:
    """The store URL in ``config.yaml`` when nothing could make the SDK's another (no
    connection variable, no repository); None when it is not there or the SDK decides."""
    if _configured_elsewhere():
        return None
    url = store_section(read_config()).get("url")
    return url if isinstance(url, str) and url else None


def _schema_current(engine: Any) -> bool:
    from sqlalchemy import text

    with engine.connect() as conn:
        versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return versions == [metadata.version("zenml")]


def connection() -> tuple[Any, uuid.UUID] | None:
    """(engine, active project id) of the embedded store, or None to leave it to the SDK."""
    if _configured_elsewhere():
        return None
    config = read_config()
    store = store_section(config)
    try:
        url = str(store["url"])
        project = uuid.UUID(str(config["active_project_id"]))
    except (KeyError, TypeError, ValueError):
        return None
    if store.get("type") != "sql" or not url.startswith("sqlite:///"):
        return None
    if not Path(url.removeprefix("sqlite:///")).is_file():
        return None  # a store to create: the SDK's work, under the store lock
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            from sqlalchemy import create_engine

            engine = create_engine(url, connect_args={"check_same_thread": False})
            if not _schema_current(engine):
                engine.dispose()
                return None
            _engines[url] = engine
    return engine, project
