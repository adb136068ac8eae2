"""What "Retry now" and "Run now" share: queue a waiting run at once, then push it."""

from __future__ import annotations

import uuid

import structlog
from django.db import transaction

from taskboard.backend.backend import push_after_commit
from taskboard.exceptions import OperationError
from taskboard.models import Status, TaskRun
from taskboard.operations.lookups import get_run
from taskboard.operations.permissions import Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def start_waiting(run_id: uuid.UUID | str, waiting: Status, *, perm: str, verb: str,
                  user: Actor) -> TaskRun:
    """Queue the run now if it is still ``waiting``; ``OperationError`` (409) otherwise.

    The transition is conditional on the status, so a dispatcher that queues the run at the
    same moment makes this a clean refusal rather than a second message.
    """
    require(user, perm)
    run = get_run(run_id)
    with transaction.atomic():
        if not run.start_now(waiting):
            run.refresh_from_db()
            raise OperationError(f"{verb} applies to a {waiting} run; run {run.pk} is {run.status}")
        push_after_commit(run)
    logger.info(f"run {verb}", run_id=str(run.pk), task=run.task, by=actor_name(user))
    return run
