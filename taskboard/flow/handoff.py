"""Handing a freed concurrency slot straight to the next held run of its key.

When a run with a concurrency key finishes, its worker releases the key's next held run
(``release.release_concurrency``). Released to ``queued`` and pushed, that run then needs a
message, a failed hot-path claim and a second admission transaction (locks, re-read, pause,
count, claim) before it starts: about ten round trips in which the slot stands idle, the
largest part of a ``concurrency_limit=2`` task's gap between one run's end and the next's
start. A cluster worker that will run whatever it frees (see the runner) instead claims that
run itself, ``held`` → ``running``, inside the release transaction that already holds the
key's lock and has counted its running and queued runs.

Why this cannot over-admit: the claim runs with the key locked (``flow.locks``: PostgreSQL's
row lock, SQLite's write lock since BEGIN), after the count of the key's running *and*
queued runs, and its statement requires the held run's own ``concurrency_limit`` to exceed
that count, a stricter test than admission's (running only). Everything else admission checks
is required to be absent, in the same statement: no rate key, no breaker, not paused, its queue
the worker's own (a cluster serves one queue) and without a global limit. A run that has any of
those is released as before and goes through admission.

The claimed run is handed over only once the transaction has committed (``on_commit``); a
rollback hands nothing. A worker killed after the commit leaves it ``running`` with a lease,
recovered like any claimed run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from taskboard.flow.config import queue_limits
from taskboard.models import HoldReason, Pause, TaskRun
from taskboard.models import sql as rowsql


@dataclass
class Handoff:
    """What a worker freed while running one run: released runs ``(pk, queue)`` (pushed all
    the same) and at most one run it claimed for itself."""

    worker: str
    lease_seconds: float
    queue: str
    released: list[tuple[Any, str]] = field(default_factory=list)
    claimed: TaskRun | None = None  # set once the claim's transaction committed
    claiming: bool = False  # one claim per hand-off, even two in one outer transaction


_local = threading.local()


@contextmanager
def handing_off(worker: str, lease_seconds: float, queue: str) -> Iterator[Handoff]:
    """Collect what this thread frees inside the block; the caller must start ``claimed``."""
    handoff = Handoff(worker, lease_seconds, queue)
    previous = getattr(_local, "handoff", None)
    _local.handoff = handoff
    try:
        yield handoff
    finally:
        _local.handoff = previous


def collecting() -> Handoff | None:
    return getattr(_local, "handoff", None)


def claim_held(key: str, taken: int) -> bool:
    """Claim the best held run of concurrency key ``key`` for this thread's worker, if it
    wants one and the run needs no other admission check. Call inside the release
    transaction, with the key locked and ``taken`` of its runs running or queued."""
    handoff = collecting()
    if handoff is None or handoff.claiming or handoff.queue in queue_limits():
        return False
    params = [*rowsql.claim_params(handoff.worker, handoff.lease_seconds, timezone.now()),
              HoldReason.CONCURRENCY.value, key, taken, handoff.queue]
    with connection.cursor() as cursor:
        cursor.execute(rowsql.text("flow-claim-held", _claim_held_sql), params)
        row = cursor.fetchone()
    if row is None:
        return False
    run = rowsql.from_row(TaskRun, row)
    handoff.claiming = True

    def hand() -> None:
        handoff.claimed = run

    transaction.on_commit(hand)
    return True


def _claim_held_sql() -> str:
    q = connection.ops.quote_name
    table = q(TaskRun._meta.db_table)
    # The held run in release order (run_held serves it); the outer WHERE re-tests the status
    # (the row is the one the subquery read: the key is locked) and what admission would.
    best = (f"SELECT h.{q('id')} FROM {table} h WHERE h.{q('status')} = 'held' "
            f"AND h.{q('hold_reason')} = %s AND h.{q('hold_key')} = %s "
            f"ORDER BY h.{q('priority')} DESC, h.{q('held_since')} LIMIT 1")
    return (f"{rowsql.claim_update(TaskRun)}, {q('hold_reason')} = '', {q('hold_key')} = '', "
            f"{q('held_since')} = NULL "
            f"WHERE {q('id')} = ({best}) AND {q('status')} = 'held' "
            f"AND {q('concurrency_limit')} > %s AND {q('queue')} = %s "
            f"AND {q('rate_key')} = '' AND {q('breaker')} = '' "
            f"AND {rowsql.not_paused(table, Pause._meta.db_table)} "
            f"RETURNING {rowsql.returning_columns(TaskRun)}")
