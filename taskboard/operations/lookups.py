"""What the verbs act on: a run by id, the open dead letters of a selection, a task's backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q
from django.tasks import Task

from taskboard.backend.backend import TaskboardBackend
from taskboard.exceptions import OperationError
from taskboard.models import DeadLetter, TaskRun
from taskboard.models.dead_letters import DeadLetterQuerySet


def get_run(run_id: uuid.UUID | str) -> TaskRun:
    """The run, or ``TaskRun.DoesNotExist`` (also for a malformed id)."""
    try:
        return TaskRun.objects.get(pk=uuid.UUID(str(run_id)))
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
