"""The clock: the one-second loop body of every ``taskboard_worker``, safe on many hosts.

``tick()``:
1. due ``scheduled``/``retrying`` runs become ``queued`` and are pushed;
2. runs whose lease expired (their worker died) get a ``lost`` attempt, then retry or fail
   (``task_finished`` is sent for those that failed);
3. queued runs that nobody claimed while their queue had idle workers and an empty broker
   queue are pushed again (the message was lost: Redis drops in-flight messages of a killed
   cluster; the ORM broker takes messages at dequeue);
4. held runs whose obstacle went are released (``flow.release.sweep``: rate windows, breakers
   moving on time, pauses lifted, slots freed by lost runs);
5. due schedules fire (``schedules.firing.tick``: one indexed read when none is due; each
   fire time exactly once across hosts, by a unique row per schedule and fire time);
6. alert rules are evaluated every few seconds, by one host at a time (``notify.evaluate``:
   a lease row taken with a conditional UPDATE).
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
from taskboard.notify import evaluate as alert_evaluation
from taskboard.schedules import firing as schedule_firing
from taskboard.transport.cluster import queue_depth
from taskboard.transport.push import push_many

logger = structlog.get_logger("taskboard.service.clock")


@dataclass
class TickResult:
    dispatched: int = 0
    lost: int = 0
    redispatched: int = 0
    released: int = 0
    fired: int = 0
    alerts_notified: int = 0


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
    """Lets the dispatcher wake exactly when the next scheduled/retrying run falls due, or the
    next schedule fires (as the last tick saw it: a schedule added since is at most one
    ``DISPATCH_INTERVAL`` late once)."""
    qs = TaskRun.objects.all()
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    now = timezone.now()
    # A fire time the last tick left due (another host was firing it, or more were due than
    # one tick takes) is the next regular tick's: waking for it at once would spin.
    fire_at = _next_fire_at if _next_fire_at is not None and _next_fire_at > now else None
    times = [t for t in (qs.next_due_at(), fire_at) if t is not None]
    if not times:
        return None
    return max(0.0, (min(times) - now).total_seconds())


# The earliest next fire time of a schedule, as the last tick saw it.
_next_fire_at: Any = None


def fire_schedules(now: Any = None) -> int:
    """Due schedules fire (on every host's clock: schedules are not per queue)."""
    global _next_fire_at
    outcome = schedule_firing.tick(now)
    _next_fire_at = outcome.next_fire_at
    return outcome.fired


def tick(queues: Iterable[str] | None = None) -> TickResult:
    queues = list(queues) if queues is not None else None
    # Schedules first: the loop woke for a fire time, so the rest of the tick waits, not it.
    fired = fire_schedules()
    now = timezone.now()
    return TickResult(
        dispatched=dispatch_due(now, queues),
        lost=recover_lost(now, queues),
        redispatched=redispatch_unclaimed(now, queues),
        released=release_held(now),
        fired=fired,
        alerts_notified=evaluate_alerts(),
    )


def release_leases() -> None:
    """A stopping supervisor hands its clock jobs over (the alert evaluator's lease)."""
    alert_evaluation.release()


def evaluate_alerts() -> int:
    """Alert rules, every ``TASKBOARD_ALERTS["interval"]`` seconds on the host holding the
    lease; notifications sent (never raises: alerting must not stop the dispatcher)."""
    evaluation = alert_evaluation.evaluate_if_due()
    return evaluation.notified if evaluation is not None else 0


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

