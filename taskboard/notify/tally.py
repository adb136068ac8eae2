"""Finished runs per task over a sliding window, each stretch of the runs table read once.

The ``failure_rate`` rule looks back minutes at every evaluation (every few seconds). Reading
the whole window each time would cost throughput × window rows (420,000 at 700 runs/s over
10 minutes); instead the evaluator keeps closed stretches in memory — a stretch is closed once
it ended ``GRACE`` ago (an outcome is stamped just before it commits) — and reads only what
closed since its last evaluation plus the still-open tail: at most ``BUCKET + GRACE`` seconds
of rows per evaluation, whatever the table size. A new evaluator (first evaluation, or the
lease moved to this host) reads its window once, grouped per minute. Counts are runs (the
overview's definition), by the status they finished in: succeeded or failed. ``reads`` names
the queries the next ``finished_runs`` needs, so the evaluator sends them with the other rules'
(one round trip) and hands their rows over; a read it was not given, it makes itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMinute

from taskboard.models import Status, TaskRun

BUCKET = timedelta(seconds=10)
GRACE = timedelta(seconds=5)
MINUTE = timedelta(minutes=1)

DECIDED = (Status.SUCCEEDED, Status.FAILED)  # the overview's failure rate: failed / (succeeded + failed)

type Counts = dict[str, tuple[int, int]]  # task -> (succeeded, failed)


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


def _runs(start: datetime, end: datetime | None) -> QuerySet[TaskRun]:
    # Only the time range: a status condition lets a planner (SQLite) walk a status index
    # over every succeeded run instead of the range of ``run_finished``.
    qs = TaskRun.objects.filter(finished_at__gte=start)
    return qs.filter(finished_at__lt=end) if end is not None else qs


def _add(counts: Counts, task: str, status: str, n: int) -> None:
    if status in DECIDED:
        ok, failed = counts.get(task, (0, 0))
        counts[task] = (ok + n, failed) if status == Status.SUCCEEDED else (ok, failed + n)


def _count_query(start: datetime, end: datetime | None) -> QuerySet[TaskRun, tuple[str, str, int]]:
    """Runs that finished in [start, end) per task and status (index ``run_finished``)."""
    return _runs(start, end).order_by().values_list("task", "status").annotate(n=Count("pk"))


def _fill_query(start: datetime, end: datetime) -> QuerySet[TaskRun, tuple[datetime, str, str, int]]:
    return (_runs(start, end).annotate(minute=TruncMinute("finished_at", tzinfo=UTC)).order_by()
            .values_list("minute", "task", "status").annotate(n=Count("pk")))


def _counts(rows: Iterable[tuple[str, str, int]]) -> Counts:
    counts: Counts = {}
    for task, status, n in rows:
        _add(counts, task, status, n)
    return counts


type Reads = Mapping[str, Iterable[tuple[Any, ...]]]


@dataclass
class Block:
    start: datetime
    end: datetime
    counts: Counts


class Tally:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.since: datetime | None = None  # where the stretches read so far begin
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.blocks, self.since = [], None

    def _fill(self, start: datetime, end: datetime, rows: Iterable[tuple[Any, ...]]) -> None:
        minutes: dict[datetime, Counts] = {}
        for minute, task, status, n in rows:
            _add(minutes.setdefault(minute, {}), task, status, n)
        self.blocks = [Block(max(m, start), min(m + MINUTE, end), counts) for m, counts in sorted(minutes.items())]
        self.blocks.append(Block(end, end, {}))  # marks how far the closed part reaches
        self.since = start

    def _plan(self, now: datetime, window: float) -> tuple[datetime, datetime, str]:
        """(start, closed, what to read): "fill" the window, "append" what closed since, or "tail" only."""
        start = _floor(now - timedelta(seconds=window), BUCKET)
        closed = _floor(now - GRACE, BUCKET)
        reached = self.blocks[-1].end if self.blocks else None
        if reached is None or self.since is None or reached > closed or reached < start \
                or self.since > start + BUCKET:
            return start, closed, "fill"  # first evaluation, a gap, or a wider window
        return start, closed, "append" if reached < closed else "tail"

    def reads(self, now: datetime, window: float) -> dict[str, QuerySet[TaskRun, Any]]:
        """What ``finished_runs(now, window)`` will read, by name: to be read together with
        other queries and handed to it (``rows``)."""
        with self.lock:
            start, closed, action = self._plan(now, window)
            reached = self.blocks[-1].end if self.blocks else start
        found: dict[str, QuerySet[TaskRun, Any]] = {}
        if action == "fill":
            found[f"tally fill {start} {closed}"] = _fill_query(start, closed)
        elif action == "append":
            found[f"tally count {reached} {closed}"] = _count_query(reached, closed)
        found[f"tally count {closed} -"] = _count_query(closed, None)
        return found

    def finished_runs(self, now: datetime, window: float, rows: Reads | None = None) -> Counts:
        """Succeeded and failed runs per task that finished in the last ``window`` seconds
        (in whole buckets: up to ``BUCKET`` more at the far end). ``rows``: what ``reads``
        named, read already (a read missing there is made now)."""
        rows = rows or {}
        with self.lock:
            start, closed, action = self._plan(now, window)
            if action == "fill":
                name = f"tally fill {start} {closed}"
                self._fill(start, closed, rows[name] if name in rows else _fill_query(start, closed))
            elif action == "append":
                reached = self.blocks[-1].end
                name = f"tally count {reached} {closed}"
                counts = _counts(rows[name] if name in rows else _count_query(reached, closed))
                self.blocks.append(Block(reached, closed, counts))
            self.blocks = [block for block in self.blocks if block.end > start or block is self.blocks[-1]]
            name = f"tally count {closed} -"
            tail = _counts(rows[name] if name in rows else _count_query(closed, None))
            totals: dict[str, list[int]] = {}
            for counts in [*(block.counts for block in self.blocks), tail]:
                for task, (ok, failed) in counts.items():
                    total = totals.setdefault(task, [0, 0])
                    total[0] += ok
                    total[1] += failed
        return {task: (ok, failed) for task, (ok, failed) in totals.items()}


_tally = Tally()


def reads(now: datetime, window: float) -> dict[str, QuerySet[TaskRun, Any]]:
    return _tally.reads(now, window)


def finished_runs(now: datetime, window: float, rows: Reads | None = None) -> Counts:
    return _tally.finished_runs(now, window, rows)


def reset() -> None:
    """Forget what was read (tests; a database that was swapped underneath)."""
    _tally.reset()
