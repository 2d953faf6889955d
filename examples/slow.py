"""A long flow made of many short checkpoints, for cancelling and timing."""

import time

from kitaru import checkpoint, flow


@checkpoint
def tick(index: int, seconds: float) -> int:
    time.sleep(seconds)
    return index


@flow
def slow(steps: int = 30, seconds: float = 1.0) -> int:
    """Run ``steps`` checkpoints of ``seconds`` each."""
    done = 0
    for index in range(steps):
        done = tick(index, seconds)
    return done
