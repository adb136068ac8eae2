"""What "Retry now" and "Run now" share: queue a waiting run at once, then push it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import transaction

from taskboard.backend.backend import push_after_commit
from taskboard.exceptions import OperationError
from taskboard.models import Status, TaskRun
from taskboard.operations import audit
from taskboard.operations.bulk import BulkResult, each, record_bulk
from taskboard.operations.lookups import get_run
from taskboard.operations.permissions import Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

# The audit verb and the wording of each kind of start.
VERBS = {Status.RETRYING: ("run.retry_now", "retry now"), Status.SCHEDULED: ("run.run_now", "run now")}


def start_waiting(run_id: uuid.UUID | str, waiting: Status, *, perm: str, user: Actor, reason: str = "") -> TaskRun:
    """Queue the run now if it is still ``waiting``; ``OperationError`` (409) otherwise.

    The transition is conditional on the status, so a dispatcher that queues the run at the
    same moment makes this a clean refusal rather than a second message.
    """
    require(user, perm)
    with transaction.atomic():
        run = _start(run_id, waiting, user=user)
        audit.record(VERBS[waiting][0], user=user, targets=[run.pk], runs=[run.pk], reason=reason)
    return run


def start_waiting_many(run_ids: Iterable[uuid.UUID | str], waiting: Status, *, perm: str, user: Actor,
                       reason: str = "", filter: Mapping[str, Any] | None = None) -> BulkResult:
    """``start_waiting`` for each run (the others are skipped), with one audit event."""
    require(user, perm)
    with transaction.atomic():
        outcome = each(lambda run_id, user: _start(run_id, waiting, user=user), run_ids, user)
        record_bulk(VERBS[waiting][0], outcome, user=user, reason=reason, filter=filter)
    return outcome


def _start(run_id: uuid.UUID | str, waiting: Status, *, user: Actor) -> TaskRun:
    verb = VERBS[waiting][1]
    run = get_run(run_id)
    if not run.start_now(waiting):
        run.refresh_from_db()
        raise OperationError(f"{verb} applies to a {waiting} run; run {run.pk} is {run.status}")
    push_after_commit(run)
    logger.info(f"run {verb}", run_id=str(run.pk), task=run.task, by=actor_name(user))
    return run
