# mypy: disable-error-code="union-attr,index,operator,var-annotated"
"""Answers kept while an SQLite file is unchanged (``kitaru_mcp.gateway.unchanged``).

Real SQLite files, written through other connections as Kitaru's runners
and ZenML's engine write them.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru_mcp.gateway import unchanged

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    unchanged.forget()
    yield
    unchanged.forget()


def _database(path: Path, rows: int = 3) -> sqlite3.Connection:
    writer = sqlite3.connect(path)
    writer.execute("CREATE TABLE run (status TEXT)")
    writer.executemany("INSERT INTO run VALUES (?)", [("completed",)] * rows)
    writer.commit()
    return writer


def _counter(path: Path) -> tuple[list[int], Any]:
    """A computation that counts the rows (through its own connection) and its call log."""
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        with sqlite3.connect(path) as reader:
            count = reader.execute("SELECT count(*) FROM run").fetchone()[0]
        calls.append(count)
        return {"groups": [{"count": count}]}

    return calls, compute


def test_an_unchanged_file_gives_the_kept_answer(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _database(path)
    calls, compute = _counter(path)
    first = unchanged.answer(str(path), "q", compute)
    first["groups"][0]["count"] = 99  # a caller's edit does not reach the kept answer
    again = unchanged.answer(str(path), "q", compute)
    assert again == {"groups": [{"count": 3}]}
    assert calls == [3]
    assert unchanged.answer(str(path), "other question", compute) == again
    assert calls == [3, 3]


def test_a_commit_from_another_connection_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = _database(path)
    calls, compute = _counter(path)
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 3
    writer.execute("UPDATE run SET status = 'failed'")  # same row count: only the counter tells
    writer.commit()
    unchanged.answer(str(path), "q", compute)
    writer.execute("INSERT INTO run VALUES ('running')")
    writer.commit()
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 4
    assert calls == [3, 3, 4]
    writer.execute("DELETE FROM run")
    writer.commit()
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 0


def test_a_commit_during_the_computation_is_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = _database(path)
    calls, count = _counter(path)

    def compute_then_someone_writes() -> dict[str, Any]:
        result = count()
        writer.execute("INSERT INTO run VALUES ('running')")
        writer.commit()
        return result

    assert unchanged.answer(str(path), "q", compute_then_someone_writes)["groups"][0]["count"] == 3
    assert unchanged.answer(str(path), "q", count)["groups"][0]["count"] == 4
    assert calls == [3, 4]


def test_a_replaced_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _database(path).close()
    calls, compute = _counter(path)
    unchanged.answer(str(path), "q", compute)
    path.unlink()
    _database(path, rows=7).close()  # a new store at the same path, never written to since
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 7
    assert calls == [3, 7]


def test_a_path_with_uri_characters_is_the_file_itself(tmp_path: Path) -> None:
    folder = tmp_path / "a#b?c%20d"
    folder.mkdir()
    path = folder / "store.db"
    writer = _database(path)
    calls, compute = _counter(path)
    unchanged.answer(str(path), "q", compute)
    writer.execute("INSERT INTO run VALUES ('running')")
    writer.commit()
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 4
    assert unchanged.answer(str(path), "q", compute)["groups"][0]["count"] == 4
    assert calls == [3, 4]  # counted afresh once, then kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b?c%20d"]  # no stray file opened


def test_a_store_locked_by_a_writer_is_counted_at_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _database(path).close()
    calls, compute = _counter(path)
    unchanged.answer(str(path), "q", compute)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # a commit in progress: readers are shut out
    try:
        started = time.perf_counter()
        assert unchanged.answer(str(path), "q", lambda: "counted afresh") == "counted afresh"
        assert time.perf_counter() - started < 0.5  # not waiting for the lock
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert unchanged.answer(str(path), "q", compute) == {"groups": [{"count": 3}]}
    assert calls == [3, 3]  # the lock made it forget: counted again once the writer left


def test_a_deleted_store_is_not_held_open(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _database(path).close()
    unchanged.answer(str(path), "q", lambda: 1)
    assert str(path) in unchanged._watches
    path.unlink()
    assert unchanged.answer(str(path), "q", lambda: "gone") == "gone"
    assert str(path) not in unchanged._watches


def test_without_a_file_every_call_computes(tmp_path: Path) -> None:
    calls: list[int] = []
    for _ in range(3):
        unchanged.answer(None, "q", lambda: calls.append(1))
    missing = str(tmp_path / "gone.db")
    assert unchanged.answer(missing, "q", lambda: "computed") == "computed"
    assert unchanged.answer(missing, "q", lambda: "again") == "again"
    assert len(calls) == 3


def test_kept_answers_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _database(path)
    for question in range(unchanged._KEPT + 10):
        unchanged.answer(str(path), question, functools.partial(int, question))
    assert (
        unchanged.answer(str(path), unchanged._KEPT + 9, lambda: "recomputed")
        == unchanged._KEPT + 9
    )
    assert unchanged.answer(str(path), 0, lambda: "recomputed") == "recomputed"


class _Url:
    def __init__(self, database: str | None) -> None:
        self.database = database


class _Dialect:
    def __init__(self, name: str) -> None:
        self.name = name


class _Engine:
    def __init__(self, dialect: str, database: str | None) -> None:
        self.dialect = _Dialect(dialect)
        self.url = _Url(database)


def test_only_an_sqlite_file_has_a_database_file(tmp_path: Path) -> None:
    assert unchanged.database_file(_Engine("sqlite", str(tmp_path / "z.db"))) == str(
        tmp_path / "z.db"
    )
    assert unchanged.database_file(_Engine("sqlite", ":memory:")) is None
    assert unchanged.database_file(_Engine("sqlite", None)) is None
    assert unchanged.database_file(_Engine("mysql", "zenml")) is None
