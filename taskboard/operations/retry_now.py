"""Retry now: a run waiting out its backoff (``retrying``) starts its next attempt at once.

The attempt count is untouched: the next attempt is the one the backoff was waiting for.
Needs the replay permission (it re-executes a failed run's work).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from taskboard.models import Status, TaskRun
from taskboard.operations.bulk import BulkResult, each
from taskboard.operations.permissions import PERM_RETRY_NOW, Actor, require
from taskboard.operations.waiting import start_waiting


def retry_now(run_id: uuid.UUID | str, *, user: Actor = None) -> TaskRun:
    """Queue a ``retrying`` run now; ``OperationError`` when it is in any other state."""
    return start_waiting(run_id, Status.RETRYING, perm=PERM_RETRY_NOW, verb="retry now", user=user)


def retry_now_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None) -> BulkResult:
    require(user, PERM_RETRY_NOW)
    return each(retry_now, run_ids, user)
