"""One task's figures over a window: the task page's charts.

- **throughput** and **failure rate**: the overview's figures (``overview.Bucket``, counted by
  ``overview._run_counts``) for one task — *runs* finished, by how they ended; a run retried
  four times finished once, and an operator's cancel is not a failure;
- **run time** and **queue wait** percentiles (p50, p95, p99), overall and per bucket: run
  time from the first attempt's start to the end (retries included), queue wait from ready
  (enqueued, or its ``run_after`` when it was deferred) to the first start.

Bounded reads: the counts are one ``GROUP BY`` over the task's runs finished in the window
(by minute or hour: at most 720 groups come back); the percentiles come from the newest
``SAMPLE_LIMIT`` of them, and say so when the window held more. Both are cached for
``CACHE_SECONDS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from taskboard.models import TaskRun
from taskboard.readmodels import overview
from taskboard.readmodels.cache import cached

SAMPLE_LIMIT = 5_000
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Window:
    label: str
    span: timedelta
    step: timedelta
    trunc: Callable[..., TruncMinute | TruncHour]  # the unit counted in, which divides ``step``


WINDOWS = {
    "1h": Window("Last hour", timedelta(hours=1), timedelta(minutes=5), TruncMinute),
    "24h": Window("Last 24 hours", timedelta(hours=24), timedelta(hours=1), TruncHour),
    "7d": Window("Last 7 days", timedelta(days=7), timedelta(hours=6), TruncHour),
    "30d": Window("Last 30 days", timedelta(days=30), timedelta(days=1), TruncHour),
}
DEFAULT_WINDOW = "24h"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when there are none)."""
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def ready_at(enqueued_at: datetime, run_after: datetime | None, started_at: datetime) -> datetime:
    """When a run became ready: its ``run_after`` if it was deferred, else its enqueue. A
    ``run_after`` later than the first start is a retry's backoff, not the initial delay."""
    return max(enqueued_at, run_after) if run_after and run_after <= started_at else enqueued_at


@dataclass
class TaskBucket(overview.Bucket):
    """The overview's runs-finished tally of one bucket, with the run times and queue waits
    of the sampled runs that finished in it (sorted)."""

    run_times: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def run_time(self, p: float) -> float | None:
        return percentile(self.run_times, p)

    def wait(self, p: float) -> float | None:
        return percentile(self.waits, p)


@dataclass
class TaskStats:
    task: str
    window: Window
    buckets: list[TaskBucket]
    run_times: list[float]  # sorted, the sample
    waits: list[float]  # sorted, the sample
    sampled: bool  # the window held more finished runs than the sample

    @property
    def total(self) -> TaskBucket:
        return TaskBucket(self.window_start, sum(b.succeeded for b in self.buckets),
                      sum(b.failed for b in self.buckets), sum(b.cancelled for b in self.buckets),
                      self.run_times, self.waits)

    @property
    def window_start(self) -> datetime:
        return self.buckets[0].start

    def percentiles(self) -> list[tuple[int, float | None, float | None]]:
        """(p, run time, queue wait) for each of PERCENTILES."""
        return [(p, percentile(self.run_times, p), percentile(self.waits, p)) for p in PERCENTILES]


def _bucket_starts(window: Window, now: datetime) -> list[datetime]:
    step = window.step.total_seconds()
    end = datetime.fromtimestamp(math.floor(now.timestamp() / step) * step + step, UTC)
    count = round(window.span / window.step)
    return [end - window.step * (count - i) for i in range(count)]


def _index(starts: list[datetime], window: Window, at: datetime) -> int | None:
    offset = (at - starts[0]) // window.step
    return offset if 0 <= offset < len(starts) else None


def task_stats(task: str, window_key: str = DEFAULT_WINDOW, now: datetime | None = None) -> TaskStats:
    window = WINDOWS[window_key]
    return cached(f"task-stats:{window_key}:{task}", lambda: _task_stats(task, window, now or timezone.now()))


def _task_stats(task: str, window: Window, now: datetime) -> TaskStats:
    starts = _bucket_starts(window, now.astimezone(UTC))
    buckets = [TaskBucket(start) for start in starts]
    # The overview's count (one definition of "runs finished"), by minute or hour, rolled up.
    for unit, (succeeded, failed, cancelled) in overview._run_counts(starts[0], None, window.trunc, task).items():
        if (i := _index(starts, window, unit)) is not None:
            buckets[i].succeeded += succeeded
            buckets[i].failed += failed
            buckets[i].cancelled += cancelled
    finished = TaskRun.objects.filter(task=task, finished_at__gte=starts[0])
    sample = (finished.filter(started_at__isnull=False).order_by("-finished_at")
              .values_list("enqueued_at", "run_after", "started_at", "finished_at")[:SAMPLE_LIMIT + 1])
    rows_read = 0
    for enqueued_at, run_after, started_at, finished_at in sample:
        rows_read += 1
        if rows_read > SAMPLE_LIMIT or started_at is None or finished_at is None:
            continue  # (the filters exclude NULLs; the check is for the type checker)
        if (i := _index(starts, window, finished_at)) is None:
            continue
        buckets[i].run_times.append(max(0.0, (finished_at - started_at).total_seconds()))
        buckets[i].waits.append(max(0.0, (started_at - ready_at(enqueued_at, run_after, started_at)).total_seconds()))
    for bucket in buckets:
        bucket.run_times.sort()
        bucket.waits.sort()
    return TaskStats(task, window, buckets, sorted(t for b in buckets for t in b.run_times),
                     sorted(w for b in buckets for w in b.waits), sampled=rows_read > SAMPLE_LIMIT)
