"""The keyset cursor's key: a run's place in the listing order (creation time, id).

The embedded store compares keys in SQL; the REST path filters on whole
seconds (``whole_second_after``) and skips what precedes the key.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def encode_key(created: datetime, run_id: Any) -> str:
    return f"{created.isoformat()}|{run_id}"


def decode_key(key: str) -> tuple[datetime, str]:
    """The (naive UTC creation time, run id) a key names; ValueError for anything else."""
    created, _, run_id = key.partition("|")
    return run_key(datetime.fromisoformat(created), run_id)


def run_key(created: datetime, run_id: Any) -> tuple[datetime, str]:
    """A run's place in the listing order, comparable with a decoded key (naive UTC)."""
    if created.tzinfo is not None:
        created = created.astimezone(UTC).replace(tzinfo=None)
    return created, str(uuid.UUID(str(run_id)))


def whole_second_after(moment: datetime) -> str:
    """The REST filters' datetime format (whole seconds), rounded up: ``lte`` it keeps
    every run created at or before ``moment``."""
    rounded = moment.replace(microsecond=0)
    if rounded < moment:
        rounded += timedelta(seconds=1)
    return rounded.strftime("%Y-%m-%d %H:%M:%S")
