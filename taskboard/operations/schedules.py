"""Schedule verbs: add, pause, resume, run now, remove — for the dashboard, admin, API and
``taskboard_schedule`` alike.

Each needs ``taskboard.manage_schedule``, applies one change in one transaction and writes its
audit event (``schedule.add`` …) in that same transaction. A definition is validated by
``schedules.definition`` (``InvalidSchedule``, 400) before anything is written; an unknown
name is ``UnknownName`` (404); a name that exists already, or removing a schedule that
``TASKBOARD_SCHEDULES`` declares (it would come back on the next worker start), is an
``OperationError`` (409). Pausing a paused schedule or resuming an active one changes
nothing and is answered like the first time.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from taskboard.exceptions import OperationError
from taskboard.models import Schedule, ScheduleSource, TaskRun
from taskboard.operations import audit
from taskboard.operations.lookups import UnknownName
from taskboard.operations.permissions import PERM_SCHEDULE, Actor, actor_name, require
from taskboard.schedules import definition, firing

logger = structlog.get_logger("taskboard.operations")


def get_schedule(name: str) -> Schedule:
    """The schedule, or ``UnknownName``."""
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        raise UnknownName(f"no schedule named {str(name)[:100]!r}")
    return schedule


def _locked(name: str) -> Schedule:
    """The schedule, locked until the transaction ends (PostgreSQL; SQLite's write transaction
    is exclusive): a verb never acts on a row the clock is firing at that moment."""
    qs = Schedule.objects.filter(name=name)
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    schedule = qs.first()
    if schedule is None:
        raise UnknownName(f"no schedule named {str(name)[:100]!r}")
    return schedule


def add_schedule(name: object, task: object, *, user: Actor = None, **options: Any) -> Schedule:
    """A new schedule (``options``: cron | every, args, kwargs, queue, priority, timezone,
    misfire, overlap), firing first at its next fire time from now."""
    require(user, PERM_SCHEDULE)
    spec = definition.validate(name, task, **options)
    now = timezone.now()
    try:
        with transaction.atomic():
            if Schedule.objects.filter(name=spec.name).exists():
                raise OperationError(f"a schedule named {spec.name!r} already exists")
            schedule = Schedule.objects.create(
                name=spec.name, source=ScheduleSource.RUNTIME, created_by=actor_name(user)[:150],
                next_run_at=firing.first_fire_at(spec.timing, now), created_at=now, updated_at=now, **spec.fields())
            audit.record("schedule.add", user=user, targets=[spec.name])
    except IntegrityError:
        raise OperationError(f"a schedule named {spec.name!r} already exists") from None
    logger.info("schedule added", schedule=spec.name, task=spec.task, by=actor_name(user))
    return schedule


def pause_schedule(name: str, *, user: Actor = None, reason: str = "") -> Schedule:
    """It stops firing (a run already created goes on)."""
    require(user, PERM_SCHEDULE)
    with transaction.atomic():
        schedule = _locked(name)
        schedule.pause(actor_name(user))
        audit.record("schedule.pause", user=user, targets=[schedule.name], reason=reason)
    return schedule


def resume_schedule(name: str, *, user: Actor = None, reason: str = "") -> Schedule:
    """It fires again from its next fire time after now; what fell due while it was paused is
    not made up for."""
    require(user, PERM_SCHEDULE)
    with transaction.atomic():
        schedule = _locked(name)
        if schedule.paused:
            schedule.resume(firing.first_fire_at(firing.timing_of(schedule)))
        audit.record("schedule.resume", user=user, targets=[schedule.name], reason=reason)
    return schedule


def run_schedule(name: str, *, user: Actor = None) -> TaskRun:
    """A run of the schedule now, through the normal enqueue path (also while paused; its
    fire times are unaffected). Counts as the schedule's latest run."""
    require(user, PERM_SCHEDULE)
    with transaction.atomic():
        schedule = _locked(name)
        run = firing.enqueue_for(schedule)
        schedule.remember_run(str(run.pk))
        audit.record("schedule.run", user=user, targets=[schedule.name], runs=[run.pk])
    logger.info("schedule run now", schedule=schedule.name, run_id=str(run.pk), by=actor_name(user))
    return run


def remove_schedule(name: str, *, user: Actor = None) -> None:
    """Delete the schedule and its fire history; its runs stay (they keep its name)."""
    require(user, PERM_SCHEDULE)
    with transaction.atomic():
        schedule = _locked(name)
        if schedule.source == ScheduleSource.SETTINGS:
            raise OperationError(f"schedule {schedule.name!r} is declared in settings (TASKBOARD_SCHEDULES or "
                                 "TASKBOARD_RETENTION_DAYS); remove it there, or pause it")
        schedule.delete()
        audit.record("schedule.remove", user=user, targets=[name])
    logger.info("schedule removed", schedule=name, by=actor_name(user))
