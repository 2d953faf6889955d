"""A flow whose checkpoint prints many lines (20,000 by default): logs over any budget."""

from kitaru import checkpoint, flow


@checkpoint
def chatter(lines: int, tag: str) -> int:
    for number in range(lines):
        print(f"{tag} line {number:05d} of {lines}: some text to make the line longer", flush=False)
    print(f"{tag} done", flush=True)
    return lines


@flow
def chatty(lines: int = 20_000, tag: str = "chatty") -> int:
    """Print ``lines`` lines (each ~60 characters) from one checkpoint."""
    return chatter(lines, tag)
