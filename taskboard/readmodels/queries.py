"""Read models of the dashboard, built to stay cheap at millions of rows.

- No ``COUNT(*)`` over a table: counts are bounded (``count`` of ``qs[:bound + 1]``, shown as
  "10,000+").
- Lists are keyset pages on an indexed ``(timestamp, id)`` pair, never ``OFFSET``.
- Aggregates are time-bounded on an indexed timestamp (at most ``FAILURE_WINDOW``). Failure
  groups are rolled up per closed hour in the cache (an hour that has passed never changes),
  so a visit reads two live hours plus one cache entry. Whole pages of aggregates (failure
  groups, the 24 h chart) are cached for ``CACHE_SECONDS``: ten operators watching the same
  page cost one computation.
- Text search, which no index can serve, scans a bounded window (see ``forms``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, Min, Model, Q, QuerySet
from django.db.models.functions import TruncHour, TruncMinute
from django.tasks import task_backends
from django.utils import timezone

from taskboard.conf import conf
from taskboard.models import FINISHED, DeadLetter, Outcome, Status, TaskAttempt, TaskRun, WorkerNode
from taskboard.readmodels import representations as serializers
from taskboard.transport import cluster as transport_cluster

logger = logging.getLogger("taskboard.dashboard")

PAGE_SIZE = 50
LIST_COUNT_BOUND = 1_000
PANEL_COUNT_BOUND = 2_000
FAILURE_WINDOW = timedelta(days=7)
FAILURE_GROUPS = 50
# A group's "recovered" share samples its newest failing attempts: at most RECOVERY_SAMPLE
# attempts over all groups, RECOVERY_RUNS finished runs per group, from the last day.
RECOVERY_SAMPLE_WINDOW = timedelta(hours=24)
RECOVERY_SAMPLE = 1_000
RECOVERY_RUNS = 30
CACHE_SECONDS = 15
SPARK_BUCKETS = 28  # 7 days in 6-hour bars

# The partial index ``attempt_failures`` is declared with exactly this condition; queries
# that should use it must filter with it verbatim.
FAILED_ATTEMPT = ~Q(outcome=Outcome.SUCCEEDED)

# Aggregates count a column of the covering index (never NULL) rather than the primary key,
# so PostgreSQL can answer them with index-only scans. (COUNT(*) cannot take a FILTER here.)
COUNTED = "finished_at"


# --- counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundedCount:
    value: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.more else f"{self.value:,}"


def bounded_count(qs: QuerySet[Any], bound: int) -> BoundedCount:
    """Counts at most ``bound`` rows: ``SELECT COUNT(*) FROM (... LIMIT bound + 1)``."""
    counted = qs.order_by().values("pk")[: bound + 1].count()
    return BoundedCount(min(counted, bound), counted > bound)


def page_count(page: Page[Any], qs: QuerySet[Any], bound: int) -> BoundedCount:
    """How many rows match: a first page that is not full is the answer, no query needed."""
    if page.is_first and page.older is None:
        return BoundedCount(len(page.rows))
    return bounded_count(qs, bound)


# --- keyset pagination ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by ``(timestamp, pk)`` descending, opaque in URLs."""

    at: datetime
    pk: str

    # The same opaque format as the JSON API's cursors (serializers): one encoding to keep.
    def encode(self) -> str:
        return serializers.encode_cursor(self.at, self.pk)

    @classmethod
    def decode(cls, token: str | None, pk_type: Callable[[str], Any]) -> Cursor | None:
        """None for a missing or malformed token (the page then starts at the top)."""
        if not token or len(token) > 200:
            return None
        try:
            at, pk = serializers.decode_cursor(token)
            pk = str(pk_type(pk))
        except (serializers.BadInput, ValueError):
            return None
        return cls(at, pk)


@dataclass
class Page[T]:
    rows: list[T]
    older: str | None = None  # cursor of the next (older) page
    newer: str | None = None  # cursor of the previous (newer) page
    is_first: bool = True


def keyset_page[M: Model](qs: QuerySet[M], time_field: str, *, after: Cursor | None = None,
                before: Cursor | None = None, size: int | None = None) -> Page[M]:
    """One page of ``qs`` newest first; ``after`` pages to older rows, ``before`` to newer.

    The extra ``time <= t`` (or ``>=``) condition lets the database seek the
    ``(time, id)`` index instead of filtering the OR row by row.
    """

    size = size or PAGE_SIZE

    def cursor(row: M) -> str:
        return Cursor(getattr(row, time_field), str(row.pk)).encode()

    if before is not None:
        newer = qs.filter(
            Q(**{f"{time_field}__gt": before.at}) | Q(**{time_field: before.at, "pk__gt": before.pk}),
            **{f"{time_field}__gte": before.at},
        ).order_by(time_field, "pk")
        rows = list(newer[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows, older=cursor(rows[-1]) if rows else None,
                    newer=cursor(rows[0]) if rows and has_newer else None, is_first=not has_newer)
    if after is not None:
        qs = qs.filter(
            Q(**{f"{time_field}__lt": after.at}) | Q(**{time_field: after.at, "pk__lt": after.pk}),
            **{f"{time_field}__lte": after.at},
        )
    rows = list(qs.order_by(f"-{time_field}", "-pk")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return Page(rows, older=cursor(rows[-1]) if has_older else None,
                newer=cursor(rows[0]) if after is not None and rows else None, is_first=after is None)


# --- caching ----------------------------------------------------------------------------------


def cache_get(key: str) -> Any:
    try:
        return cache.get(f"taskboard:dash:{key}")
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
        logger.warning("dashboard cache unavailable", exc_info=True)
        return None


def cache_set(key: str, value: Any, seconds: int) -> None:
    try:
        cache.set(f"taskboard:dash:{key}", value, seconds)
    except Exception:  # noqa: BLE001
        logger.warning("dashboard cache unavailable", exc_info=True)


def cached[T](key: str, compute: Callable[[], T], seconds: int = CACHE_SECONDS) -> T:
    """``compute()`` memoised in the shared cache for a few seconds."""
    value = cache_get(key)
    if value is None:
        value = compute()
        cache_set(key, value, seconds)
    return value


# --- overview -------------------------------------------------------------------------------


def configured_queues() -> list[str]:
    queues = getattr(task_backends["default"], "queues", None)
    return sorted(queues) if queues else ["default"]


def status_counts() -> list[tuple[Status, BoundedCount]]:
    # One bounded index scan per status (index run_status_list) instead of a GROUP BY that
    # reads every row of the table.
    return [(s, bounded_count(TaskRun.objects.filter(status=s), PANEL_COUNT_BOUND)) for s in Status]


def open_dead_letter_count() -> BoundedCount:
    return bounded_count(DeadLetter.objects.unresolved(), PANEL_COUNT_BOUND)


@dataclass
class QueueRow:
    name: str
    queued: BoundedCount
    running: BoundedCount
    oldest: datetime | None
    broker: int | None


def queue_rows() -> list[QueueRow]:
    rows = []
    for name in configured_queues():
        queued = TaskRun.objects.filter(status=Status.QUEUED, queue=name)
        running = TaskRun.objects.filter(status=Status.RUNNING, queue=name)
        # index run_dispatched (status, queue, dispatched_at): dispatched_at is when the run
        # became ready, so this is how long the oldest ready run has been waiting.
        oldest = (queued.order_by(F("dispatched_at").asc(nulls_last=True))
                  .values_list("dispatched_at", flat=True).first())
        try:
            broker: int | None = transport_cluster.queue_depth(name)
        except Exception:  # noqa: BLE001 - a broker outage must not break the page
            broker = None
        rows.append(QueueRow(name, bounded_count(queued, PANEL_COUNT_BOUND),
                             bounded_count(running, PANEL_COUNT_BOUND), oldest, broker))
    return rows


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


def _attempt_counts(start: datetime, end: datetime | None, trunc: Any) -> dict[datetime, tuple[int, int]]:
    """(total, failed) attempts per bucket finished in [start, end)."""
    # index attempt_outcome_time (outcome, finished_at): the IN list lets the database range
    # scan each outcome instead of reading the whole table.
    qs = TaskAttempt.objects.filter(outcome__in=list(Outcome.values), finished_at__gte=start)
    if end is not None:
        qs = qs.filter(finished_at__lt=end)
    rows = (qs.annotate(bucket=trunc("finished_at", tzinfo=UTC)).values("bucket")
            .annotate(total=Count("*"), failed=Count(COUNTED, filter=FAILED_ATTEMPT)).order_by())
    return {row["bucket"]: (row["total"], row["failed"]) for row in rows}


def _series(title: str, step: timedelta, start: datetime, count: int,
            counts: dict[datetime, tuple[int, int]]) -> Series:
    buckets = []
    for i in range(count):
        total, failed = counts.get(start + step * i, (0, 0))
        buckets.append(Bucket(start + step * i, total, failed))
    return Series(title, step, buckets)


def charts(now: datetime | None = None) -> list[Series]:
    """Attempts per minute over the last hour and per hour over the last 24 hours.

    Closed buckets never change, so they are computed once per bucket period and cached; only
    the current minute is read live. The current hour is the sum of its minutes.
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


# --- workers --------------------------------------------------------------------------------


@dataclass
class NodeView:
    node: WorkerNode
    state: str  # alive | stale | stopped
    running: list[TaskRun] = field(default_factory=list)

    @property
    def identities(self) -> set[str]:
        return {f"{self.node.hostname}:{pid}" for pids in (self.node.cluster_pids or {}).values()
                for pid in pids}

    @property
    def processes(self) -> int:
        return sum(len(pids) for pids in (self.node.cluster_pids or {}).values())

    @property
    def uptime(self) -> timedelta | None:
        if self.state != "alive":
            return None
        return timezone.now() - self.node.started_at


def node_state(node: WorkerNode, now: datetime) -> str:
    if node.stopped_at is not None:
        return "stopped"
    if node.last_seen >= now - timedelta(seconds=conf.WORKER_STALE_SECONDS):
        return "alive"
    return "stale"


def alive_nodes(now: datetime | None = None) -> list[NodeView]:
    now = now or timezone.now()
    fresh = now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    nodes = WorkerNode.objects.filter(last_seen__gte=fresh, stopped_at__isnull=True)[:50]
    return [NodeView(node, "alive") for node in nodes]


def worker_nodes(limit: int = 100) -> tuple[list[NodeView], list[TaskRun]]:
    """Every recent node with the runs it executes now, and running runs no node claims."""
    now = timezone.now()
    views = [NodeView(node, node_state(node, now)) for node in WorkerNode.objects.order_by("-last_seen")[:limit]]
    owner = {identity: view for view in views for identity in view.identities}
    unattributed = []
    for run in running_runs():
        view = owner.get(run.worker)
        if view is None:
            unattributed.append(run)
        else:
            view.running.append(run)
    return views, unattributed


def running_runs(limit: int = 500) -> list[TaskRun]:
    return list(TaskRun.objects.filter(status=Status.RUNNING).order_by("claimed_at")
                .only("id", "task", "queue", "status", "attempts", "max_attempts", "progress",
                      "progress_message", "claimed_at", "worker", "cancel_requested")[:limit])


def cluster_stats() -> list[dict[str, Any]] | None:
    """django-q2's published cluster status; None when it cannot be read."""
    try:
        return transport_cluster.cluster_stats()
    except Exception:  # noqa: BLE001 - an empty or broken cache must not break the page
        logger.warning("cluster stats unavailable", exc_info=True)
        return None


# --- failure groups ---------------------------------------------------------------------------


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
    sample_run_id: Any = None
    spark: list[int] = field(default_factory=list)
    runs: int = 0
    recovered: int = 0

    @property
    def exception_name(self) -> str:
        return self.exception.rsplit(".", 1)[-1]

    @property
    def recovered_share(self) -> float | None:
        return self.recovered / self.runs if self.runs else None


# Failure counts are rolled up per hour. An hour that has closed never changes (an attempt is
# stamped with the time it is recorded), so its cells are computed once and kept in the cache;
# only the last two hours are read live. The seven-day window is 168 whole hours, the last one
# still running. Cold, the first visit reads the whole window once.
HOUR = timedelta(hours=1)
WINDOW_HOURS = 168
CLOSED_HOURS_TTL = 24 * 3600
Cells = dict[datetime, dict[str, tuple[int, datetime, datetime]]]  # hour -> fingerprint -> (n, first, last)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _failed_attempts(task: str | None, start: datetime, end: datetime | None = None) -> QuerySet[TaskAttempt]:
    # Index attempt_failures (finished_at, fingerprint) WHERE outcome <> 'succeeded': an
    # index-only range scan. The fingerprint hashes task, exception and the normalised
    # message, so grouping by it is grouping by task x exception x message.
    attempts = TaskAttempt.objects.filter(FAILED_ATTEMPT, finished_at__gte=start)
    if end is not None:
        attempts = attempts.filter(finished_at__lt=end)
    if task:
        attempts = attempts.filter(task=task)
    return attempts.annotate(hour=TruncHour("finished_at", tzinfo=UTC))


def _closed_hours(task: str | None, start: datetime, end: datetime, *, compute: bool = True) -> Cells | None:
    """Hourly cells of ``[start, end)``; missing hours are computed (or None if not ``compute``)."""
    key = f"failure-hours:{task or ''}"
    stored: Cells = cache_get(key) or {}
    wanted = [start + HOUR * i for i in range(round((end - start) / HOUR))]
    missing = [hour for hour in wanted if hour not in stored]
    if missing:
        if not compute:
            return None
        rows = (_failed_attempts(task, missing[0], missing[-1] + HOUR).values("hour", "fingerprint")
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
    live = (_failed_attempts(task, live_start).values("hour", "fingerprint")
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


def failure_groups(task: str | None = None, sort: str = "recent") -> list[FailureGroup]:
    key = f"failures:{sort}:{task or ''}"
    return cached(key, lambda: _failure_groups(timezone.now(), task, sort))


def _failure_groups(now: datetime, task: str | None, sort: str) -> list[FailureGroup]:
    stats = failure_stats(task, now) or {}
    if sort == "frequent":
        top = sorted(stats.values(), key=lambda g: (g.count_24h, g.last_seen), reverse=True)
    else:
        top = sorted(stats.values(), key=lambda g: g.last_seen, reverse=True)
    groups = {group.fingerprint: group for group in top[:FAILURE_GROUPS]}
    if groups:
        _add_samples(groups)
        _add_recovery(groups, now)
    return list(groups.values())


def _add_samples(groups: dict[str, FailureGroup]) -> None:
    # The latest attempt of each group, by its (fingerprint, finished_at) index entry.
    latest = Q()
    for group in groups.values():
        latest |= Q(fingerprint=group.fingerprint, finished_at=group.last_seen)
    for sample in (TaskAttempt.objects.filter(latest)
                   .only("fingerprint", "task", "exception", "message", "outcome", "run_id")):
        group = groups[sample.fingerprint]
        group.task, group.exception, group.outcome = sample.task, sample.exception, sample.outcome
        group.message, group.sample_run_id = sample.message[:500], sample.run_id


def _add_recovery(groups: dict[str, FailureGroup], now: datetime) -> None:
    # Of the runs that recently hit this failure and have finished since, the share that still
    # succeeded: "does retrying this help?". A bounded sample of the newest failing attempts.
    rows = (TaskAttempt.objects.filter(FAILED_ATTEMPT, fingerprint__in=list(groups),
                                       finished_at__gte=now - RECOVERY_SAMPLE_WINDOW)
            .order_by("-finished_at").values_list("fingerprint", "run_id", "run__status")[:RECOVERY_SAMPLE])
    sampled: dict[str, dict[Any, str]] = {fingerprint: {} for fingerprint in groups}
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
    sample = (TaskAttempt.objects.filter(fingerprint=fingerprint).order_by("-finished_at")
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
        row = cached(f"group:{fingerprint}", lambda: TaskAttempt.objects.filter(
            fingerprint=fingerprint, finished_at__gte=now - FAILURE_WINDOW).aggregate(
            count_7d=Count("*"),
            count_24h=Count(COUNTED, filter=Q(finished_at__gte=now - timedelta(hours=24))),
            count_1h=Count(COUNTED, filter=Q(finished_at__gte=now - HOUR)),
            first_seen=Min("finished_at"), last_seen=Max("finished_at"),
        ))
        group = FailureGroup(fingerprint, row["count_1h"], row["count_24h"], row["count_7d"],
                             row["first_seen"] or sample.finished_at, row["last_seen"] or sample.finished_at)
    group.task, group.exception, group.outcome = sample.task, sample.exception, sample.outcome
    group.message, group.sample_run_id = sample.message, sample.run_id
    group.sample = sample  # type: ignore[attr-defined]
    return group


def group_attempts(fingerprint: str) -> QuerySet[TaskAttempt]:
    return (TaskAttempt.objects.filter(fingerprint=fingerprint).select_related("run")
            .only("id", "number", "outcome", "message", "finished_at", "started_at", "worker", "run_id",
                  "run__id", "run__status", "run__queue", "run__attempts", "run__max_attempts", "run__args",
                  "run__kwargs", "run__enqueued_at"))


def group_dead_letters(fingerprint: str, task: str) -> QuerySet[DeadLetter]:
    """Open dead letters whose run failed for good with this fingerprint (its last attempt)."""
    from taskboard import operations

    return operations.open_dead_letters(task=task, q=Q(
        run__attempt_set__fingerprint=fingerprint, run__attempt_set__number=F("run__attempts")))


# --- lists ------------------------------------------------------------------------------------


def run_list_queryset() -> QuerySet[TaskRun]:
    # The list never shows results or checkpoints, which can be large.
    return TaskRun.objects.defer("result", "checkpoint", "backoff")


def dead_letter_queryset(resolved: bool) -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.filter(resolved_at__isnull=not resolved).select_related("run")
    return qs.only("id", "task", "reason", "created_at", "resolved_at", "resolution", "resolved_by_name",
                   "replay_run_id", "run_id", "run__id", "run__status", "run__last_error", "run__attempts",
                   "run__max_attempts", "run__queue", "run__enqueued_at")


def parse_ids[T](values: Iterable[str], kind: Callable[[str], T], limit: int) -> list[T] | None:
    """Validated ids from a form, or None when one of them is malformed."""
    ids: list[T] = []
    for value in values:
        try:
            ids.append(kind(value))
        except (TypeError, ValueError):
            return None
        if len(ids) > limit:
            return None
    return list(dict.fromkeys(ids))
