"""Replay: a new run with the same (or edited) arguments, linked by ``replay_of``.

History is never rewritten: the old run stays as it was and its open dead letter is resolved
(who, when, which new run) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from django.db import transaction
from django.db.models import QuerySet

from taskboard.backend.loading import on_backend, resolve_task
from taskboard.exceptions import OperationError
from taskboard.models import REPLAYABLE, DeadLetter, Resolution, TaskRun
from taskboard.operations.bulk import BULK_LIMIT, BulkResult, each
from taskboard.operations.lookups import backend_of, get_run
from taskboard.operations.permissions import PERM_REPLAY, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def replay(run_id: uuid.UUID | str, *, kwargs: dict[str, Any] | None = None,
           user: Actor = None) -> TaskRun:
    """Start a new run with the same (or edited) arguments; history stays untouched."""
    require(user, PERM_REPLAY)
    run = get_run(run_id)
    if run.status not in REPLAYABLE:
        raise OperationError(f"only failed or cancelled runs can be replayed; this one is {run.status}")
    loaded = resolve_task(run.task)
    if loaded is None:
        raise OperationError(f"task {run.task} can no longer be imported; it cannot be replayed")
    # Through the backend the run was enqueued with (a plain Task may have been routed there).
    task = on_backend(loaded, run.backend)
    with transaction.atomic():
        new_run, _ = backend_of(task).create_run(
            task, run.args, run.kwargs if kwargs is None else kwargs,
            queue=run.queue, replay_of=run,
        )
        letter = DeadLetter.objects.filter(run=run, resolved_at__isnull=True).first()
        if letter is not None:
            letter.resolve(Resolution.REPLAYED, actor_name(user), user, new_run)
    logger.info("run replayed", run_id=str(run.pk), new_run_id=str(new_run.pk), by=actor_name(user))
    return new_run


def replay_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None) -> BulkResult:
    require(user, PERM_REPLAY)
    return each(replay, run_ids, user)


def replay_dead_letters(letters: QuerySet[DeadLetter], *, user: Actor = None,
                        limit: int = BULK_LIMIT) -> BulkResult:
    """Replay the runs of (at most ``limit`` of) these dead letters."""
    require(user, PERM_REPLAY)
    return each(replay, letters.values_list("run_id", flat=True)[:limit], user)
