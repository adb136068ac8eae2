"""Cancel: a waiting run at once, a running one by asking it to stop."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import structlog
from django.db import transaction

from taskboard.backend.finished import send_finished_for
from taskboard.exceptions import OperationError
from taskboard.models import FINISHED, TaskRun
from taskboard.operations.bulk import BulkResult, each
from taskboard.operations.lookups import get_run
from taskboard.operations.permissions import PERM_CANCEL, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def cancel(run_id: uuid.UUID | str, *, user: Actor = None) -> TaskRun:
    """Cancel a waiting run at once, or ask a running one to stop."""
    require(user, PERM_CANCEL)
    by = actor_name(user)
    run = get_run(run_id)
    # The status can move under us (a worker claims the run); two tries cover that race.
    for _ in range(3):
        cancelled = run.cancel_waiting(by)
        if cancelled:
            # It never started, so no worker reports its end (a running one's does).
            transaction.on_commit(lambda: send_finished_for(run), robust=True)
        if cancelled or run.request_cancel(by):
            logger.info("run cancel", run_id=str(run.pk), by=by, status=run.status)
            return run
        run.refresh_from_db()
        if run.status in FINISHED:
            raise OperationError(f"run {run.pk} is already {run.status}")
    raise OperationError(f"run {run.pk} changed state repeatedly; try again")


def cancel_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None) -> BulkResult:
    require(user, PERM_CANCEL)
    return each(cancel, run_ids, user)
