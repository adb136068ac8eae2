"""Discard: close dead letters without replaying them (the runs stay failed)."""

from __future__ import annotations

import structlog
from django.db.models import QuerySet

from taskboard.models import DeadLetter, Resolution
from taskboard.operations.bulk import BULK_LIMIT
from taskboard.operations.permissions import PERM_DISCARD, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def discard_dead_letters(letters: QuerySet[DeadLetter], *, user: Actor = None, limit: int = BULK_LIMIT) -> int:
    """Close dead letters without replaying them (the runs stay failed)."""
    require(user, PERM_DISCARD)
    count = 0
    for letter in letters[:limit]:
        count += letter.resolve(Resolution.DISCARDED, actor_name(user), user)
    logger.info("dead letters discarded", count=count, by=actor_name(user))
    return count
