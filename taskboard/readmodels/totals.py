"""Totals: runs by status and task, open dead letters, and what finished in a recent window.

Two kinds of count, for two audiences:

- exact ``GROUP BY`` counts (``run_counts``, ``open_run_counts``…) for ``GET /api/stats/``,
  ``/metrics`` and ``taskboard_status``: on demand, fine to read every row they cover;
- bounded counts (``status_counts``, ``open_dead_letter_count``) for the dashboard's live
  panels, which must stay cheap at millions of rows.

The ``recent_*`` helpers read a time window through ``finished_at`` indexes and cap rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from taskboard.models import OPEN, DeadLetter, Outcome, Status, TaskAttempt, TaskRun
from taskboard.readmodels.counts import BoundedCount, panel_count
from taskboard.readmodels.tasks import ready_at

# Rows read for the duration histograms; the newest finished runs win.
RECENT_RUNS_LIMIT = 10_000

type TaskCounts = dict[tuple[str, str], int]  # (task, status or outcome) -> n


# --- exact, on demand -----------------------------------------------------------------------------


def run_counts() -> TaskCounts:
    """Runs per (task, status) over the whole table."""
    rows = TaskRun.objects.order_by().values_list("task", "status").annotate(n=Count("pk"))
    return {(task, status): n for task, status, n in rows}


def open_run_counts() -> TaskCounts:
    """Runs per (task, status) for the open statuses only (the backlog)."""
    rows = (TaskRun.objects.filter(status__in=OPEN).order_by()
            .values_list("task", "status").annotate(n=Count("pk")))
    return {(task, status): n for task, status, n in rows}


def summarise(counts: TaskCounts) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
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


def api_stats() -> dict[str, Any]:
    """The body of ``GET /api/stats/`` (CONTRACT.md)."""
    by_status, by_task = summarise(run_counts())
    return {"by_status": by_status, "by_task": by_task, "dead_letters_open": dead_letters_open()}


# --- bounded, for live panels ---------------------------------------------------------------------


def status_counts() -> list[tuple[Status, BoundedCount]]:
    # One bounded index scan per status (index run_status_list) instead of a GROUP BY that
    # reads every row of the table.
    return [(s, panel_count(TaskRun.objects.filter(status=s))) for s in Status]


def open_dead_letter_count() -> BoundedCount:
    return panel_count(DeadLetter.objects.unresolved())


# --- a recent window ------------------------------------------------------------------------------


def recent_attempts(since: datetime) -> TaskCounts:
    """Attempts per (task, outcome) that finished since ``since``.

    ``outcome IN (...)`` lets PostgreSQL range-scan ``attempt_outcome_time`` per outcome.
    """
    rows = (TaskAttempt.objects.filter(outcome__in=Outcome.values, finished_at__gte=since)
            .order_by().values_list("task", "outcome").annotate(n=Count("pk")))
    return {(task, outcome): n for task, outcome, n in rows}


def recent_finished(since: datetime) -> TaskCounts:
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
        if started_at is None or finished_at is None:  # excluded by the filter; for the type checker
            continue
        timings.append(Timing(
            task=task,
            queue_wait=max(0.0, (started_at - ready_at(enqueued_at, run_after, started_at)).total_seconds()),
            run_time=max(0.0, (finished_at - started_at).total_seconds()),
        ))
    return timings
