"""A flow taking one large argument, to prove jobs reach runners as data."""

from kitaru import checkpoint, flow


@checkpoint
def measure(blob: str) -> int:
    print(f"blob length {len(blob)} ends with {blob[-3:]}", flush=True)
    return len(blob)


@flow
def payload(blob: str) -> int:
    """Return the length of ``blob``."""
    return measure(blob)
