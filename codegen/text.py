"""Text helpers of the generator."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


def summary(description: str) -> str:
    """The first sentence of a tool description: what the tool is for, in one line."""
    text = " ".join(description.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0]
