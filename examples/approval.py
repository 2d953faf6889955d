"""A flow that pauses on a yes/no wait before it publishes."""

from kitaru import checkpoint, flow, wait


@checkpoint
def draft(topic: str) -> str:
    return f"A short note about {topic}."


@checkpoint
def publish(text: str, approved: bool) -> str:
    return text if approved else "rejected"


@flow
def approval(topic: str = "durable agents", wait_timeout: int = 600) -> str:
    """Draft a note, ask a human whether to publish it, then publish or reject."""
    text = draft(topic)
    approved = wait(
        schema=bool, name="approve", question="Publish this draft?", timeout=wait_timeout
    )
    return publish(text, approved)
