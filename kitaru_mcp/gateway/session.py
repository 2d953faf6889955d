"""The connection to Kitaru: one client per process, configuration changes followed.

Importing this module imports neither Kitaru nor ZenML; ``client()`` does, on
first use (or ``warm_up()`` does it ahead of time, in the background).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kitaru_mcp.core import settings
from kitaru_mcp.gateway import backend, embedded, sdk

if TYPE_CHECKING:
    from kitaru import KitaruClient

logger = logging.getLogger("kitaru_mcp")
_config_lock = threading.Lock()
_LOAD_TRIES = 5
REPROBE_S = 5.0  # within one call, how long one probe of the server stands
_clock = time.monotonic
_config_seen: dict[str, str | None] = {}


def import_kitaru() -> None:
    """Import Kitaru once per process; threads that arrive meanwhile wait for it."""
    sdk.import_sdk()


def sync_connection(probe: bool = True) -> None:
    """Follow connection changes made by other processes (``kitaru login``, ``stack use``...).

    ZenML loads its global configuration once per process and keeps it in
    singletons, so a long-lived server would keep using the connection and
    active stack it saw first. When the configuration file's content changed
    since the last call, drop those singletons (private ZenML API:
    ``GlobalConfiguration._reset_instance`` and ``Client._reset_instance``,
    the only way to make ZenML reload its configuration in-process): the next
    use reloads the file, exactly as a fresh CLI process would.

    Then, unless ``probe`` is false, the configured server must accept a
    connection (``backend.ensure_reachable``): a server that is down fails the
    call in milliseconds instead of after ZenML's ~30 s of retries.
    """
    import_kitaru()
    if not getattr(_calls, "depth", 0) or not _config_seen:
        _reload_if_changed()  # inside a call ``in_call`` did it (a first look never resets)
    if probe:
        probe_once()


def probe_once() -> None:
    """Probe the configured server (``backend.ensure_reachable``): once per tool call,
    however many clients the call asks for (a long call, such as a wait, again after
    ``REPROBE_S``, so a server that goes down meanwhile still fails it fast); every
    time outside a call."""
    if not getattr(_calls, "depth", 0):
        backend.ensure_reachable()
        return
    probed = getattr(_calls, "probed_at", None)
    if probed is None or _clock() - probed > REPROBE_S:
        backend.ensure_reachable()
        _calls.probed_at = _clock()


def _reload_if_changed() -> None:
    """Drop ZenML's singletons when the configuration file changed, once no call uses them."""
    follow_configuration(sdk.config_path(), _reload)


def follow_configuration(path: str, reload: Callable[[], None]) -> None:
    """Call ``reload`` when the file's content changed since the last look, once it is
    whole again (``sdk.settled``); a file being written is looked at again next time."""
    with _config_lock:
        content = sdk.read(path)
        stamp = sdk.digest(content)
        if path in _config_seen and _config_seen[path] != stamp:
            if not sdk.settled(path, content):
                return
            with _in_use.exclusive():  # a call still using the old singletons finishes first
                reload()
            logger.info("Kitaru configuration changed on disk: reloading the connection")
        _config_seen[path] = stamp


def _reload() -> None:
    """Reset ZenML's singletons (private API: ``_reset_instance``, the only way to make
    ZenML reload its configuration in-process), then load the configuration again now,
    while the file is whole, with a few tries should a writer start meanwhile."""
    import yaml
    from zenml.config.global_config import GlobalConfiguration

    sdk.reset_singletons()
    for _ in range(_LOAD_TRIES - 1):
        try:
            GlobalConfiguration()
            return
        except yaml.YAMLError:
            GlobalConfiguration._reset_instance()
            time.sleep(sdk.SETTLE_S)
    GlobalConfiguration()


class _SharedUse:
    """Many calls use the connection at once; a reload waits until none does."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._reloading = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._reloading)
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._reloading = True
            self._cond.wait_for(lambda: self._users == 0)
        try:
            yield
        finally:
            with self._cond:
                self._reloading = False
                self._cond.notify_all()


_in_use = _SharedUse()
_calls = threading.local()


@contextmanager
def in_call() -> Iterator[None]:
    """Hold the connection for one tool call: a configuration reload never happens under it.

    The reload check runs first (outside the hold); within the call
    ``sync_connection`` only probes the server, and only the first time. While
    the warm-up still loads Kitaru and the store exists already, nothing waits
    for it here (``light_store``, decided once a call): a call that needs Kitaru
    opens the connection through ``client()`` / ``zen_client()``; a listing may not.
    """
    outer = not getattr(_calls, "depth", 0)
    light = _light_store() if outer else getattr(_calls, "light", None)
    if light is None:
        ensure_store()  # before anything of this call can touch the store
        _reload_if_changed()
    with _in_use.shared():
        if outer:
            _calls.probed_at = None  # a new call: its first client probes the server
            _calls.light = light
        _calls.depth = getattr(_calls, "depth", 0) + 1
        try:
            yield
        finally:
            _calls.depth -= 1
            if outer:
                _calls.light = None


def client() -> KitaruClient:
    """A Kitaru client on the connection the CLI would use."""
    sync_connection()
    ensure_store()
    from kitaru import KitaruClient

    return KitaruClient()


def zen_client():
    """ZenML's client on the same connection (for what Kitaru's SDK does not expose)."""
    sync_connection()
    ensure_store()
    from zenml.client import Client

    return Client()


def ensure_store() -> None:
    """Create (or migrate) the embedded store once, under the inter-process store lock
    (``store_lock.ensure_store``); a server-backed connection has nothing to create."""
    from kitaru_mcp.gateway.store_lock import ensure_store as ensure_local_store

    ensure_local_store()


_warm_thread: threading.Thread | None = None
_warm_lock = threading.Lock()
_warm_done = False
_when_ready: list[Callable[[], None]] = []


def warm_up() -> None:
    """Import Kitaru and open the connection (the body of the background warm-up); then
    the ``when_ready`` hooks, if it worked."""
    global _warm_done
    try:
        sync_connection()
        ensure_store()
        from kitaru import KitaruClient

        KitaruClient()
        for hook in list(_when_ready):
            hook()
    except BaseException as exc:  # reported by the next call that needs Kitaru, never a crash
        logger.info("warm-up did not finish: %s", type(exc).__name__)
    finally:
        with _warm_lock:
            _warm_done = True


def warming() -> bool:
    """Whether the background warm-up is on and has not loaded Kitaru and the store yet:
    running, or about to start (a call that comes before its thread does counts too)."""
    with _warm_lock:
        return warm_up_enabled() and not _warm_done


def light_store() -> tuple[Any, uuid.UUID] | None:
    """This call's (engine, project id) of the embedded store when it may be answered
    without Kitaru, else None (``_light_store``, decided once per call by ``in_call``)."""
    if getattr(_calls, "depth", 0):
        return getattr(_calls, "light", None)
    return _light_store()


def _light_store() -> tuple[Any, uuid.UUID] | None:
    """(engine, project id) when the warm-up still loads Kitaru, this process has not
    opened the store, and a store that needs no creating or migrating is there
    (``embedded.connection``); None otherwise, and always on a fresh store."""
    from kitaru_mcp.gateway import store_lock

    if not warming() or store_lock.store_open():
        return None
    try:
        return embedded.connection()
    except Exception:  # an odd file: the SDK path says what is wrong
        return None


def warm_up_enabled() -> bool:
    return settings.switch("KITARU_MCP_WARMUP")


def start_warm_up() -> None:
    """Start ``warm_up`` in a daemon thread (once); ``KITARU_MCP_WARMUP=0`` turns it off."""
    global _warm_thread
    with _warm_lock:
        if not warm_up_enabled() or _warm_thread is not None:
            return
        _warm_thread = threading.Thread(target=warm_up, name="kitaru-warm-up", daemon=True)
    _warm_thread.start()


def when_ready(hook: Callable[[], None]) -> None:
    """Have the warm-up call ``hook()`` in its thread once Kitaru is imported and the
    connection is open (the server's warm read); never when the warm-up failed."""
    with _warm_lock:
        if not _warm_done and hook not in _when_ready:
            _when_ready.append(hook)
