"""Operator verbs, shared verbatim by the dashboard, the admin, the JSON API and the commands.

Each verb checks the actor's permission (``user=None`` means a trusted local caller such as a
management command), applies a state transition on the models and returns what changed.
Errors are ``NotAllowed`` (403), ``OperationError`` (409) or ``InvalidTask`` subclasses (400).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models import Q
from django.tasks import task_backends
from django.tasks.exceptions import InvalidTask
from django.utils import timezone

from taskboard.backend import registry
from taskboard.backends import TaskboardBackend, resolve_task
from taskboard.exceptions import NotAllowed, OperationError, UnknownTask
from taskboard.models import (
    FINISHED,
    REPLAYABLE,
    DeadLetter,
    Resolution,
    TaskAttempt,
    TaskRun,
)

logger = structlog.get_logger("taskboard.operations")

PERM_VIEW = "taskboard.view_taskrun"
PERM_CANCEL = "taskboard.cancel_taskrun"
PERM_REPLAY = "taskboard.replay_taskrun"
PERM_ENQUEUE = "taskboard.enqueue_taskrun"
PERM_DISCARD = "taskboard.discard_deadletter"

# Bulk verbs act on at most this many rows per call; callers page through larger sets.
BULK_LIMIT = 10_000


def actor_name(user: Any) -> str:
    if user is None:
        return "system"
    return user.get_username() or f"user {user.pk}"


def require(user: Any, perm: str) -> None:
    if user is None:
        return
    if not (user.is_active and user.is_staff and user.has_perm(perm)):
        raise NotAllowed(f"{actor_name(user)} lacks the permission {perm}")


def get_run(run_id: uuid.UUID | str) -> TaskRun:
    try:
        return TaskRun.objects.get(pk=uuid.UUID(str(run_id)))
    except (ValueError, TaskRun.DoesNotExist):
        raise TaskRun.DoesNotExist(f"no run {run_id}") from None


def backend() -> TaskboardBackend:
    instance = task_backends["default"]
    if not isinstance(instance, TaskboardBackend):
        raise OperationError("TASKS['default'] is not the taskboard backend")
    return instance


def enqueue(name: str, args: Any = (), kwargs: Any = None, *, queue: str | None = None,
            run_after: datetime | None = None, idempotency_key: str | None = None,
            user: Any = None) -> tuple[TaskRun, bool]:
    """Enqueue an allowlisted task by name. Returns ``(run, created)``."""
    require(user, PERM_ENQUEUE)
    task = registry.get(name)
    if task is None:
        raise UnknownTask(f"unknown task {name!r}; known tasks: {', '.join(registry.names())}")
    run, created = task.get_backend().create_run(
        task, list(args), kwargs if kwargs is not None else {},
        queue=queue, run_after=run_after, idempotency_key=idempotency_key,
    )
    if created:
        logger.info("run enqueued", run_id=str(run.pk), task=name, by=actor_name(user))
    return run, created


def cancel(run_id: uuid.UUID | str, *, user: Any = None) -> TaskRun:
    """Cancel a waiting run at once, or ask a running one to stop."""
    require(user, PERM_CANCEL)
    by = actor_name(user)
    run = get_run(run_id)
    # The status can move under us (a worker claims the run); two tries cover that race.
    for _ in range(3):
        if run.cancel_waiting(by) or run.request_cancel(by):
            logger.info("run cancel", run_id=str(run.pk), by=by, status=run.status)
            return run
        run.refresh_from_db()
        if run.status in FINISHED:
            raise OperationError(f"run {run.pk} is already {run.status}")
    raise OperationError(f"run {run.pk} changed state repeatedly; try again")


def replay(run_id: uuid.UUID | str, *, kwargs: dict[str, Any] | None = None,
           user: Any = None) -> TaskRun:
    """Start a new run with the same (or edited) arguments; history stays untouched."""
    require(user, PERM_REPLAY)
    run = get_run(run_id)
    if run.status not in REPLAYABLE:
        raise OperationError(f"only failed or cancelled runs can be replayed; this one is {run.status}")
    task = resolve_task(run.task)
    if task is None:
        raise OperationError(f"task {run.task} can no longer be imported; it cannot be replayed")
    with transaction.atomic():
        new_run, _ = task.get_backend().create_run(
            task, run.args, run.kwargs if kwargs is None else kwargs,
            queue=run.queue, replay_of=run,
        )
        letter = DeadLetter.objects.filter(run=run, resolved_at__isnull=True).first()
        if letter is not None:
            letter.resolve(Resolution.REPLAYED, actor_name(user), user, new_run)
    logger.info("run replayed", run_id=str(run.pk), new_run_id=str(new_run.pk), by=actor_name(user))
    return new_run


@dataclass
class BulkResult:
    done: list[Any] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, reason)


def open_dead_letters(*, ids: Iterable[int] | None = None, task: str | None = None,
                      q: Q | None = None) -> Any:
    qs = DeadLetter.objects.unresolved()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if task is not None:
        qs = qs.filter(task=task)
    if q is not None:
        qs = qs.filter(q)
    return qs.order_by("created_at", "id")


def replay_dead_letters(letters: Any, *, user: Any = None, limit: int = BULK_LIMIT) -> BulkResult:
    require(user, PERM_REPLAY)
    outcome = BulkResult()
    for letter in letters.select_related("run")[:limit]:
        try:
            outcome.done.append(replay(letter.run_id, user=user))
        except (OperationError, InvalidTask) as exc:  # e.g. the task's signature changed
            outcome.skipped.append((str(letter.run_id), str(exc)))
    return outcome


def discard_dead_letters(letters: Any, *, user: Any = None, limit: int = BULK_LIMIT) -> int:
    """Close dead letters without replaying them (the runs stay failed)."""
    require(user, PERM_DISCARD)
    count = 0
    for letter in letters[:limit]:
        count += letter.resolve(Resolution.DISCARDED, actor_name(user), user)
    logger.info("dead letters discarded", count=count, by=actor_name(user))
    return count


def _each(verb: Callable[..., TaskRun], run_ids: Iterable[uuid.UUID | str], user: Any) -> BulkResult:
    """Apply a verb to each run; a run it cannot apply to is skipped with the reason."""
    outcome = BulkResult()
    for run_id in run_ids:
        try:
            outcome.done.append(verb(run_id, user=user))
        except (OperationError, InvalidTask, TaskRun.DoesNotExist) as exc:
            outcome.skipped.append((str(run_id), str(exc)))
    return outcome


def cancel_many(run_ids: Iterable[uuid.UUID | str], *, user: Any = None) -> BulkResult:
    require(user, PERM_CANCEL)
    return _each(cancel, run_ids, user)


def replay_many(run_ids: Iterable[uuid.UUID | str], *, user: Any = None) -> BulkResult:
    require(user, PERM_REPLAY)
    return _each(replay, run_ids, user)


def prune(older_than_days: float, *, dry_run: bool = False, batch: int = 5_000) -> int:
    """Delete finished runs (and their attempts) older than that; keep open dead letters."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    qs = TaskRun.objects.filter(status__in=FINISHED, finished_at__lt=cutoff).exclude(
        pk__in=DeadLetter.objects.unresolved().values("run_id")
    )
    if dry_run:
        return qs.count()
    deleted = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            # Replays point at the pruned run with SET NULL; attempts cascade.
            TaskAttempt.objects.filter(run_id__in=ids).delete()
            TaskRun.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
