"""Retry now: a run waiting out its backoff (``retrying``) starts its next attempt at once.

The attempt count is untouched: the next attempt is the one the backoff was waiting for.
Needs the replay permission (it re-executes a failed run's work).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from taskboard.models import Status, TaskRun
from taskboard.operations.bulk import BulkResult
from taskboard.operations.permissions import PERM_RETRY_NOW, Actor
from taskboard.operations.waiting import start_waiting, start_waiting_many


def retry_now(run_id: uuid.UUID | str, *, user: Actor = None, reason: str = "") -> TaskRun:
    """Queue a ``retrying`` run now; ``OperationError`` when it is in any other state."""
    return start_waiting(run_id, Status.RETRYING, perm=PERM_RETRY_NOW, user=user, reason=reason)


def retry_now_many(run_ids: Iterable[uuid.UUID | str], *, user: Actor = None, reason: str = "",
                   filter: Mapping[str, Any] | None = None) -> BulkResult:
    return start_waiting_many(run_ids, Status.RETRYING, perm=PERM_RETRY_NOW, user=user, reason=reason,
                              filter=filter)
