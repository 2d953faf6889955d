"""A flow whose body fails on its first run and succeeds when retried."""

from pathlib import Path

from kitaru import checkpoint, flow


@checkpoint
def prepare(marker: str) -> str:
    return marker


@flow
def flaky(marker: str) -> str:
    """Fail once per marker file: the first run creates it and raises."""
    prepare(marker)
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError(f"first attempt fails on purpose ({path.name})")
    return "recovered"
