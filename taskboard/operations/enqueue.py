"""Enqueue an allowlisted task by name (API, dashboard and ``taskboard_enqueue``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction

from taskboard.backend import registry
from taskboard.backend.together import run_together
from taskboard.exceptions import UnknownTask
from taskboard.models import TaskRun, sqlitelock
from taskboard.operations import audit
from taskboard.operations.lookups import backend_of
from taskboard.operations.permissions import PERM_ENQUEUE, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def enqueue(name: str, args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None, *,
            queue: str | None = None, run_after: datetime | None = None, priority: int | None = None,
            idempotency_key: str | None = None, correlation_id: str | None = None,
            user: Actor = None) -> tuple[TaskRun, bool]:
    """Enqueue an allowlisted task by name; ``queue``, ``run_after`` and ``priority`` override
    the task's (None keeps them). Returns ``(run, created)``.

    An operator's enqueue (dashboard, API, ``taskboard_enqueue``) is audited as
    ``run.enqueue``; a repeated ``idempotency_key`` returns the existing run and, as nothing
    was done, writes no event. Application code enqueues with ``task.enqueue()``, which is
    not an operator action and is not audited."""
    require(user, PERM_ENQUEUE)
    task = registry.get(name)
    if task is None:
        raise UnknownTask(f"unknown task {name!r}; known tasks: {', '.join(registry.names())}")
    # Everything is validated before anything is written or locked: a refused request
    # never queues for SQLite's write lock.
    pending = backend_of(task).prepare_run(
        task, list(args), kwargs if kwargs is not None else {}, queue=queue, run_after=run_after,
        priority=priority, idempotency_key=idempotency_key, correlation_id=correlation_id,
    )
    if pending.plain:
        statements = pending.statements()
        event = audit.run_statements("run.enqueue", user=user, run_id=pending.run_id, at=pending.prepared_now)
        if event is not None:
            # The run, its message where the broker is a table of this database, the event
            # and its run link: one transaction (one round trip on PostgreSQL; on SQLite one
            # turn at the write lock, held only for these statements).
            run_together(statements + event)
            run = pending.written()
            logger.info("run enqueued", run_id=str(run.pk), task=name, by=actor_name(user))
            return run, True
    # SQLite: queue for the write lock with the other hot-path writers (a threaded server's
    # concurrent enqueues would otherwise sleep in SQLite's busy handler).
    with sqlitelock.write_turn(transaction.get_connection()), transaction.atomic():
        run, created = pending.create()
        if created:
            audit.record("run.enqueue", user=user, targets=[run.pk], runs=[run.pk])
    if created:
        logger.info("run enqueued", run_id=str(run.pk), task=name, by=actor_name(user))
    return run, created
