"""A flow that waits for a whole number (the execution view's form validates it inline)."""

from kitaru import checkpoint, flow, wait


@checkpoint
def copies(count: int) -> str:
    return f"{count} copies"


@flow
def count_wait(label: str = "print") -> str:
    """Ask how many copies to make, then make them."""
    count = wait(schema=int, name="count", question=f"How many copies ({label})?")
    return copies(count)
