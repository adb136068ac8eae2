"""The overview page's charts and latest failures (counts and queues: ``totals``, ``queues``).

Closed chart buckets never change, so they are computed once per bucket period and cached;
only the current minute is read live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from taskboard.models import Outcome, TaskAttempt
from taskboard.readmodels.cache import cached
from taskboard.readmodels.failures import COUNTED, FAILED_ATTEMPT

type Counts = dict[datetime, tuple[int, int]]  # bucket start -> (total, failed)


@dataclass
class Bucket:
    start: datetime
    total: int = 0
    failed: int = 0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass
class Series:
    title: str
    step: timedelta
    buckets: list[Bucket]

    @property
    def total(self) -> int:
        return sum(b.total for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)

    @property
    def per_minute(self) -> float:
        minutes = len(self.buckets) * self.step.total_seconds() / 60
        return self.total / minutes if minutes else 0.0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


def _attempt_counts(start: datetime, end: datetime | None,
                    trunc: Callable[..., TruncHour | TruncMinute]) -> Counts:
    """(total, failed) attempts per bucket finished in [start, end)."""
    # index attempt_outcome_time (outcome, finished_at): the IN list lets the database range
    # scan each outcome instead of reading the whole table.
    qs = TaskAttempt.objects.filter(outcome__in=list(Outcome.values), finished_at__gte=start)
    if end is not None:
        qs = qs.filter(finished_at__lt=end)
    rows = (qs.annotate(bucket=trunc("finished_at", tzinfo=UTC)).values("bucket")
            .annotate(total=Count("*"), failed=Count(COUNTED, filter=FAILED_ATTEMPT)).order_by())
    return {row["bucket"]: (row["total"], row["failed"]) for row in rows}


def _series(title: str, step: timedelta, start: datetime, count: int, counts: Counts) -> Series:
    buckets = []
    for i in range(count):
        total, failed = counts.get(start + step * i, (0, 0))
        buckets.append(Bucket(start + step * i, total, failed))
    return Series(title, step, buckets)


def charts(now: datetime | None = None) -> list[Series]:
    """Attempts per minute over the last hour and per hour over the last 24 hours.

    The current hour is the sum of its minutes.
    """
    now = (now or timezone.now()).astimezone(UTC)
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    first_minute = minute - timedelta(minutes=59)
    first_hour = hour - timedelta(hours=23)
    closed_minutes = cached(f"chart-minutes-{minute.isoformat()}",
                            lambda: _attempt_counts(first_minute, minute, TruncMinute), seconds=120)
    closed_hours = cached(f"chart-hours-{hour.isoformat()}",
                          lambda: _attempt_counts(first_hour, hour, TruncHour), seconds=7200)
    minutes = {**closed_minutes, **_attempt_counts(minute, None, TruncMinute)}
    current_hour = [counts for start, counts in minutes.items() if start >= hour]
    hours = {**closed_hours, hour: (sum(c[0] for c in current_hour), sum(c[1] for c in current_hour))}
    return [_series("Last hour", timedelta(minutes=1), first_minute, 60, minutes),
            _series("Last 24 hours", timedelta(hours=1), first_hour, 24, hours)]


def latest_failures(limit: int = 8) -> list[TaskAttempt]:
    return list(TaskAttempt.objects.filter(FAILED_ATTEMPT).order_by("-finished_at")
                .only("id", "run_id", "task", "number", "outcome", "exception", "message", "finished_at")
                [:limit])
