"""Batch verbs: cancel a batch, replay its failed children.

``cancel_batch`` cancels every waiting child at once and asks every running one to stop (the
batch takes no more children); ``replay_failed`` replays each failed child that was not
replaced yet into the same batch, in its place (``Batch.objects.replace_child``), re-opening a
finished batch. Each is one transaction with one audit event (``batch.cancel``,
``batch.replay_failed``); a verb that changed nothing writes none.
"""

from __future__ import annotations

import uuid
from functools import partial

import structlog
from django.db import transaction

from taskboard.backend.finished import send_finished_for
from taskboard.exceptions import OperationError
from taskboard.models import Batch, Status, TaskRun
from taskboard.operations import audit
from taskboard.operations.bulk import BULK_LIMIT, BulkResult, each
from taskboard.operations.permissions import PERM_CANCEL, PERM_REPLAY, Actor, actor_name, require
from taskboard.operations.replay import _replay

logger = structlog.get_logger("taskboard.operations")


def get_batch(batch_id: uuid.UUID | str) -> Batch:
    """The batch, or ``Batch.DoesNotExist`` (also for a malformed id)."""
    try:
        return Batch.objects.get(pk=uuid.UUID(str(batch_id)))
    except (ValueError, Batch.DoesNotExist):
        raise Batch.DoesNotExist(f"no batch {str(batch_id)[:64]}") from None


def cancel_batch(batch_id: uuid.UUID | str, *, user: Actor = None, reason: str = "") -> Batch:
    """Cancel the waiting children at once and ask the running ones to stop; ``OperationError``
    when the batch already finished."""
    require(user, PERM_CANCEL)
    by = actor_name(user)
    with transaction.atomic():
        batch = get_batch(batch_id)
        if batch.is_finished:
            raise OperationError(f"batch {batch.pk} has already finished")
        cancelled, asked = batch.cancel_children(by)
        audit.record("batch.cancel", user=user, targets=[batch.pk], runs=[run.pk for run in cancelled],
                     count=len(cancelled) + asked, reason=reason)
        # They never started, so no worker reports their end (a running one's does).
        transaction.on_commit(partial(_send_finished, cancelled), robust=True)
    logger.info("batch cancel", batch_id=str(batch.pk), cancelled=len(cancelled), asked_to_stop=asked, by=by)
    return batch


def _send_finished(runs: list[TaskRun]) -> None:
    for run in runs:
        send_finished_for(run)


def failed_children(batch: Batch) -> list[uuid.UUID]:
    """The failed children still counted as failed: none of their replays joined the batch."""
    replaced = TaskRun.objects.filter(batch=batch, replay_of__isnull=False).values("replay_of")
    return list(TaskRun.objects.filter(batch=batch, status=Status.FAILED).exclude(pk__in=replaced)
                .order_by("enqueued_at", "id").values_list("pk", flat=True)[:BULK_LIMIT])


def replay_failed(batch_id: uuid.UUID | str, *, user: Actor = None, reason: str = "") -> tuple[Batch, BulkResult]:
    """Replay every failed child (at most ``BULK_LIMIT`` per call) into the batch."""
    require(user, PERM_REPLAY)
    with transaction.atomic():
        batch = get_batch(batch_id)
        outcome = each(lambda run_id, user: _replay(run_id, kwargs=None, user=user, again=True),
                       failed_children(batch), user)
        if outcome.done:
            old = [run.replay_of_id for run in outcome.done]
            audit.record("batch.replay_failed", user=user, targets=[batch.pk],
                         runs=[*old, *(run.pk for run in outcome.done)], count=len(outcome.done), reason=reason)
        batch.refresh_from_db()
    logger.info("batch replay failed", batch_id=str(batch.pk), replayed=len(outcome.done),
                skipped=len(outcome.skipped), by=actor_name(user))
    return batch, outcome
