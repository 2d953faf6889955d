"""A flow that saves one 5 MB string as a checkpoint output: previews over any budget."""

from kitaru import checkpoint, flow


@checkpoint
def blob(megabytes: int, fill: str) -> str:
    return (fill * (megabytes * 1024 * 1024 // len(fill) + 1))[: megabytes * 1024 * 1024]


@flow
def big_artifact(megabytes: int = 5, fill: str = "abcdefgh") -> str:
    """Save a ``megabytes`` MB string (the checkpoint's output)."""
    return blob(megabytes, fill)
