"""A flow that sleeps in its body between two checkpoints (a runner killed there can retry)."""

import time

from kitaru import checkpoint, flow


@checkpoint
def before(name: str) -> str:
    return f"before {name}"


@checkpoint
def after(text: str) -> str:
    print(f"after {text}", flush=True)
    return text.upper()


@flow
def napping(name: str = "x", seconds: float = 4.0) -> str:
    """``before``, a nap of ``seconds`` in the flow body, then ``after``."""
    text = before(name)
    time.sleep(seconds)
    return after(text)
