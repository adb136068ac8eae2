"""What people look at about flow control (the surface's read functions), bounded queries.

``queue_rows()`` per configured queue, ``breaker_rows()`` per configured breaker,
``hold_of(run)`` (CONTRACT's ``hold`` JSON) and ``hold_sentence(run)`` (the human form:
"held: user:42 has 2 of 2 running"), ``limit_utilisation()`` (running vs limit of every key
that has held or running runs under a limit, and of each limited queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.db.models import Count, Min, Q
from django.utils import timezone

from taskboard.conf import configured_queues
from taskboard.flow import circuit
from taskboard.flow.breakers import calls_of
from taskboard.flow.config import breakers_config, queue_limits
from taskboard.flow.rates import parse_rate
from taskboard.models import Breaker, HoldReason, Pause, PauseScope, RateStart, Status, TaskRun

# Keys listed by limit_utilisation (the busiest first).
MAX_KEYS = 50


class QueueRow(TypedDict):
    name: str
    paused: bool
    waiting: int
    held: int
    running: int
    oldest_wait_seconds: float | None


class BreakerRow(TypedDict):
    name: str
    state: str
    calls: int
    failures: int
    failure_rate: float
    opened_at: datetime | None
    retry_at: datetime | None
    held: int


class Utilisation(TypedDict):
    kind: str  # "concurrency" | "queue" | "rate"
    key: str
    used: int
    limit: int
    held: int


def queue_rows(now: datetime | None = None) -> list[QueueRow]:
    """One row per configured queue. ``waiting`` = queued; ``oldest_wait_seconds`` since the
    oldest queued or held run was enqueued."""
    now = now or timezone.now()
    paused = set(Pause.objects.filter(scope=PauseScope.QUEUE).values_list("name", flat=True))
    rows: list[QueueRow] = []
    for name in configured_queues():
        counts = TaskRun.objects.filter(queue=name, status__in=[Status.QUEUED, Status.HELD, Status.RUNNING]).aggregate(
            waiting=Count("pk", filter=Q(status=Status.QUEUED)), held=Count("pk", filter=Q(status=Status.HELD)),
            running=Count("pk", filter=Q(status=Status.RUNNING)),
            oldest=Min("enqueued_at", filter=Q(status__in=[Status.QUEUED, Status.HELD])))
        oldest = counts["oldest"]
        rows.append(QueueRow(name=name, paused=name in paused, waiting=counts["waiting"], held=counts["held"],
                             running=counts["running"],
                             oldest_wait_seconds=round((now - oldest).total_seconds(), 3) if oldest else None))
    return rows


def breaker_rows(now: datetime | None = None) -> list[BreakerRow]:
    """One row per configured breaker; calls/failures in its current window."""
    now = now or timezone.now()
    stored = {b.name: b for b in Breaker.objects.all()}
    held = dict(TaskRun.objects.filter(status=Status.HELD, hold_reason=HoldReason.BREAKER).order_by()
                .values_list("hold_key").annotate(n=Count("pk")).values_list("hold_key", "n"))
    rows: list[BreakerRow] = []
    for name, config in breakers_config().items():
        row = stored.get(name)
        state = (circuit.Circuit(row.state, row.since, row.opened_at, row.retry_at, row.trips,
                                 row.probes_started, row.forced) if row else circuit.Circuit(circuit.CLOSED, now))
        calls = calls_of(config, state, now)
        rows.append(BreakerRow(name=name, state=state.state, calls=calls.total, failures=calls.failures,
                               failure_rate=round(calls.rate, 1), opened_at=state.opened_at,
                               retry_at=state.retry_at if state.state == circuit.OPEN else None,
                               held=held.get(name, 0)))
    return rows


def hold_of(run: TaskRun) -> dict[str, Any] | None:
    """CONTRACT's ``hold``: ``{"reason", "key", "since"}`` while held, else None."""
    if run.status != Status.HELD:
        return None
    return {"reason": run.hold_reason, "key": run.hold_key,
            "since": run.held_since.isoformat() if run.held_since else None}


def hold_sentence(run: TaskRun) -> str:
    """Why a held run waits, in words ("" when it is not held); one or two small queries."""
    if run.status != Status.HELD:
        return ""
    reason, key = run.hold_reason, run.hold_key
    if reason == HoldReason.PAUSED:
        scope, _, name = key.partition(":")
        return f"held: {scope} {name} is paused"
    if reason == HoldReason.BREAKER:
        return f"held: circuit breaker {key} is open"
    if reason == HoldReason.RATE and run.rate_limit:
        rate = parse_rate(run.rate_limit)
        used = RateStart.objects.filter(key=key, at__gt=rate.window_start(timezone.now())).count()
        return f"held: {key} started {used} of {run.rate_limit}"
    if reason == HoldReason.CONCURRENCY:
        if key.startswith("queue:") and key[6:] in queue_limits():
            queue = key[6:]
            used = TaskRun.objects.filter(queue=queue, status=Status.RUNNING).count()
            return f"held: queue {queue} has {used} of {queue_limits()[queue]} running"
        used = TaskRun.objects.filter(concurrency_key=key, status=Status.RUNNING).count()
        return f"held: {key} has {used} of {run.concurrency_limit} running"
    return f"held: {reason} {key}".strip()


def limit_utilisation(now: datetime | None = None) -> list[Utilisation]:
    """Limited queues, then the concurrency and rate keys that have held runs (bounded)."""
    now = now or timezone.now()
    rows: list[Utilisation] = []
    held_by = dict(TaskRun.objects.filter(status=Status.HELD).order_by()
                   .values_list("hold_key").annotate(n=Count("pk")).order_by("-n")
                   .values_list("hold_key", "n")[:MAX_KEYS])
    for queue, limit in sorted(queue_limits().items()):
        used = TaskRun.objects.filter(queue=queue, status=Status.RUNNING).count()
        rows.append(Utilisation(kind="queue", key=queue, used=used, limit=limit, held=held_by.get(f"queue:{queue}", 0)))
    running = dict(TaskRun.objects.filter(status=Status.RUNNING).exclude(concurrency_key="").order_by()
                   .values_list("concurrency_key").annotate(n=Count("pk")).order_by("-n")
                   .values_list("concurrency_key", "n")[:MAX_KEYS])
    keys = list(dict.fromkeys([*running, *held_by]))[:MAX_KEYS]
    limits = dict(TaskRun.objects.filter(concurrency_key__in=keys, status__in=[Status.RUNNING, Status.HELD])
                  .exclude(concurrency_limit=None).values_list("concurrency_key", "concurrency_limit"))
    for key in keys:
        key_limit = limits.get(key)
        if key_limit is not None:
            rows.append(Utilisation(kind="concurrency", key=key, used=running.get(key, 0), limit=key_limit,
                                    held=held_by.get(key, 0)))
    rates = dict(TaskRun.objects.filter(rate_key__in=list(held_by), status=Status.HELD)
                 .values_list("rate_key", "rate_limit"))
    for key, text in rates.items():
        rate = parse_rate(text)
        used = RateStart.objects.filter(key=key, at__gt=rate.window_start(now)).count()
        rows.append(Utilisation(kind="rate", key=key, used=used, limit=rate.count, held=held_by.get(key, 0)))
    return rows
