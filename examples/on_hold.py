"""A flow that prepares one checkpoint, then waits for a go-ahead (keeps its stack in use)."""

from kitaru import checkpoint, flow, wait


@checkpoint
def prepare(job: str) -> str:
    return f"prepared {job}"


@flow
def on_hold(job: str = "nightly") -> str:
    prepared = prepare(job)
    go = wait(schema=bool, name="go_ahead", question="Go ahead?")
    return prepared if go else "skipped"
