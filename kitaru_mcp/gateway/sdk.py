"""The bottom of the gateway: importing Kitaru, and ZenML's configuration file.

Imports nothing of ours but ``core.collector``. Importing this module imports
neither Kitaru nor ZenML; ``import_sdk()`` does, once per process, with the
garbage collector paused.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time

from kitaru_mcp.core import collector

_import_lock = threading.Lock()
SETTLE_S = 0.02  # how long a rewrite of the configuration file is given to finish


def import_sdk() -> None:
    """Import Kitaru and ZenML's client once per process; threads that arrive meanwhile wait.

    Two threads importing ZenML at once (e.g. the reaper and a tool call) can see
    a half-initialised module; one lock around the first import prevents that.
    """
    if "kitaru.client" in sys.modules and not _import_lock.locked():
        return
    with _import_lock, collector.paused():
        import kitaru
        import kitaru.client  # noqa: F401
        import zenml.client  # noqa: F401


def imported() -> bool:
    """Whether Kitaru and ZenML's client are imported in this process (nothing waits)."""
    return "kitaru.client" in sys.modules and not _import_lock.locked()


def config_path() -> str:
    """ZenML's global configuration file (Kitaru's connection and active stack live there)."""
    from zenml.utils.io_utils import get_global_config_directory

    return os.path.join(get_global_config_directory(), "config.yaml")


def read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def digest(content: bytes | None) -> str | None:
    """The configuration's fingerprint (ZenML rewrites the file unchanged on every load)."""
    return hashlib.sha256(content).hexdigest() if content is not None else None


def settled(path: str, content: bytes | None) -> bool:
    """Whether the file is whole: a YAML mapping that reads the same a moment later.

    ZenML rewrites the file in place (no atomic rename) whenever a process loads it, so
    a runner starting meanwhile can leave it half written for a moment; reloading then
    would parse a torn file (or, empty, make ZenML write a fresh configuration).
    """
    if not content:
        return False
    time.sleep(SETTLE_S)
    if read(path) != content:
        return False
    import yaml

    try:
        values = yaml.safe_load(content)
    except yaml.YAMLError:
        return False
    # ZenML writes its keys sorted and ``version`` sorts last: a file cut short lacks it
    return isinstance(values, dict) and "version" in values


def wait_until_whole(path: str, timeout_s: float = 2.0) -> bool:
    """Wait (at most ``timeout_s``) until the configuration file is whole (``settled``);
    a missing file has nothing to wait for."""
    deadline = time.monotonic() + timeout_s
    while (content := read(path)) is not None and not settled(path, content):
        if time.monotonic() > deadline:
            return False
    return True


def reset_singletons() -> None:
    """Make ZenML load its configuration afresh on next use.

    Private API: ZenML's ``GlobalConfiguration._reset_instance`` and
    ``Client._reset_instance``, the only way to reload the configuration in-process.
    """
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration

    GlobalConfiguration._reset_instance()
    Client._reset_instance()
