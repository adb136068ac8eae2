"""The overview page's charts and latest failures (counts and queues: ``totals``, ``queues``).

The charts count **runs** by the minute or hour they finished in, split by how they ended:
succeeded, failed, cancelled. A run that needed three attempts is one run; an operator's
cancel is not a failure. The failure rate is failed / (succeeded + failed): the share of the
runs that ran to an outcome of their own that failed.

Closed chart buckets never change, so they are computed once per bucket period and cached;
only the current minute is read live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from taskboard.models import FINISHED, Status, TaskAttempt, TaskRun
from taskboard.readmodels.cache import cached
from taskboard.readmodels.failures import FAILED_ATTEMPT

type Tally = tuple[int, int, int]  # (succeeded, failed, cancelled)
type Counts = dict[datetime, Tally]  # bucket start -> tally


@dataclass
class Bucket:
    start: datetime
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def failure_rate(self) -> float:
        return rate(self.failed, self.succeeded)


def rate(failed: int, succeeded: int) -> float:
    decided = failed + succeeded
    return failed / decided if decided else 0.0


@dataclass
class Series:
    title: str
    step: timedelta
    buckets: list[Bucket]

    @property
    def finished(self) -> int:
        return sum(b.finished for b in self.buckets)

    @property
    def succeeded(self) -> int:
        return sum(b.succeeded for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)

    @property
    def cancelled(self) -> int:
        return sum(b.cancelled for b in self.buckets)

    @property
    def per_minute(self) -> float:
        minutes = len(self.buckets) * self.step.total_seconds() / 60
        return self.finished / minutes if minutes else 0.0

    @property
    def failure_rate(self) -> float:
        return rate(self.failed, self.succeeded)


def _run_counts(start: datetime, end: datetime | None, trunc: Callable[..., TruncHour | TruncMinute],
                task: str | None) -> Counts:
    """Runs per bucket that finished in [start, end), by how they ended (index run_finished)."""
    qs = TaskRun.objects.filter(finished_at__gte=start, status__in=FINISHED)
    if end is not None:
        qs = qs.filter(finished_at__lt=end)
    if task:
        qs = qs.filter(task=task)
    rows = (qs.annotate(bucket=trunc("finished_at", tzinfo=UTC)).values("bucket")
            .annotate(succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
                      failed=Count("pk", filter=Q(status=Status.FAILED)),
                      cancelled=Count("pk", filter=Q(status=Status.CANCELLED))).order_by())
    return {row["bucket"]: (row["succeeded"], row["failed"], row["cancelled"]) for row in rows}


def _series(title: str, step: timedelta, start: datetime, count: int, counts: Counts) -> Series:
    buckets = [Bucket(start + step * i, *counts.get(start + step * i, (0, 0, 0))) for i in range(count)]
    return Series(title, step, buckets)


def _sum(tallies: list[Tally]) -> Tally:
    return (sum(t[0] for t in tallies), sum(t[1] for t in tallies), sum(t[2] for t in tallies))


def charts(now: datetime | None = None, task: str | None = None) -> list[Series]:
    """Finished runs per minute over the last hour and per hour over the last 24 hours, of
    every task or of one.

    The current hour is the sum of its minutes.
    """
    now = (now or timezone.now()).astimezone(UTC)
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    first_minute = minute - timedelta(minutes=59)
    first_hour = hour - timedelta(hours=23)
    scope = task or ""
    closed_minutes = cached(f"chart-minutes-{scope}-{minute.isoformat()}",
                            lambda: _run_counts(first_minute, minute, TruncMinute, task), seconds=120)
    closed_hours = cached(f"chart-hours-{scope}-{hour.isoformat()}",
                          lambda: _run_counts(first_hour, hour, TruncHour, task), seconds=7200)
    minutes = {**closed_minutes, **_run_counts(minute, None, TruncMinute, task)}
    hours = {**closed_hours, hour: _sum([tally for start, tally in minutes.items() if start >= hour])}
    return [_series("Last hour", timedelta(minutes=1), first_minute, 60, minutes),
            _series("Last 24 hours", timedelta(hours=1), first_hour, 24, hours)]


def latest_failures(limit: int = 8) -> list[TaskAttempt]:
    return list(TaskAttempt.objects.filter(FAILED_ATTEMPT).order_by("-finished_at")
                .only("id", "run_id", "task", "number", "outcome", "exception", "message", "finished_at")
                [:limit])
