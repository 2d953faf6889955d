"""A flow of many checkpoint calls (100 by default): an execution over a small budget."""

from kitaru import checkpoint, flow


@checkpoint
def tick(number: int, tag: str) -> int:
    return number


@flow
def many_checkpoints(count: int = 100, tag: str = "many") -> int:
    """Call one checkpoint ``count`` times in a row."""
    for number in range(count):
        tick(number, tag)
    return count
