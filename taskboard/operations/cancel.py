"""Cancel: a waiting run at once, a running one by asking it to stop."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import transaction

from taskboard.backend.finished import send_finished_for
from taskboard.exceptions import OperationError
from taskboard.models import FINISHED, TaskRun
from taskboard.operations import audit
from taskboard.operations.bulk import BulkResult, each, record_bulk
from taskboard.operations.lookups import get_run
from taskboard.operations.permissions import PERM_CANCEL, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def cancel(run_id: uuid.UUID | str, *, user: Actor = None, reason: str = "") -> TaskRun:
    """Cancel a waiting run at once, or ask a running one to stop."""
    require(user, PERM_CANCEL)
    with transaction.atomic():
        run = _cancel(run_id, user=user)
        audit.record("run.cancel", user=user, targets=[run.pk], runs=[run.pk], reason=reason)
    return run


def _cancel(run_id: uuid.UUID | str, *, user: Actor) -> TaskRun:
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


def cancel_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None, reason: str = "",
                filter: Mapping[str, Any] | None = None) -> BulkResult:
    """Cancel each run (those that cannot be are skipped): one audit event for all of them."""
    require(user, PERM_CANCEL)
    with transaction.atomic():
        outcome = each(_cancel, run_ids, user)
        record_bulk("run.cancel", outcome, user=user, reason=reason, filter=filter)
    return outcome
