"""Whether any queue holds queued runs of more than one priority, known cheaply per process.

The claim's priority jump (``sql.plain_claim_sql(jump=True)``) lets a message claim a
higher-priority queued run of its queue instead of its own. That subquery roughly doubles
the cost of a claim (measured: ~120 → ~300 µs on SQLite), and most workloads never set a
priority. So a process asks the database at most once per ``CHECK_SECONDS`` whether some
configured queue has queued runs with a priority other than 0 (two index seeks per queue on
``run_queued_priority``) and jumps only then. Runs created in this process mark it at once
(``note``). The cost: a run enqueued with a non-default priority on another host, into a queue
that had none, may wait up to ``CHECK_SECONDS`` more before it starts overtaking the backlog
(besides the prefetch window the README states).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

CHECK_SECONDS = 1.0

_mixed = False
_checked_at: float | None = None


def note(priorities: Iterable[int]) -> None:
    """Runs with these priorities were just created in this process."""
    global _mixed
    if not _mixed and any(priorities):
        _mixed = True


def mixed() -> bool:
    """True when a claim should look for a higher-priority run than the message's own."""
    global _mixed, _checked_at
    now = time.monotonic()
    if _checked_at is None or now - _checked_at >= CHECK_SECONDS:
        _checked_at = now
        _mixed = _any_prioritised()
    return _mixed


def _any_prioritised() -> bool:
    from taskboard.conf import configured_queues
    from taskboard.models.choices import Status
    from taskboard.models.runs import TaskRun

    queued = TaskRun.objects.filter(status=Status.QUEUED)
    for queue in configured_queues():
        # Both ends of the queue's section of the (queue, -priority) index.
        if queued.filter(queue=queue, priority__gt=0).exists() or queued.filter(queue=queue, priority__lt=0).exists():
            return True
    return False
