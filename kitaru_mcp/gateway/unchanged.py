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
from typing import Any, TypeVar

T = TypeVar("T")

_KEPT = 64  # answers per database file, least recently used first out


class _Watch:
    """One database file's change counter and the answers kept for its current state."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity = _identity(path)
        self.connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=1.0
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
    try:
        with _lock:
            watch = _watch(path)
            version = watch.version()
            kept = watch.answers.get(key)
            if kept is not None and kept[0] == version:
                watch.answers.move_to_end(key)
                return copy.deepcopy(kept[1])
    except (OSError, sqlite3.Error):
        return compute()
    result = compute()
    with _lock:
        if _watches.get(path) is watch:
            watch.answers[key] = (version, copy.deepcopy(result))
            watch.answers.move_to_end(key)
            while len(watch.answers) > _KEPT:
                watch.answers.popitem(last=False)
    return result


def _watch(path: str) -> _Watch:
    """The watch of ``path`` (under ``_lock``), opened anew if the file was replaced."""
    watch = _watches.get(path)
    if watch is not None and watch.identity != _identity(path):
        watch.close()
        watch = None
    if watch is None:
        watch = _watches[path] = _Watch(path)
    return watch


def forget() -> None:
    """Close every watch and drop every kept answer (a new connection, tests)."""
    with _lock:
        for watch in _watches.values():
            watch.close()
        _watches.clear()
