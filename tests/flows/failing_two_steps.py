"""A flow named like examples/two_steps.py whose second checkpoint fails.

It seeds a failed ``two_steps`` execution, so that schema examples asking for
the last failure of that flow find one in the test store.
"""

from kitaru import checkpoint, flow


@checkpoint
def greet(name: str) -> str:
    return f"hello {name}"


@checkpoint
def shout(text: str) -> str:
    raise RuntimeError(f"boom: cannot shout {text!r}")


@flow
def two_steps(name: str = "world") -> str:
    return shout(greet(name))
