"""Replay: a new run with the same (or edited) arguments, linked by ``replay_of``.

History is never rewritten: the old run stays as it was and its open dead letter is resolved
(who, when, which new run) in the same transaction.

A replay checks and writes under a lock on the old run's row (``lookups.lock_run``), so two
simultaneous replays of one run are serialised: with ``again=False`` (a first replay: the
bulk verbs, a dashboard click that was not confirmed as "replay again") the second finds the
first and is refused with ``AlreadyReplayed``; a dead letter's replay finds it resolved.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import transaction
from django.db.models import QuerySet

from taskboard.backend.loading import on_backend, resolve_task
from taskboard.exceptions import AlreadyReplayed, OperationError
from taskboard.models import REPLAYABLE, DeadLetter, Resolution, TaskRun
from taskboard.operations import audit
from taskboard.operations.bulk import BULK_LIMIT, BulkResult, each, record_bulk
from taskboard.operations.lookups import backend_of, lock_run
from taskboard.operations.permissions import PERM_REPLAY, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def replay(run_id: uuid.UUID | str, *, kwargs: dict[str, Any] | None = None,
           user: Actor = None, again: bool = True, reason: str = "") -> TaskRun:
    """Start a new run with the same (or edited) arguments; history stays untouched.

    ``again=False`` asks for the run's first replay: ``AlreadyReplayed`` (409, naming the
    earlier one) if it has been replayed before. ``again=True`` replays in any case, for an
    operator who confirmed another replay, or edited the arguments.
    """
    require(user, PERM_REPLAY)
    with transaction.atomic():
        new_run = _replay(run_id, kwargs=kwargs, user=user, again=again)
        # The new run's timeline shows where it came from, the old one's who replayed it.
        old = new_run.replay_of_id
        audit.record("run.replay", user=user, targets=[old], runs=[old, new_run.pk], reason=reason)
    return new_run


def _replay(run_id: uuid.UUID | str, *, kwargs: dict[str, Any] | None, user: Actor, again: bool) -> TaskRun:
    with transaction.atomic():
        run = lock_run(run_id)
        if not again:
            earlier = TaskRun.objects.filter(replay_of=run).order_by("-enqueued_at").first()
            if earlier is not None:
                raise AlreadyReplayed(run, earlier)
        new_run = _replay_locked(run, kwargs, user, open_letter_required=False)
    logger.info("run replayed", run_id=str(run.pk), new_run_id=str(new_run.pk), by=actor_name(user))
    return new_run


def _replay_letter(run_id: uuid.UUID | str, *, user: Actor = None) -> TaskRun:
    """Replay a dead-lettered run if its dead letter is still open (not replayed or discarded
    since the caller listed it)."""
    with transaction.atomic():
        run = lock_run(run_id)
        new_run = _replay_locked(run, None, user, open_letter_required=True)
    logger.info("run replayed", run_id=str(run.pk), new_run_id=str(new_run.pk), by=actor_name(user),
                dead_letter=True)
    return new_run


def _replay_locked(run: TaskRun, kwargs: dict[str, Any] | None, user: Actor, *,
                   open_letter_required: bool) -> TaskRun:
    """The replay itself, with ``run``'s row locked by the caller's transaction."""
    if run.status not in REPLAYABLE:
        raise OperationError(f"only failed or cancelled runs can be replayed; this one is {run.status}")
    # Close the open dead letter first (a discard does not lock the run: it may just have
    # closed it); the new run is linked to it below. An error below rolls both back.
    letter = DeadLetter.objects.filter(run=run, resolved_at__isnull=True).first()
    if letter is not None and not letter.resolve(Resolution.REPLAYED, actor_name(user), user):
        letter = None
    if letter is None and open_letter_required:
        raise OperationError(f"the dead letter of run {str(run.pk)[:8]} is no longer open")
    loaded = resolve_task(run.task)
    if loaded is None:
        raise OperationError(f"task {run.task} can no longer be imported; it cannot be replayed")
    # Through the backend the run was enqueued with (a plain Task may have been routed there).
    task = on_backend(loaded, run.backend)
    new_run, _ = backend_of(task).create_run(
        task, run.args, run.kwargs if kwargs is None else kwargs, queue=run.queue, replay_of=run,
        priority=run.priority,  # the same work, as urgent as it was
    )
    if letter is not None:
        letter.replay_run = new_run
        letter.save(update_fields=["replay_run"])
    return new_run


def replay_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None, again: bool = False,
                reason: str = "", filter: Mapping[str, Any] | None = None) -> BulkResult:
    """Replay each run; by default only runs never replayed before (the others are skipped,
    as there is no one to confirm a second replay of each). One audit event for all."""
    require(user, PERM_REPLAY)
    with transaction.atomic():
        outcome = each(lambda run_id, user: _replay(run_id, kwargs=None, user=user, again=again), run_ids, user)
        record_bulk("run.replay", outcome, user=user, reason=reason, filter=filter, source=_source)
    return outcome


def replay_dead_letters(letters: QuerySet[DeadLetter], *, user: Actor = None, limit: int = BULK_LIMIT,
                        reason: str = "", filter: Mapping[str, Any] | None = None) -> BulkResult:
    """Replay the runs of (at most ``limit`` of) these dead letters; a letter that another
    replay or a discard resolved in the meantime is skipped. One audit event for all, naming
    the failed runs (or the ``filter`` that chose them)."""
    require(user, PERM_REPLAY)
    with transaction.atomic():
        outcome = each(_replay_letter, letters.values_list("run_id", flat=True)[:limit], user)
        record_bulk("dead_letter.replay", outcome, user=user, reason=reason, filter=filter, source=_source)
    return outcome


def _source(new_run: TaskRun) -> uuid.UUID | None:
    return new_run.replay_of_id
