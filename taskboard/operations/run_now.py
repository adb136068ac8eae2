"""Run now: a run waiting for its ``run_after`` (``scheduled``) is queued at once.

Needs the enqueue permission: it starts work earlier than whoever enqueued it asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from taskboard.models import Status, TaskRun
from taskboard.operations.bulk import BulkResult, each
from taskboard.operations.permissions import PERM_RUN_NOW, Actor, require
from taskboard.operations.waiting import start_waiting


def run_now(run_id: uuid.UUID | str, *, user: Actor = None) -> TaskRun:
    """Queue a ``scheduled`` run now; ``OperationError`` when it is in any other state."""
    return start_waiting(run_id, Status.SCHEDULED, perm=PERM_RUN_NOW, verb="run now", user=user)


def run_now_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None) -> BulkResult:
    require(user, PERM_RUN_NOW)
    return each(run_now, run_ids, user)
