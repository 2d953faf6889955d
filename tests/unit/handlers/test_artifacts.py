"""handlers.artifacts and handlers.values on a fake gateway: paging, value shapes, failures."""

from __future__ import annotations

import dataclasses
import json

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import artifacts, values

from kitaru_mcp.core.errors import InvalidArgument, NotFound, Unsupported
from kitaru_mcp.gateway.values import metadata
from unit.fakes import execution
from unit.fakes_reads import ReadsFake, artifact, uuid

pytestmark = pytest.mark.unit


@pytest.fixture
def reads() -> ReadsFake:
    gw = ReadsFake([execution("aaaa0001", checkpoints=["greet", "shout"])])
    gw.artifacts["aaaa0001"] = [
        artifact(uuid(1), "greet::output", "greet"),
        artifact(uuid(2), "shout::output", "shout"),
        artifact(uuid(3), "notes", "shout"),
    ]
    return gw


def _list(gw, **arguments):
    return artifacts.list_artifacts(gw, models.KitaruArtifactsListInput(**arguments))


def _get(gw, artifact_id, **arguments):
    params = models.KitaruArtifactsGetInput(artifact_id=artifact_id, **arguments)
    return artifacts.get_artifact(gw, params)


def test_list_pages_follow_the_cursor(reads):
    first = _list(reads, exec_id="aaaa0001", limit=2)
    assert [a.artifact_id for a in first.artifacts] == [uuid(1), uuid(2)]
    assert first.count == 2 and first.has_more is True
    second = _list(reads, exec_id="aaaa0001", limit=2, cursor=first.next_cursor)
    assert [a.artifact_id for a in second.artifacts] == [uuid(3)]
    assert second.has_more is False and second.next_cursor is None


def test_list_filters_reach_the_gateway_and_cursors_stay_with_them(reads):
    page = _list(reads, exec_id="aaaa0001", checkpoint="shout", limit=1)
    assert [a.name for a in page.artifacts] == ["shout::output"]
    assert ("list_artifacts", ("aaaa0001", None, "shout")) in reads.calls
    with pytest.raises(InvalidArgument) as caught:
        _list(reads, exec_id="aaaa0001", limit=1, cursor=page.next_cursor)
    assert caught.value.field == "cursor"


def test_list_of_an_unknown_execution_is_not_found(reads):
    with pytest.raises(NotFound) as caught:
        _list(reads, exec_id="ffff0009")
    assert caught.value.field == "exec_id"


def test_small_json_value_is_returned_exactly(reads):
    reads.values[uuid(1)] = {"greeting": "héllo", "n": [1, 2.5, None, True]}
    got = _get(reads, uuid(1))
    assert got.format == "json" and got.truncated is False and got.preview is None
    assert got.json_value == {"greeting": "héllo", "n": [1, 2.5, None, True]}
    text = json.dumps(got.json_value, ensure_ascii=False)
    assert got.size_bytes == len(text.encode())
    assert got.artifact.name == "greet::output" and got.artifact.metadata == {"storage_size": 10}


def test_null_value_is_json_null_not_a_preview(reads):
    got = _get(reads, uuid(1))
    assert got.format == "json" and got.json_value is None and got.preview is None
    assert got.size_bytes == 4 and got.truncated is False


def test_large_json_is_cut_to_max_bytes_never_inside_a_character(reads):
    reads.values[uuid(2)] = "é" * 1000  # 2 bytes each
    got = _get(reads, uuid(2), max_bytes=301)
    assert got.format == "json" and got.json_value is None and got.truncated is True
    assert got.size_bytes == 2002  # the quotes plus 1000 two-byte characters
    assert len(got.preview.encode()) <= 301
    assert got.preview == '"' + "é" * 150  # 1 + 300 bytes; the 151st é would not fit


def test_values_without_json_form_come_back_as_a_repr_preview(reads):
    reads.values[uuid(3)] = {3, 1, 2}
    got = _get(reads, uuid(3))
    assert got.format == "repr" and got.preview == "{1, 2, 3}" and got.json_value is None
    assert got.value_type == "builtins.set" and got.truncated is False
    big = values.shape(float("nan"), 256)
    assert big["format"] == "repr" and big["preview"] == "nan"
    cut = values.shape(b"x" * 1000, 256)
    assert cut["truncated"] is True and len(cut["preview"]) == 256 and cut["size_bytes"] == 1003


def test_dataclasses_and_broken_reprs():
    @dataclasses.dataclass
    class Point:
        x: int
        y: tuple[int, int]

    assert values.shape(Point(1, (2, 3)), 1000)["json_value"] == {"x": 1, "y": [2, 3]}

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    shaped = values.shape(Broken(), 1000)
    assert shaped["format"] == "repr" and "repr failed: RuntimeError" in shaped["preview"]
    assert metadata({"size": 3, "odd": {1, 2}}) == {"size": 3, "odd": "{1, 2}"}


def test_a_value_whose_class_cannot_be_imported_is_unsupported(reads):
    reads.values[uuid(2)] = ModuleNotFoundError("No module named 'report_types'")
    with pytest.raises(Unsupported) as caught:
        _get(reads, uuid(2))
    assert caught.value.field == "artifact_id"
    assert "shout::output" in caught.value.message and "report_types" in caught.value.message


def test_any_other_load_failure_is_raised_as_itself(reads):
    reads.values[uuid(2)] = ValueError("corrupt file")
    with pytest.raises(ValueError, match="corrupt file"):
        _get(reads, uuid(2))


def test_unknown_artifact_is_not_found(reads):
    with pytest.raises(NotFound) as caught:
        _get(reads, uuid(99))
    assert caught.value.field == "artifact_id"
