"""Admission: the slow path of a claim, for runs the hot path's single UPDATE leaves alone.

The hot path (``TaskRun.objects.claim_with``) claims a run without constraints in one
statement. When it finds nothing, ``claim_or_hold`` takes the message's run (or, when that
one was already taken by another message, the best queued run of its queue: messages are
tokens) and, in one transaction:

1. locks the run's keys (``concurrency:K``, ``rate:K``, ``queue:Q`` with a queue limit,
   ``breaker:B``; ``flow.locks``),
2. re-reads the run (it must still be queued),
3. checks, in order: pauses, the queue's limit, the concurrency key's running runs, the rate
   key's starts in the window, the breaker (closed admits; half-open admits while probes are
   left; open holds),
4. claims it (the hot path's UPDATE, plus a ``RateStart`` row and a probe count) or holds it
   (``held`` with reason, key and since; no attempt consumed; the message is dropped).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from taskboard.flow import breakers, circuit, reads
from taskboard.flow.config import breakers_config, queue_limits
from taskboard.flow.locks import lock_keys
from taskboard.flow.rates import parse_rate
from taskboard.models import Breaker, HoldReason, RateStart, Status, TaskRun
from taskboard.models import sql as rowsql
from taskboard.models.sqlitelock import write_turn

# A token whose run could not start tries this many other queued runs of its queue.
TOKEN_TRIES = 3


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str
    key: str


def keys_of(run: TaskRun, limits: dict[str, int]) -> list[str]:
    keys = []
    if run.concurrency_key:
        keys.append(f"concurrency:{run.concurrency_key}")
    if run.rate_key:
        keys.append(f"rate:{run.rate_key}")
    if run.queue in limits:
        keys.append(f"queue:{run.queue}")
    if run.breaker:
        keys.append(breakers.lock_name(run.breaker))
    return keys


def claim_or_hold(run_id: uuid.UUID | str, worker: str, lease_seconds: float) -> TaskRun | None:
    """Claim the message's run (or another queued run of its queue) if admitted; hold it
    otherwise. None when nothing was claimed."""
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:
        return None
    tried: set[Any] = set()
    for _ in range(TOKEN_TRIES):
        with write_turn(connection), transaction.atomic():
            target = _target(run_id, tried)
            if target is None:
                return None
            tried.add(target.pk)
            run = _admit(target, worker, lease_seconds)
        if run is not None:
            return run
    return None


def _target(run_id: uuid.UUID, tried: set[Any]) -> TaskRun | None:
    """The message's run if it is still queued, else the queue's best queued run."""
    if run_id not in tried and (own := reads.queued_run(run_id)) is not None:
        return own
    queue = TaskRun.objects.filter(pk=run_id).values_list("queue", flat=True).first()
    if queue is None:
        return None
    # The message's run was taken by another token (or held): this message stands for the
    # queue's best queued run now.
    best = (TaskRun.objects.filter(status=Status.QUEUED, queue=queue).exclude(pk__in=tried)
            .order_by("-priority", "enqueued_at").values_list("pk", flat=True).first())
    return None if best is None else reads.queued_run(best)


def _admit(run: TaskRun | None, worker: str, lease_seconds: float) -> TaskRun | None:
    """Admit ``run`` (read queued in this transaction) or hold it."""
    limits = queue_limits()
    if run is None:
        return None
    lock_keys(keys_of(run, limits))
    if connection.vendor == "postgresql":
        # Read again after the locks: another host may have claimed or held it meanwhile.
        # (SQLite: this transaction has held the database's write lock since BEGIN.)
        run = reads.queued_run(run.pk)
        if run is None:
            return None
    now = timezone.now()
    hold, probe = decide(run, now, limits)
    if hold is not None:
        TaskRun.objects.hold(run.pk, hold.reason, hold.key, now)
        return None
    claimed = _claim(run, worker, lease_seconds, now)
    if claimed is not None:
        if run.rate_key:
            RateStart.objects.create(key=run.rate_key, at=now)
        if probe is not None:
            breakers.take_probe(probe)
    return claimed


def decide(run: TaskRun, now: datetime, limits: dict[str, int]) -> tuple[Hold | None, Breaker | None]:
    """Why ``run`` may not start now (None: it may), and the breaker row whose half-open
    probe it would be. Call with the run's keys locked."""
    if (pause := reads.pause_key(run.queue, run.task)) is not None:
        return Hold(HoldReason.PAUSED, pause), None
    if run.queue in limits:
        if TaskRun.objects.filter(queue=run.queue, status=Status.RUNNING).count() >= limits[run.queue]:
            return Hold(HoldReason.CONCURRENCY, f"queue:{run.queue}"), None
    if run.concurrency_key and run.concurrency_limit:
        active = reads.key_count(run.concurrency_key, (Status.RUNNING.value,))
        if active >= run.concurrency_limit:
            return Hold(HoldReason.CONCURRENCY, run.concurrency_key), None
    if run.rate_key and run.rate_limit:
        rate = parse_rate(run.rate_limit)
        started = RateStart.objects.filter(key=run.rate_key, at__gt=rate.window_start(now)).count()
        if started >= rate.count:
            return Hold(HoldReason.RATE, run.rate_key), None
    if run.breaker and run.breaker in breakers_config():
        row, state = breakers.current(run.breaker, now)
        if not circuit.admits(breakers.config_of(run.breaker), state):
            return Hold(HoldReason.BREAKER, run.breaker), None
        return None, row if state.state == circuit.HALF_OPEN else None
    return None, None


def _claim(run: TaskRun, worker: str, lease_seconds: float, now: datetime) -> TaskRun | None:
    params = [*rowsql.claim_params(worker, lease_seconds, now),
              TaskRun._meta.pk.get_db_prep_value(run.pk, connection), Status.QUEUED.value]
    sql = rowsql.text("claim-admitted", lambda: rowsql.claim_sql(TaskRun))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return rowsql.from_row(TaskRun, row) if row else None
