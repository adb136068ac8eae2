"""Queue depth and oldest wait, read for the alert rules: the same figures as
``queues.queue_stats`` (the one definition: depth = queued runs, ready since
``max(enqueued_at, run_after)``), at a fraction of the cost on a deep backlog.

``queue_stats`` takes the minimum ready-since over every queued run, which needs ``run_after``
from the table for each of them (10,000 heap reads for a 10,000-run backlog, ~20 ms on
PostgreSQL). Here it is read in steps that the partial index ``run_queued_priority`` (queue,
priority, enqueued_at; queued runs only) answers:

1. ``queue_heads``: per queue, the depth and the earliest ``enqueued_at`` — from the index alone
   (an index-only scan on PostgreSQL once the backlog's pages are all-visible).
2. ``oldest_ready``, only for the queues whose caller needs the exact figure (the alert rules
   ask for the queues whose earliest enqueue is already past their SLO: ready-since is never
   earlier than enqueued_at, so the others cannot be late): the runs enqueued at that earliest
   moment (one index seek per queue). Their least ready-since is the answer when one of them
   was ready on enqueue (no later ``run_after``), the common case.
3. Otherwise (the earliest run was delayed or retried), the minimum over the runs enqueued no
   later than that bound: a run enqueued after it was ready later still, so it cannot be the
   oldest. Rare, and never more rows than ``queue_stats`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count, Min, Q, QuerySet

from taskboard.conf import configured_queues
from taskboard.models import TaskRun
from taskboard.readmodels.queues import queued_runs, ready_since


@dataclass(frozen=True)
class QueueHead:
    depth: int  # queued runs: ready, waiting for a worker
    first_enqueued: datetime | None  # the earliest enqueued_at of them: ready-since is never earlier


def heads_query() -> QuerySet[TaskRun, tuple[str, int, datetime]]:
    """(queue, depth, earliest enqueued_at) of each queue with queued runs: one ``GROUP BY``
    that reads only the index."""
    # COUNT(*), not COUNT(id): the id is not in the index, and counting it would read the table.
    return queued_runs().order_by().values_list("queue").annotate(n=Count("*"), first=Min("enqueued_at"))


def queue_heads(rows: Iterable[tuple[str, int, datetime]] | None = None) -> dict[str, QueueHead]:
    """Depth and earliest enqueue of every configured queue (and any other with queued runs);
    ``rows``: those of ``heads_query()``, if read already."""
    result = {queue: QueueHead(0, None) for queue in configured_queues()}
    for queue, n, first in heads_query() if rows is None else rows:
        result[queue] = QueueHead(n, first)
    return result


def _ready(enqueued_at: datetime, run_after: datetime | None) -> datetime:
    return max(enqueued_at, run_after) if run_after is not None else enqueued_at


def oldest_ready(firsts: dict[str, datetime]) -> dict[str, datetime]:
    """The exact oldest ready-since of each queue in ``firsts`` (queue -> its earliest
    ``enqueued_at`` from ``queue_heads``); a queue that emptied meanwhile is left out."""
    if not firsts:
        return {}
    heads = queued_runs().filter(reduce(or_, (Q(queue=queue, enqueued_at=first) for queue, first in firsts.items())))
    bounds: dict[str, datetime] = {}
    for queue, enqueued_at, run_after in heads.values_list("queue", "enqueued_at", "run_after"):
        ready = _ready(enqueued_at, run_after)
        if queue not in bounds or ready < bounds[queue]:
            bounds[queue] = ready
    result = {queue: bound for queue, bound in bounds.items() if bound == firsts[queue]}
    # The earliest run was delayed (or was claimed since step 1): the oldest is among the runs
    # enqueued up to its ready-since (all of the queue's runs, if it is gone).
    rest = [Q(queue=queue, enqueued_at__lte=bounds[queue]) if queue in bounds else Q(queue=queue)
            for queue in firsts if queue not in result]
    if rest:
        rows = (queued_runs().filter(reduce(or_, rest)).order_by().values_list("queue")
                .annotate(oldest=Min(ready_since())))
        result.update((queue, oldest) for queue, oldest in rows if oldest is not None)
    return result
