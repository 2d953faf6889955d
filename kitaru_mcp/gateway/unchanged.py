"""Answers kept while an SQLite store has not changed: ``PRAGMA data_version``.

A grouped count over every run costs time in proportion to the store (ZenML's
run table has no index that covers it). Asked again of a store nobody wrote
to since, the answer cannot differ, so it is kept and handed back.

"Nobody wrote" is SQLite's own word: ``PRAGMA data_version`` on a connection
changes when any other connection, in any process, commits a change to the
file. This module holds one private read-only connection per database file
for that question and never writes through it. A file replaced under the
same path (a new store) is noticed by its inode and starts afresh.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_KEPT = 64  # answers per database file, least recently used first out


class _Watch:
    """One database file's change counter and the answers kept for its current state."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity = _identity(path)
        # as_uri escapes "#", "?" and "%", which SQLite would otherwise read as URI syntax;
        # timeout 0: a store locked by a writer is counted afresh, not waited for
        self.connection = sqlite3.connect(
            f"{Path(path).as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=0
        )
        self.answers: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def version(self) -> int:
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self.connection.close()


_watches: dict[str, _Watch] = {}
_lock = threading.Lock()


def _identity(path: str) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def database_file(engine: Any) -> str | None:
    """The file behind an SQLite engine; None for other databases or an in-memory one."""
    url = engine.url
    if engine.dialect.name != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return os.path.abspath(url.database)


def answer(path: str | None, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s answer for ``key``, kept while the file at ``path`` is unchanged.

    Without a file (``path`` None) or when the change counter cannot be read,
    ``compute()`` runs every time. The version is read before computing, so a
    commit that lands during the computation makes the next call compute again.
    """
    if path is None:
        return compute()
    with _lock:
        found = _look_up(path, key)
    if found is None:  # no counter to read: nothing can be kept
        return compute()
    watch, version, kept = found
    if kept is not None:
        return copy.deepcopy(kept[0])
    result = compute()
    with _lock:
        if _watches.get(path) is watch:  # not replaced or forgotten meanwhile
            watch.answers[key] = (version, copy.deepcopy(result))
            watch.answers.move_to_end(key)
            while len(watch.answers) > _KEPT:
                watch.answers.popitem(last=False)
    return result


def _look_up(path: str, key: Hashable) -> tuple[_Watch, int, tuple[Any] | None] | None:
    """(watch, current version, (kept answer,) or None) under ``_lock``; None when the
    file cannot be watched (gone, locked by a writer, unreadable)."""
    try:
        watch = _watch(path)
        version = watch.version()
    except (OSError, sqlite3.Error):
        _drop(path)
        return None
    kept = watch.answers.get(key)
    if kept is None or kept[0] != version:
        return watch, version, None
    watch.answers.move_to_end(key)
    return watch, version, (kept[1],)


def _watch(path: str) -> _Watch:
    """The watch of ``path`` (under ``_lock``), opened anew if the file was replaced."""
    watch = _watches.get(path)
    if watch is not None and watch.identity != _identity(path):
        _drop(path)
        watch = None
    if watch is None:
        watch = _watches[path] = _Watch(path)
    return watch


def _drop(path: str) -> None:
    """Close and forget the watch of ``path`` (under ``_lock``), so no deleted file stays open."""
    watch = _watches.pop(path, None)
    if watch is not None:
        watch.close()


def forget() -> None:
    """Close every watch and drop every kept answer (a new connection, tests)."""
    with _lock:
        for path in list(_watches):
            _drop(path)
