"""A flow with two checkpoints: fetch a greeting, then shout it."""

from kitaru import checkpoint, flow


@checkpoint
def greet(name: str) -> str:
    print(f"greeting {name}")
    return f"hello {name}"


@checkpoint
def shout(text: str) -> str:
    return text.upper() + "!"


@flow
def two_steps(name: str = "world") -> str:
    return shout(greet(name))
