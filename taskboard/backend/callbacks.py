"""Enqueueing the callbacks a run's end sets off (hooks, batch callbacks), for ``models.outcomes``.

Called inside the transaction of the outcome, so it must not fail that transaction: a
callback that cannot be enqueued (its task was removed or renamed since, its arguments no
longer bind, its ``on_limit="reject"`` key is full) is recorded as a ``failed`` run of that
task name with a dead letter that says why — visible on the dashboard and in alerts, and
never undoing the outcome that caused it. A callback run carries no hooks of its own.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from django.db import transaction
from django.tasks.exceptions import InvalidTask
from django.utils import timezone

from taskboard.backend.hooks import callback_task
from taskboard.exceptions import LimitExceeded
from taskboard.models import DeadLetter, Status, TaskRun, outcomes

logger = structlog.get_logger("taskboard.backend")


def enqueue_callback(name: str, kwargs: dict[str, Any], correlation_id: str, cause: str) -> uuid.UUID:
    from taskboard.backend.backend import TaskboardBackend

    argument = next(iter(kwargs))
    try:
        # A savepoint: a refusal rolls back only what this attempt wrote.
        with transaction.atomic():
            task = callback_task(name, argument, trusted=True)
            backend = task.get_backend()
            assert isinstance(backend, TaskboardBackend)  # callback_task checked it
            run, _ = backend.create_run(task, [], kwargs, correlation_id=correlation_id or None, callback=True)
            return run.pk
    except (InvalidTask, LimitExceeded) as exc:
        return _failed_callback(name, kwargs, correlation_id, f"{cause} could not be enqueued: {exc}")


def _failed_callback(name: str, kwargs: dict[str, Any], correlation_id: str, reason: str) -> uuid.UUID:
    now = timezone.now()
    run = TaskRun.objects.create(task=name[:255], kwargs=kwargs, status=Status.FAILED, enqueued_at=now,
                                 finished_at=now, last_error=reason[:500], correlation_id=correlation_id[:100])
    DeadLetter.objects.create(run=run, task=run.task, reason=reason[:1000], created_at=now)
    logger.error("callback not enqueued; recorded as a failed run", run_id=str(run.pk), task=name, reason=reason)
    return run.pk


def install() -> None:
    """At app ready: models.outcomes enqueues callbacks through this module."""
    outcomes.install_enqueuer(enqueue_callback)
