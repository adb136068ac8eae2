"""Run now: a run waiting for its ``run_after`` (``scheduled``) is queued at once.

Needs the enqueue permission: it starts work earlier than whoever enqueued it asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from taskboard.models import Status, TaskRun
from taskboard.operations.bulk import BulkResult
from taskboard.operations.permissions import PERM_RUN_NOW, Actor
from taskboard.operations.waiting import start_waiting, start_waiting_many


def run_now(run_id: uuid.UUID | str, *, user: Actor = None, reason: str = "") -> TaskRun:
    """Queue a ``scheduled`` run now; ``OperationError`` when it is in any other state."""
    return start_waiting(run_id, Status.SCHEDULED, perm=PERM_RUN_NOW, user=user, reason=reason)


def run_now_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None, reason: str = "",
                 filter: Mapping[str, Any] | None = None) -> BulkResult:
    return start_waiting_many(run_ids, Status.SCHEDULED, perm=PERM_RUN_NOW, user=user, reason=reason,
                              filter=filter)
