"""Force a circuit breaker open or closed by hand. Opening holds its runs until a manual close
(no automatic probe); closing resets it and releases the runs it held. The state machine and
its history are ``taskboard.flow.breakers``; the transition records who and why."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.db import transaction

from taskboard.flow import breakers
from taskboard.models import Breaker
from taskboard.operations import audit
from taskboard.operations.lookups import known_breaker
from taskboard.operations.permissions import PERM_BREAKER, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

REASON_MAX = 500


def _force(name: str, reason: str, user: Actor, force: Callable[[str, str, str], Breaker], verb: str) -> Breaker:
    require(user, PERM_BREAKER)
    known_breaker(name)
    by = actor_name(user)
    with transaction.atomic():
        row = force(name, reason[:REASON_MAX], by)
        audit.record(f"breaker.{verb}", user=user, targets=[name], reason=reason)
    logger.info(f"breaker {verb}", name=name, by=by, reason=reason[:REASON_MAX])
    return row


def open_breaker(name: str, *, reason: str = "", user: Actor = None) -> Breaker:
    """Open a configured breaker (``UnknownName`` otherwise)."""
    return _force(name, reason, user, breakers.force_open, "open")


def close_breaker(name: str, *, reason: str = "", user: Actor = None) -> Breaker:
    """Close a configured breaker and release its held runs."""
    return _force(name, reason, user, breakers.force_close, "close")
