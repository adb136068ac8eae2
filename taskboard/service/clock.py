"""The clock: the one-second loop body of every ``taskboard_worker``, safe on many hosts.

``tick()``:
1. due ``scheduled``/``retrying`` runs become ``queued`` and are pushed;
2. runs whose lease expired (their worker died) get a ``lost`` attempt, then retry or fail
   (``task_finished`` is sent for those that failed);
3. queued runs that nobody claimed while their queue had idle workers and an empty broker
   queue are pushed again (the message was lost: Redis drops in-flight messages of a killed
   cluster; the ORM broker takes messages at dequeue);
4. held runs whose obstacle went are released (``flow.release.sweep``: rate windows, breakers
   moving on time, pauses lifted, slots freed by lost runs).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.db import connection, transaction
from django.utils import timezone

from taskboard.conf import conf
from taskboard.execution.recording import send_finished_for
from taskboard.flow import breakers as flow_breakers
from taskboard.flow import release as flow_release
from taskboard.models import Status, TaskRun, WorkerNode
from taskboard.transport.cluster import queue_depth
from taskboard.transport.push import push_many

logger = structlog.get_logger("taskboard.service.clock")


@dataclass
class TickResult:
    dispatched: int = 0
    lost: int = 0
    redispatched: int = 0
    released: int = 0


def _lock_batch(queryset: Any, limit: int) -> list[Any]:
    # PostgreSQL: hosts split the work instead of queueing on row locks. SQLite has no row
    # locks (Django drops FOR UPDATE) but serialises write transactions, which is enough.
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(queryset[:limit])


def dispatch_due(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    qs = TaskRun.objects.due(now).order_by("-priority", "run_after")
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    by_queue: dict[str, list[Any]] = {}
    # A plain read first: on SQLite every transaction takes the database write lock.
    if not qs.exists():
        return 0
    with transaction.atomic():
        rows = _lock_batch(qs.values_list("pk", "queue"), conf.DISPATCH_BATCH)
        if not rows:
            return 0
        TaskRun.objects.filter(pk__in=[pk for pk, _ in rows], status__in=[
            Status.SCHEDULED, Status.RETRYING]).update(status=Status.QUEUED, dispatched_at=now)
        for pk, queue in rows:
            by_queue.setdefault(queue, []).append(pk)
    for queue, ids in by_queue.items():
        push_many(ids, queue)
    return len(rows)


def recover_lost(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    qs = TaskRun.objects.stale(now).order_by("lease_expires_at")
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    if not qs.exists():
        return 0
    settled: list[TaskRun] = []
    with transaction.atomic():
        runs = _lock_batch(qs, conf.DISPATCH_BATCH)
        for run in runs:
            if run.declare_lost(now):
                settled.append(run)
                logger.warning("attempt lost: lease expired", run_id=str(run.pk), task=run.task,
                               attempt=run.attempts, worker=run.worker, next=run.status)
    # After the commit: receivers of task_finished see the failed run as it is stored.
    for run in settled:
        send_finished_for(run)
    # A lost attempt freed its slot: the next held run of its key may start.
    flow_release.after_finish([run for run in settled if flow_release.needs_release(run)])
    return len(settled)


def queue_capacity(now: Any = None) -> dict[str, int]:
    """Worker processes per queue across hosts whose taskboard_worker is alive."""
    capacity: dict[str, int] = {}
    for pids_by_queue in WorkerNode.objects.alive(now).values_list("cluster_pids", flat=True):
        for queue, pids in (pids_by_queue or {}).items():
            capacity[queue] = capacity.get(queue, 0) + len(pids)
    return capacity


def redispatch_unclaimed(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    before = now - timedelta(seconds=conf.REDISPATCH_AFTER)
    capacity = queue_capacity(now)
    total = 0
    for queue in queues if queues is not None else capacity:
        busy = TaskRun.objects.filter(status=Status.RUNNING, queue=queue).count()
        # Busy workers explain a backlog; idle ones with an empty broker queue mean the
        # messages of these runs are gone.
        if busy >= capacity.get(queue, 0) or queue_depth(queue) > 0:
            continue
        ids = list(TaskRun.objects.unclaimed(before).filter(queue=queue)
                   .order_by("-priority", "dispatched_at")
                   .values_list("pk", flat=True)[: conf.DISPATCH_BATCH])
        if not ids:
            continue
        TaskRun.objects.filter(pk__in=ids, status=Status.QUEUED).update(dispatched_at=now)
        push_many(ids, queue)
        logger.warning("re-pushed unclaimed runs", queue=queue, count=len(ids))
        total += len(ids)
    return total


def seconds_until_next_due(queues: Iterable[str] | None = None) -> float | None:
    """Lets the dispatcher wake exactly when the next scheduled/retrying run falls due."""
    qs = TaskRun.objects.all()
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    first = qs.next_due_at()
    if first is None:
        return None
    return max(0.0, (first - timezone.now()).total_seconds())


def tick(queues: Iterable[str] | None = None) -> TickResult:
    queues = list(queues) if queues is not None else None
    now = timezone.now()
    return TickResult(
        dispatched=dispatch_due(now, queues),
        lost=recover_lost(now, queues),
        redispatched=redispatch_unclaimed(now, queues),
        released=release_held(now),
    )


_last_prune: float = 0.0


def release_held(now: Any = None) -> int:
    """Held runs whose obstacle went (flow.release.sweep); old window rows pruned each minute."""
    global _last_prune
    released = flow_release.sweep(now)
    if time.monotonic() - _last_prune > 60:
        _last_prune = time.monotonic()
        flow_release.prune(now)
        flow_breakers.prune(now)
    return released

