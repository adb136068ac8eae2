"""Failure groups: failed attempts rolled up by fingerprint (task x exception x message).

Aggregates are time-bounded on an indexed timestamp (at most ``FAILURE_WINDOW``). Failure
counts are rolled up per hour. An hour that has closed never changes (an attempt is stamped
with the time it is recorded), so its cells are computed once and kept in the cache; only the
last two hours are read live. The seven-day window is 168 whole hours, the last one still
running. Cold, the first visit reads the whole window once. A From/To range is read in one
pass over its rows (at most ``FAILURE_WINDOW`` of them). Whole lists of groups are cached for
``CACHE_SECONDS``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from taskboard.models import FINISHED, DeadLetter, Status, TaskAttempt
from taskboard.models.attempts import FAILED
from taskboard.readmodels.cache import cache_get, cache_set, cached

FAILURE_WINDOW = timedelta(days=7)
FAILURE_GROUPS = 50
# A group's "recovered" share samples its newest failing attempts: at most RECOVERY_SAMPLE
# attempts over all groups, RECOVERY_RUNS finished runs per group, from the last day.
RECOVERY_SAMPLE_WINDOW = timedelta(hours=24)
RECOVERY_SAMPLE = 1_000
RECOVERY_RUNS = 30
SPARK_BUCKETS = 28  # 7 days in 6-hour bars

HOUR = timedelta(hours=1)
WINDOW_HOURS = 168
CLOSED_HOURS_TTL = 24 * 3600

# What counts as a failure: every attempt that did not succeed, except an operator's cancel,
# which is a decision, not an error (it forms no failure group and is no failed attempt).
# The one definition is the model's, which is also the condition of the partial index
# ``attempt_failures`` (PostgreSQL answers these queries from that index alone; SQLite matches
# a partial index only against literal values, and Django binds them, so it reads the table).
FAILED_ATTEMPT = FAILED

# Aggregates count a column of the covering index (never NULL) rather than the primary key,
# so PostgreSQL can answer them with index-only scans. (COUNT(*) cannot take a FILTER here.)
COUNTED = "finished_at"

type Cells = dict[datetime, dict[str, tuple[int, datetime, datetime]]]  # hour -> fingerprint -> (n, first, last)


@dataclass
class FailureGroup:
    fingerprint: str
    count_1h: int
    count_24h: int
    count_7d: int
    first_seen: datetime
    last_seen: datetime
    task: str = ""
    exception: str = ""
    message: str = ""
    outcome: str = ""
    sample_run_id: uuid.UUID | None = None
    spark: list[int] = field(default_factory=list)
    runs: int = 0
    recovered: int = 0
    count_range: int = 0  # failed attempts in the asked range (``failure_groups(since=, until=)``)
    sample: TaskAttempt | None = None  # the latest attempt, on the group's own page

    @property
    def exception_name(self) -> str:
        return self.exception.rsplit(".", 1)[-1]

    @property
    def recovered_share(self) -> float | None:
        return self.recovered / self.runs if self.runs else None

    def describe(self, sample: TaskAttempt, message_limit: int | None = None) -> None:
        """Take task, exception, message and outcome from the group's latest attempt."""
        self.task, self.exception, self.outcome = sample.task, sample.exception, sample.outcome
        self.message, self.sample_run_id = sample.message[:message_limit], sample.run_id


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly() -> TruncHour:
    return TruncHour("finished_at", tzinfo=UTC)


def _failed_attempts(task: str | None, start: datetime, end: datetime | None = None) -> QuerySet[TaskAttempt]:
    # Index attempt_failures (finished_at, fingerprint) WHERE FAILED: a range scan. The
    # fingerprint hashes task, exception and the normalised message, so grouping by it is
    # grouping by task x exception x message.
    attempts = TaskAttempt.objects.filter(FAILED_ATTEMPT, finished_at__gte=start)
    if end is not None:
        attempts = attempts.filter(finished_at__lt=end)
    if task:
        attempts = attempts.filter(task=task)
    return attempts


def _closed_hours(task: str | None, start: datetime, end: datetime, *, compute: bool = True) -> Cells | None:
    """Hourly cells of ``[start, end)``; missing hours are computed (or None if not ``compute``)."""
    key = f"failure-hours:{task or ''}"
    stored: Cells = cache_get(key) or {}
    wanted = [start + HOUR * i for i in range(round((end - start) / HOUR))]
    missing = [hour for hour in wanted if hour not in stored]
    if missing:
        if not compute:
            return None
        rows = (_failed_attempts(task, missing[0], missing[-1] + HOUR).annotate(hour=hourly())
                .values("hour", "fingerprint")
                .annotate(n=Count("*"), first=Min("finished_at"), last=Max("finished_at")).order_by())
        fresh: Cells = {}
        for row in rows:
            fresh.setdefault(row["hour"], {})[row["fingerprint"]] = (row["n"], row["first"], row["last"])
        stored.update({hour: fresh.get(hour, {}) for hour in missing})
        stored = {hour: stored[hour] for hour in wanted}
        cache_set(key, stored, CLOSED_HOURS_TTL)
    return {hour: stored[hour] for hour in wanted}


def failure_stats(task: str | None, now: datetime, *, compute: bool = True) -> dict[str, FailureGroup] | None:
    """Counts, first/last seen and sparkline of every failure group of the window."""
    current = floor_hour(now)
    start = current - HOUR * (WINDOW_HOURS - 1)
    live_start = current - HOUR  # the previous hour stays live: late commits may still land there
    closed = _closed_hours(task, start, live_start, compute=compute)
    if closed is None:
        return None
    live = (_failed_attempts(task, live_start).annotate(hour=hourly()).values("hour", "fingerprint")
            .annotate(n=Count("*"), n_1h=Count(COUNTED, filter=Q(finished_at__gte=now - HOUR)),
                      first=Min("finished_at"), last=Max("finished_at")).order_by())
    groups: dict[str, FailureGroup] = {}
    day_start = current - HOUR * 23
    hours_per_bar = WINDOW_HOURS // SPARK_BUCKETS

    def add(fingerprint: str, hour: datetime, n: int, first: datetime, last: datetime) -> FailureGroup:
        group = groups.get(fingerprint)
        if group is None:
            group = groups[fingerprint] = FailureGroup(fingerprint, 0, 0, 0, first, last,
                                                       spark=[0] * SPARK_BUCKETS)
        group.count_7d += n
        if hour >= day_start:
            group.count_24h += n
        group.first_seen, group.last_seen = min(group.first_seen, first), max(group.last_seen, last)
        group.spark[min(SPARK_BUCKETS - 1, int((hour - start) / HOUR) // hours_per_bar)] += n
        return group

    for hour, cells in closed.items():
        for fingerprint, (n, first, last) in cells.items():
            add(fingerprint, hour, n, first, last)
    for row in live:
        add(row["fingerprint"], row["hour"], row["n"], row["first"], row["last"]).count_1h += row["n_1h"]
    return groups


def failure_groups(task: str | None = None, sort: str = "recent", *, since: datetime | None = None,
                   until: datetime | None = None) -> list[FailureGroup]:
    """The groups of the last seven days (counted per hour, day and week), or of the failed
    attempts in ``[since, until)`` (counted in ``count_range``): at most ``FAILURE_WINDOW``
    ending at ``until`` (or now), so the aggregate stays a bounded range scan."""
    if since is None and until is None:
        return cached(f"failures:{sort}:{task or ''}", lambda: _failure_groups(timezone.now(), task, sort))
    key = f"failures:{sort}:{task or ''}:{since and since.isoformat()}:{until and until.isoformat()}"
    return cached(key, lambda: _range_groups(task, sort, since, until, timezone.now()))


def _failure_groups(now: datetime, task: str | None, sort: str) -> list[FailureGroup]:
    stats = failure_stats(task, now) or {}
    return _top(stats, sort, lambda g: g.count_24h, now - timedelta(hours=24), None)


def _top(stats: dict[str, FailureGroup], sort: str, frequency: Callable[[FailureGroup], int],
         recovery_start: datetime, recovery_end: datetime | None) -> list[FailureGroup]:
    if sort == "frequent":
        top = sorted(stats.values(), key=lambda g: (frequency(g), g.last_seen), reverse=True)
    else:
        top = sorted(stats.values(), key=lambda g: g.last_seen, reverse=True)
    groups = {group.fingerprint: group for group in top[:FAILURE_GROUPS]}
    if groups:
        _add_samples(groups)
        _add_recovery(groups, recovery_start, recovery_end)
    return list(groups.values())


def _range_groups(task: str | None, sort: str, since: datetime | None, until: datetime | None,
                  now: datetime) -> list[FailureGroup]:
    end = until or now
    start = max(since or end - FAILURE_WINDOW, end - FAILURE_WINDOW)
    if start >= end:
        return []
    # One pass over the range's index entries, per hour (for the sparkline) and group.
    rows = (_failed_attempts(task, start, end).annotate(hour=hourly()).values("hour", "fingerprint")
            .annotate(n=Count("*"), first=Min("finished_at"), last=Max("finished_at")).order_by())
    first_hour = floor_hour(start)
    hours = max(1, math.ceil((end - first_hour) / HOUR))
    stats: dict[str, FailureGroup] = {}
    for row in rows:
        group = stats.get(row["fingerprint"])
        if group is None:
            group = stats[row["fingerprint"]] = FailureGroup(row["fingerprint"], 0, 0, 0, row["first"], row["last"],
                                                             spark=[0] * SPARK_BUCKETS)
        group.count_range += row["n"]
        group.first_seen, group.last_seen = min(group.first_seen, row["first"]), max(group.last_seen, row["last"])
        group.spark[min(SPARK_BUCKETS - 1, int((row["hour"] - first_hour) / HOUR) * SPARK_BUCKETS // hours)] += row["n"]
    return _top(stats, sort, lambda g: g.count_range, max(start, end - RECOVERY_SAMPLE_WINDOW), end)


def _add_samples(groups: dict[str, FailureGroup]) -> None:
    # The latest attempt of each group, by its (fingerprint, finished_at) index entry.
    latest = Q()
    for group in groups.values():
        latest |= Q(fingerprint=group.fingerprint, finished_at=group.last_seen)
    for sample in (TaskAttempt.objects.filter(latest)
                   .only("fingerprint", "task", "exception", "message", "outcome", "run_id")):
        groups[sample.fingerprint].describe(sample, message_limit=500)


def _add_recovery(groups: dict[str, FailureGroup], start: datetime, end: datetime | None) -> None:
    # Of the runs that hit this failure in [start, end) (the last day of the window) and have
    # finished since, the share that still succeeded: "does retrying this help?". A bounded
    # sample of the newest failing attempts.
    attempts = TaskAttempt.objects.filter(FAILED_ATTEMPT, fingerprint__in=list(groups), finished_at__gte=start)
    if end is not None:
        attempts = attempts.filter(finished_at__lt=end)
    rows = (attempts.order_by("-finished_at").values_list("fingerprint", "run_id", "run__status")
            [:RECOVERY_SAMPLE])
    sampled: dict[str, dict[uuid.UUID, str]] = {fingerprint: {} for fingerprint in groups}
    for fingerprint, run_id, status in rows:
        runs = sampled[fingerprint]
        if status in FINISHED and len(runs) < RECOVERY_RUNS:
            runs.setdefault(run_id, status)
    for fingerprint, runs in sampled.items():
        groups[fingerprint].runs = len(runs)
        groups[fingerprint].recovered = sum(1 for status in runs.values() if status == Status.SUCCEEDED)


def group_summary(fingerprint: str) -> FailureGroup | None:
    """One group's counts and latest attempt, for its drill-down page."""
    now = timezone.now()
    sample = (TaskAttempt.objects.filter(FAILED_ATTEMPT, fingerprint=fingerprint).order_by("-finished_at")
              .only("task", "exception", "message", "outcome", "run_id", "traceback", "finished_at").first())
    if sample is None or not fingerprint:
        return None
    # The rollup when it is warm (the failures page was just seen); else this group's rows.
    stats = failure_stats(None, now, compute=False)
    if stats is not None:
        group = stats.get(fingerprint) or FailureGroup(fingerprint, 0, 0, 0, sample.finished_at, sample.finished_at)
    else:
        # One group's 7 days of rows: cheap for most groups, not for a hot one, so keep the
        # answer for a few seconds like the other aggregates (the page polls nothing heavier).
        row = cached(f"group:{fingerprint}", lambda: _group_counts(fingerprint, now))
        group = FailureGroup(fingerprint, row["count_1h"], row["count_24h"], row["count_7d"],
                             row["first_seen"] or sample.finished_at, row["last_seen"] or sample.finished_at)
    group.describe(sample)
    group.sample = sample
    return group


def _group_counts(fingerprint: str, now: datetime) -> dict[str, Any]:
    return TaskAttempt.objects.filter(FAILED_ATTEMPT, fingerprint=fingerprint,
                                      finished_at__gte=now - FAILURE_WINDOW).aggregate(
        count_7d=Count("*"),
        count_24h=Count(COUNTED, filter=Q(finished_at__gte=now - timedelta(hours=24))),
        count_1h=Count(COUNTED, filter=Q(finished_at__gte=now - HOUR)),
        first_seen=Min("finished_at"), last_seen=Max("finished_at"),
    )


def group_attempts(fingerprint: str) -> QuerySet[TaskAttempt]:
    return (TaskAttempt.objects.filter(FAILED_ATTEMPT, fingerprint=fingerprint).select_related("run")
            .only("id", "number", "outcome", "message", "finished_at", "started_at", "worker", "run_id",
                  "run__id", "run__status", "run__queue", "run__attempts", "run__max_attempts", "run__args",
                  "run__kwargs", "run__enqueued_at"))


def group_dead_letters(fingerprint: str, task: str) -> QuerySet[DeadLetter]:
    """Open dead letters whose run failed for good with this fingerprint (its last attempt),
    oldest first, as ``operations.open_dead_letters`` orders them for a replay."""
    return (DeadLetter.objects.unresolved()
            .filter(task=task, run__attempt_set__fingerprint=fingerprint,
                    run__attempt_set__number=F("run__attempts"))
            .order_by("created_at", "id"))
