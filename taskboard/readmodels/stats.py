"""Numbers about the system, computed from the database so every host reports the same.

Shared by ``GET /api/stats/``, ``/metrics``, ``/healthz`` and ``taskboard_status`` (and
meant for the dashboard too). Each helper is one bounded query:

- ``run_counts`` groups the whole run table by (task, status): fine for an on-demand
  request or a command, too heavy for a live panel at millions of rows.
- ``open_run_counts`` counts only open runs (the backlog) through the ``status`` indexes.
- ``queue_stats`` reads queued runs per queue (``run_dispatched`` index).
- the ``recent_*`` helpers read a time window through ``finished_at`` indexes and cap rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from taskboard.conf import conf
from taskboard.models import OPEN, DeadLetter, Outcome, Status, TaskAttempt, TaskRun, WorkerNode

# Rows read for the duration histograms; the newest finished runs win.
RECENT_RUNS_LIMIT = 10_000


def configured_queues() -> list[str]:
    return list(settings.TASKS["default"].get("QUEUES") or ["default"])


def run_counts() -> dict[tuple[str, str], int]:
    """Runs per (task, status) over the whole table."""
    rows = TaskRun.objects.order_by().values_list("task", "status").annotate(n=Count("pk"))
    return {(task, status): n for task, status, n in rows}


def open_run_counts() -> dict[tuple[str, str], int]:
    """Runs per (task, status) for the open statuses only (the backlog)."""
    rows = (TaskRun.objects.filter(status__in=OPEN).order_by()
            .values_list("task", "status").annotate(n=Count("pk")))
    return {(task, status): n for task, status, n in rows}


def summarise(counts: dict[tuple[str, str], int]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """``by_status`` (every status, zeros included) and ``by_task`` (statuses present)."""
    by_status = {status.value: 0 for status in Status}
    by_task: dict[str, dict[str, int]] = defaultdict(dict)
    for (task, status), n in sorted(counts.items()):
        by_status[status] = by_status.get(status, 0) + n
        by_task[task][status] = n
    return by_status, dict(by_task)


def dead_letters_open() -> int:
    return DeadLetter.objects.unresolved().count()


def dead_letters_open_by_task() -> dict[str, int]:
    rows = DeadLetter.objects.unresolved().order_by().values_list("task").annotate(n=Count("pk"))
    return dict(rows)


@dataclass
class QueueStats:
    depth: int = 0  # queued runs: ready, waiting for a worker
    oldest_wait_seconds: float = 0.0  # how long the oldest of them has been ready


def queue_stats(now: datetime | None = None) -> dict[str, QueueStats]:
    """Queued runs per queue and the age of the oldest, for every configured queue.

    A run is ready since it was enqueued, or since its ``run_after`` when that is later
    (scheduled and retried runs); re-pushing a lost message does not reset the age.
    """
    now = now or timezone.now()
    ready_since = Greatest("enqueued_at", Coalesce("run_after", "enqueued_at"))
    rows = (TaskRun.objects.filter(status=Status.QUEUED).order_by().values("queue")
            .annotate(n=Count("pk"), oldest=Min(ready_since)))
    result = {queue: QueueStats() for queue in configured_queues()}
    for row in rows:
        age = max(0.0, (now - row["oldest"]).total_seconds()) if row["oldest"] else 0.0
        result[row["queue"]] = QueueStats(depth=row["n"], oldest_wait_seconds=age)
    return result


def live_workers(now: datetime | None = None) -> Any:
    """WorkerNodes (``taskboard_worker`` processes) whose dispatcher heartbeat is fresh."""
    now = now or timezone.now()
    fresh = now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    return WorkerNode.objects.filter(last_seen__gte=fresh, stopped_at__isnull=True)


def workers(now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Recently seen workers, newest heartbeat first, each with an ``alive`` flag."""
    now = now or timezone.now()
    fresh = now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    nodes = WorkerNode.objects.order_by("-last_seen")[:limit]
    return [
        {
            "id": node.id,
            "hostname": node.hostname,
            "pid": node.pid,
            "queues": node.queues,
            "started_at": node.started_at,
            "last_seen": node.last_seen,
            "stopped_at": node.stopped_at,
            "alive": node.stopped_at is None and node.last_seen >= fresh,
        }
        for node in nodes
    ]


def recent_attempts(since: datetime) -> dict[tuple[str, str], int]:
    """Attempts per (task, outcome) that finished since ``since``.

    ``outcome IN (...)`` lets PostgreSQL range-scan ``attempt_outcome_time`` per outcome.
    """
    rows = (TaskAttempt.objects.filter(outcome__in=Outcome.values, finished_at__gte=since)
            .order_by().values_list("task", "outcome").annotate(n=Count("pk")))
    return {(task, outcome): n for task, outcome, n in rows}


def recent_finished(since: datetime) -> dict[tuple[str, str], int]:
    """Runs per (task, status) that finished since ``since`` (``run_finished`` index)."""
    rows = (TaskRun.objects.filter(finished_at__gte=since).order_by()
            .values_list("task", "status").annotate(n=Count("pk")))
    return {(task, status): n for task, status, n in rows}


@dataclass
class Timing:
    task: str
    queue_wait: float  # seconds from ready to the first attempt's start
    run_time: float  # seconds from the first attempt's start to the end (retries included)


def recent_timings(since: datetime, limit: int = RECENT_RUNS_LIMIT) -> list[Timing]:
    """Queue wait and run time of runs that started and finished since ``since``."""
    rows = (TaskRun.objects.filter(finished_at__gte=since, started_at__isnull=False)
            .order_by("-finished_at")
            .values_list("task", "enqueued_at", "run_after", "started_at", "finished_at")[:limit])
    timings = []
    for task, enqueued_at, run_after, started_at, finished_at in rows:
        # run_after later than the start is a retry's backoff, not the initial delay.
        ready = max(enqueued_at, run_after) if run_after and run_after <= started_at else enqueued_at
        timings.append(Timing(
            task=task,
            queue_wait=max(0.0, (started_at - ready).total_seconds()),
            run_time=max(0.0, (finished_at - started_at).total_seconds()),
        ))
    return timings


def api_stats() -> dict[str, Any]:
    """The body of ``GET /api/stats/`` (CONTRACT.md)."""
    by_status, by_task = summarise(run_counts())
    return {"by_status": by_status, "by_task": by_task, "dead_letters_open": dead_letters_open()}
