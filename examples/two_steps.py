"""A flow with two checkpoints: greet someone, then shout the greeting."""

import time

from kitaru import checkpoint, flow


@checkpoint
def greet(name: str, delay: float) -> str:
    time.sleep(delay)
    print(f"greeting {name}", flush=True)
    return f"hello {name}"


@checkpoint
def shout(text: str, punctuation: str) -> str:
    shouted = text.upper() + punctuation
    print(f"shouted {shouted}", flush=True)
    return shouted


def helper(text: str) -> str:
    """A plain function, not a flow: targets pointing here are refused."""
    return text


@flow
def two_steps(name: str = "world", punctuation: str = "!", delay: float = 0.0) -> str:
    """Greet ``name`` (after ``delay`` seconds), then shout it with ``punctuation``."""
    return shout(greet(name, delay), punctuation)
