"""Discard: close dead letters without replaying them (the runs stay failed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from django.db import transaction
from django.db.models import QuerySet

from taskboard.models import DeadLetter, Resolution
from taskboard.operations import audit
from taskboard.operations.bulk import BULK_LIMIT
from taskboard.operations.permissions import PERM_DISCARD, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def discard_dead_letters(letters: QuerySet[DeadLetter], *, user: Actor = None, limit: int = BULK_LIMIT,
                         reason: str = "", filter: Mapping[str, Any] | None = None) -> int:
    """Close dead letters without replaying them (the runs stay failed); one audit event
    naming their runs (or the ``filter`` that chose them). Returns how many were closed."""
    require(user, PERM_DISCARD)
    with transaction.atomic():
        runs = [letter.run_id for letter in letters[:limit]
                if letter.resolve(Resolution.DISCARDED, actor_name(user), user)]
        if runs:
            audit.record("dead_letter.discard", user=user, targets=runs, runs=runs, filter=filter, reason=reason)
    logger.info("dead letters discarded", count=len(runs), by=actor_name(user))
    return len(runs)
