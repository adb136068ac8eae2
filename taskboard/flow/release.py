"""Releasing held runs: back to ``queued`` and pushed, higher priority first, then oldest.

Two callers: the worker right after an outcome commits (``after_finish``: the slot its run
held is free now, so the next held run of the key starts within one claim, not one clock
tick), and the clock (``sweep``: rate windows that rolled, breakers that closed or went
half-open, pauses lifted concurrently with a hold, slots freed by lease recovery or a dead
worker process). A release of a key takes the key's lock first (``flow.locks``), so a hold
committed by a concurrent admission is either seen here or sees the freed slot: no held run
is stranded waiting for a slot that is already free.

Released runs still go through admission when claimed: releasing too many costs a hold
again, never an over-admission. The exception is the run a finishing cluster worker claims for
itself in the release transaction (``flow.handoff``), admitted there under the key's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from taskboard.conf import conf
from taskboard.flow import handoff, reads
from taskboard.flow.config import queue_limits
from taskboard.flow.locks import lock_keys
from taskboard.flow.rates import parse_rate
from taskboard.models import Breaker, BreakerState, HoldReason, Pause, RateStart, Status, TaskRun
from taskboard.transport.push import push_many

logger = structlog.get_logger("taskboard.flow")

# Distinct held keys the clock looks at per tick (bounded work however many runs are held).
SWEEP_KEYS = 200


def batch_size() -> int:
    return int(conf.DISPATCH_BATCH)


def _push_after_commit(rows: Sequence[tuple[Any, str]]) -> None:
    if (collector := handoff.collecting()) is not None:
        collector.released.extend(rows)
    by_queue: dict[str, list[Any]] = {}
    for pk, queue in rows:
        by_queue.setdefault(queue, []).append(pk)

    def push() -> None:
        for queue, ids in by_queue.items():
            push_many(ids, queue)

    transaction.on_commit(push, robust=True)


def release_some(reason: str, key: str, count: int, now: datetime | None = None) -> int:
    """Release up to ``count`` held runs of one obstacle; pushed once the transaction commits."""
    if count <= 0:
        return 0
    now = now or timezone.now()
    # No savepoint when nested (release_concurrency and the others lock first): an error
    # rolls back the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        rows = list(TaskRun.objects.held(reason, key).values_list("pk", "queue")[:count])
        if not rows:
            return 0
        released = TaskRun.objects.release([pk for pk, _ in rows], now)
        _push_after_commit(rows)
    if released:
        logger.debug("released held runs", reason=reason, key=key, count=released)
    return released


def release_all(reason: str, key: str) -> int:
    """Release a batch now; the clock releases the rest tick by tick."""
    return release_some(reason, key, batch_size())


def running(queryset: QuerySet[TaskRun]) -> int:
    return queryset.filter(status=Status.RUNNING).count()


def free_slots(key: str, limit: int) -> int:
    """Slots of a concurrency key not taken by running or already released (queued) runs."""
    return limit - reads.key_count(key, (Status.RUNNING.value, Status.QUEUED.value))


def free_queue_slots(queue: str, limit: int) -> int:
    taken = TaskRun.objects.filter(queue=queue, status__in=[Status.RUNNING, Status.QUEUED]).count()
    return limit - taken


def release_concurrency(key: str, limit: int) -> int:
    with transaction.atomic():
        lock_keys([f"concurrency:{key}"])
        free = free_slots(key, limit)
        # A worker that will run what it frees takes the first run itself (flow.handoff).
        claimed = free > 0 and handoff.claim_held(key, limit - free)
        return release_some(HoldReason.CONCURRENCY, key, free - claimed) + claimed


def release_queue(queue: str, limit: int) -> int:
    with transaction.atomic():
        lock_keys([f"queue:{queue}"])
        return release_some(HoldReason.CONCURRENCY, f"queue:{queue}", free_queue_slots(queue, limit))


def release_rate(key: str, rate_limit: str, now: datetime) -> int:
    rate = parse_rate(rate_limit)
    with transaction.atomic():
        lock_keys([f"rate:{key}"])
        used = RateStart.objects.filter(key=key, at__gt=rate.window_start(now)).count()
        queued = TaskRun.objects.filter(rate_key=key, status=Status.QUEUED).count()
        return release_some(HoldReason.RATE, key, rate.count - used - queued, now)


def needs_release(run: TaskRun) -> bool:
    """Whether a run's leaving ``running`` may let a held run start (cheap: no query)."""
    from django.conf import settings

    return bool(run.concurrency_key or run.breaker
                or run.queue in (getattr(settings, "TASKBOARD_QUEUE_LIMITS", None) or {}))


def after_finish(runs: Iterable[TaskRun]) -> int:
    """A run left ``running`` (any outcome): free its slots and let its breaker move."""
    from taskboard.flow import breakers

    released = 0
    limits = None
    for run in runs:
        try:
            if run.concurrency_key and run.concurrency_limit:
                released += release_concurrency(run.concurrency_key, run.concurrency_limit)
            if run.breaker:
                breakers.refresh(run.breaker)
            limits = queue_limits() if limits is None else limits
            if run.queue in limits:
                released += release_queue(run.queue, limits[run.queue])
        except Exception:
            # The clock's sweep releases whatever this missed; the outcome is committed.
            logger.exception("releasing held runs after an outcome failed", run_id=str(run.pk))
    return released


def sweep(now: datetime | None = None) -> int:
    """The clock's share: every held obstacle that may have gone, bounded per tick."""
    from taskboard.flow import breakers
    from taskboard.flow.config import breakers_config

    now = now or timezone.now()
    released = 0
    configured = breakers_config()
    # Open/half-open breakers move on time (open → half-open releases the probes).
    for name in Breaker.objects.exclude(state=BreakerState.CLOSED).values_list("name", flat=True):
        if name in configured:
            breakers.refresh(name, now)
    if not TaskRun.objects.filter(status=Status.HELD).exists():
        return 0
    keys = reads.held_keys(SWEEP_KEYS)
    paused = {p.key for p in Pause.objects.all()}
    limits = queue_limits()
    for reason, key in keys:
        if reason == HoldReason.PAUSED and key not in paused:
            released += release_all(reason, key)
        elif reason == HoldReason.CONCURRENCY:
            queue = key.removeprefix("queue:")
            if key.startswith("queue:") and queue in limits:
                released += release_queue(queue, limits[queue])
                continue
            limit = TaskRun.objects.held(reason, key).values_list("concurrency_limit", flat=True).first()
            if limit:
                released += release_concurrency(key, limit)
        elif reason == HoldReason.BREAKER:
            if key in configured:
                breakers.refresh(key, now)
            else:  # a breaker removed from the settings guards nothing any more
                released += release_all(reason, key)
        elif reason == HoldReason.RATE:
            rate_limit = TaskRun.objects.held(reason, key).values_list("rate_limit", flat=True).first()
            if rate_limit:
                released += release_rate(key, rate_limit, now)
    return released


def prune(now: datetime | None = None) -> int:
    """Rate starts older than the longest period cannot matter any more."""
    from datetime import timedelta

    from taskboard.flow.rates import LONGEST_PERIOD

    now = now or timezone.now()
    deleted, _ = RateStart.objects.filter(at__lt=now - timedelta(seconds=LONGEST_PERIOD + 60)).delete()
    return deleted

