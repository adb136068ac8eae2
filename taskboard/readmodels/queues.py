"""Queues: which exist, how deep they are and how long their oldest ready run has waited.

The definitions every screen shares (dashboard, ``/api/stats``, ``/metrics``, the CLI):

- the configured queues are the default backend's ``QUEUES`` (``settings.TASKS``, which
  taskboard fills from ``TASKBOARD_QUEUES``): the queues ``enqueue`` accepts;
- a queue's depth is its ``queued`` runs: ready, waiting for a worker;
- a run has been ready since it was enqueued, or since its ``run_after`` when that is later
  (scheduled and retried runs). Re-pushing a lost message resets ``dispatched_at`` but not
  this age, so the oldest wait does not jump back to zero when the clock re-pushes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from taskboard.conf import configured_queues
from taskboard.models import Status, TaskRun
from taskboard.readmodels.counts import BoundedCount, panel_count
from taskboard.transport import cluster as transport_cluster


def ready_since() -> Combinable:
    """When a run became ready: ``max(enqueued_at, run_after)``."""
    return Greatest("enqueued_at", Coalesce("run_after", "enqueued_at"))


def queued_runs(queue: str | None = None) -> QuerySet[TaskRun]:
    """The runs that make a queue's depth (index ``run_dispatched``)."""
    qs = TaskRun.objects.filter(status=Status.QUEUED)
    return qs if queue is None else qs.filter(queue=queue)


def wait_seconds(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


@dataclass
class QueueStats:
    depth: int = 0  # queued runs: ready, waiting for a worker
    oldest_wait_seconds: float = 0.0  # how long the oldest of them has been ready


def queue_stats(now: datetime | None = None) -> dict[str, QueueStats]:
    """Exact depth and oldest wait of every configured queue (and any other with queued runs).

    One ``GROUP BY`` over the queued runs: for an on-demand request, a scrape or a command.
    """
    now = now or timezone.now()
    rows = (queued_runs().order_by().values("queue")
            .annotate(n=Count("pk"), oldest=Min(ready_since())))
    result = {queue: QueueStats() for queue in configured_queues()}
    for row in rows:
        result[row["queue"]] = QueueStats(depth=row["n"], oldest_wait_seconds=wait_seconds(row["oldest"], now))
    return result


@dataclass
class QueueRow:
    """A queue on the dashboard: bounded counts, so the panel stays cheap at any backlog."""

    name: str
    queued: BoundedCount
    running: BoundedCount
    oldest: datetime | None  # ready-since of the oldest queued run
    broker: int | None  # messages in the broker; None when it cannot be read


def broker_depth(queue: str) -> int | None:
    try:
        return transport_cluster.queue_depth(queue)
    except Exception:  # noqa: BLE001 - a broker outage must not break the page
        return None


def queue_rows() -> list[QueueRow]:
    rows = []
    for name in configured_queues():
        queued = queued_runs(name)
        running = TaskRun.objects.filter(status=Status.RUNNING, queue=name)
        oldest = queued.aggregate(oldest=Min(ready_since()))["oldest"]
        rows.append(QueueRow(name, panel_count(queued), panel_count(running), oldest, broker_depth(name)))
    return rows
