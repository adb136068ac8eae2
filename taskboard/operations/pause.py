"""Pause and resume a queue or a task: nothing new of it starts while paused (running runs
finish); resuming releases the runs held for it. The mechanism is ``taskboard.flow.pauses``."""

from __future__ import annotations

import structlog
from django.db import transaction

from taskboard.flow import pauses
from taskboard.models import Pause, PauseScope
from taskboard.operations import audit
from taskboard.operations.lookups import known_queue, known_task
from taskboard.operations.permissions import PERM_PAUSE, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

REASON_MAX = 500


def _known(scope: PauseScope, name: str) -> str:
    return known_queue(name) if scope == PauseScope.QUEUE else known_task(name)


def _pause(scope: PauseScope, name: str, reason: str, user: Actor) -> Pause:
    require(user, PERM_PAUSE)
    _known(scope, name)
    by = actor_name(user)
    with transaction.atomic():
        row = pauses.pause(scope.value, name, reason[:REASON_MAX], by)
        audit.record(f"{scope.value}.pause", user=user, targets=[name], reason=reason)
    logger.info(f"{scope.value} pause", name=name, by=by, reason=reason[:REASON_MAX])
    return row


def _resume(scope: PauseScope, name: str, reason: str, user: Actor) -> int:
    require(user, PERM_PAUSE)
    _known(scope, name)
    by = actor_name(user)
    with transaction.atomic():
        released = pauses.resume(scope.value, name, by)
        audit.record(f"{scope.value}.resume", user=user, targets=[name], reason=reason)
    logger.info(f"{scope.value} resume", name=name, by=by, reason=reason[:REASON_MAX], released=released)
    return released


def pause_queue(name: str, *, reason: str = "", user: Actor = None) -> Pause:
    """Pause a configured queue (``UnknownName`` otherwise)."""
    return _pause(PauseScope.QUEUE, name, reason, user)


def resume_queue(name: str, *, reason: str = "", user: Actor = None) -> int:
    """Resume a queue; returns how many held runs were released."""
    return _resume(PauseScope.QUEUE, name, reason, user)


def pause_task(name: str, *, reason: str = "", user: Actor = None) -> Pause:
    """Pause a registered task (``UnknownName`` otherwise)."""
    return _pause(PauseScope.TASK, name, reason, user)


def resume_task(name: str, *, reason: str = "", user: Actor = None) -> int:
    """Resume a task; returns how many held runs were released."""
    return _resume(PauseScope.TASK, name, reason, user)
