"""What the verbs act on: a run by id (or locked for a check-then-write), the open dead letters
of a selection, a task's backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.tasks import Task

from taskboard.backend.backend import TaskboardBackend
from taskboard.exceptions import OperationError
from taskboard.models import DeadLetter, TaskRun
from taskboard.models.dead_letters import DeadLetterQuerySet


def get_run(run_id: uuid.UUID | str) -> TaskRun:
    """The run, or ``TaskRun.DoesNotExist`` (also for a malformed id)."""
    return _one(TaskRun.objects.all(), run_id)


def lock_run(run_id: uuid.UUID | str) -> TaskRun:
    """The run, read under a lock held until the surrounding transaction ends: what a verb
    checks then cannot change before it commits what it writes.

    PostgreSQL: ``SELECT … FOR UPDATE`` of its row. SQLite has no row locks but one writer at
    a time: a no-op UPDATE of the row takes the database's write lock first (settings begin
    transactions IMMEDIATE, which already holds it; this keeps the order without them).
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("lock_run needs a transaction")
    if connection.features.has_select_for_update:
        return _one(TaskRun.objects.select_for_update(), run_id)
    return _one(TaskRun.objects.all(), run_id, write_first=True)


def _one(runs: QuerySet[TaskRun], run_id: uuid.UUID | str, *, write_first: bool = False) -> TaskRun:
    try:
        pk = uuid.UUID(str(run_id))
        if write_first:
            runs.filter(pk=pk).update(status=F("status"))
        return runs.get(pk=pk)
    except (ValueError, TaskRun.DoesNotExist):
        raise TaskRun.DoesNotExist(f"no run {run_id}") from None


def open_dead_letters(*, ids: Iterable[int] | None = None, task: str | None = None,
                      q: Q | None = None) -> DeadLetterQuerySet:
    """Unresolved dead letters narrowed by ids, task and/or a condition, oldest first."""
    qs = DeadLetter.objects.unresolved()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if task is not None:
        qs = qs.filter(task=task)
    if q is not None:
        qs = qs.filter(q)
    return qs.order_by("created_at", "id")


def backend_of(task: Task) -> TaskboardBackend:
    """The task's backend, which must be taskboard's to create runs."""
    backend = task.get_backend()
    if not isinstance(backend, TaskboardBackend):
        raise OperationError(f"task {task.module_path} does not use the taskboard backend")
    return backend


class UnknownName(ObjectDoesNotExist):
    """No queue, task or circuit breaker of that name (HTTP 404)."""


def known_queue(name: str) -> str:
    from taskboard.conf import configured_queues

    if name not in configured_queues():
        raise UnknownName(f"no queue named {name!r}")
    return name


def known_task(name: str) -> str:
    from taskboard.backend import registry

    if registry.get(name) is None:
        raise UnknownName(f"no task named {name!r}")
    return name


def known_breaker(name: str) -> str:
    from taskboard.flow.config import breakers_config

    if name not in breakers_config():
        raise UnknownName(f"no circuit breaker named {name!r}")
    return name
