"""A flow whose checkpoints return values of every shape kitaru_artifacts_get must handle.

- ``summarize`` returns a JSON-friendly dict and also saves a named artifact;
- ``long_text`` returns a large string (about 300 KB by default);
- ``tags`` returns a set (not JSON: previewed, not converted);
- ``report`` returns an instance of a class defined here, stored with cloudpickle.
"""

from kitaru import checkpoint, flow, save


class Report:
    """A plain class: its instances are not JSON and load only where this module imports."""

    def __init__(self, title: str, pages: int) -> None:
        self.title = title
        self.pages = pages

    def __repr__(self) -> str:
        return f"Report(title={self.title!r}, pages={self.pages})"


@checkpoint
def summarize(topic: str) -> dict:
    save("notes", {"topic": topic, "lines": ["first", "second"]}, type="context")
    return {"topic": topic, "scores": [1, 2.5, None], "ok": True, "nested": {"depth": 2}}


@checkpoint
def long_text(size: int) -> str:
    line = "durable execution keeps every checkpoint's output. "
    return (line * (size // len(line) + 1))[:size]


@checkpoint
def tags(topic: str) -> set:
    return {topic, "alpha", "beta"}


@checkpoint
def report(topic: str) -> Report:
    return Report(title=topic, pages=3)


@flow
def artifacts_demo(topic: str = "durable", size: int = 300_000) -> int:
    summarize(topic)
    long_text(size)
    tags(topic)
    report(topic)
    return size
