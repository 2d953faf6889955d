"""The cyclic garbage collector, paused while Kitaru is imported.

Importing Kitaru and ZenML builds some 400,000 objects and very few cycles (a
few thousand); the collections those allocations set off cost about a fifth of
the import (0.4 s of 2.1 s here). ``paused()`` turns the collector off for the
block and back on after (if it was on): whatever cycles were made are
collected at the next collection.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block (one process-wide switch)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
