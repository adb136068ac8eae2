"""The schedules' part of the clock tick, run every second on every ``taskboard_worker`` host.

``tick(now)`` costs one indexed read while nothing is due (the earliest ``next_run_at`` of an
active schedule). For each due schedule, one transaction: lock its row (``lock_due``; another
host firing it right now is skipped, not waited for), decide the fire times (``timing.plan``:
late ones fired in order, missed ones skipped or run once), fire each — insert the
``ScheduleFire`` and create the run through the backend's ``create_run`` in one savepoint,
so the unique ``(schedule, fire_at)`` row decides exactly once — and advance ``next_run_at``.
The run is pushed to the broker when that transaction commits.

Overlap ``skip``: while the schedule's previous run is still open, a fire time is recorded
as ``skipped`` and no run is created. A run that cannot be created (its task was removed,
its arguments no longer bind) is recorded as ``failed`` with the reason, and the schedule
moves on instead of retrying the same error every second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.db import DatabaseError, transaction
from django.utils import timezone

from taskboard.backend import registry
from taskboard.backend.backend import TaskboardBackend
from taskboard.conf import conf
from taskboard.exceptions import InvalidSchedule
from taskboard.models import OPEN, FireOutcome, MisfirePolicy, OverlapPolicy, Schedule, TaskRun
from taskboard.schedules import timing
from taskboard.schedules.timing import Timing, TimingError

logger = structlog.get_logger("taskboard.schedules")

# Schedules fired per tick (the earliest first; the rest on the next tick) and fire times
# fired per schedule and tick when catching up.
BATCH = 50
CATCH_UP = 100


@dataclass
class TickOutcome:
    fired: int = 0  # runs created
    skipped: int = 0  # overlap
    failed: int = 0
    missed: int = 0
    next_fire_at: datetime | None = None
    schedules: list[str] = field(default_factory=list)


def timing_of(schedule: Schedule) -> Timing:
    return Timing(cron=schedule.cron, every=schedule.every, timezone=schedule.timezone)


def enqueue_for(schedule: Schedule) -> TaskRun:
    """Create the schedule's run through the normal enqueue path (validation, flow columns,
    push on commit), stamped with its origin: the schedule's name and a correlation id."""
    task = registry.get(schedule.task)
    if task is None:
        raise InvalidSchedule(f"task {schedule.task!r} is not known (any more)")
    backend = task.get_backend()
    if not isinstance(backend, TaskboardBackend):
        raise InvalidSchedule(f"task {schedule.task!r} does not use the taskboard backend")
    run, _ = backend.create_run(task, schedule.args, schedule.kwargs, queue=schedule.queue or None,
                                priority=schedule.priority)
    # create_run knows nothing of schedules: the origin is stamped in the same transaction,
    # before the commit that pushes the run, so no worker ever sees it without.
    run.schedule = schedule.name
    run.correlation_id = run.correlation_id or uuid.uuid4().hex
    TaskRun.objects.filter(pk=run.pk).update(schedule=run.schedule, correlation_id=run.correlation_id)
    return run


def _previous_open(run_id: str | None) -> bool:
    return run_id is not None and TaskRun.objects.filter(pk=run_id, status__in=OPEN).exists()


def fire_due(pk: int, now: datetime, outcome: TickOutcome) -> None:
    """Fire one due schedule (if no other host is doing it), in one transaction."""
    with transaction.atomic():
        schedule = Schedule.objects.lock_due(pk, now)
        if schedule is None or schedule.next_run_at is None:
            return
        plan = timing.plan(timing_of(schedule), schedule.next_run_at, now, grace=conf.SCHEDULE_MISFIRE_GRACE,
                           run_once=schedule.misfire == MisfirePolicy.RUN_ONCE, limit=CATCH_UP)
        if plan.missed:
            outcome.missed += plan.missed
            logger.warning("schedule missed fire times", schedule=schedule.name, missed=plan.missed,
                           since=plan.missed_from.isoformat() if plan.missed_from else None,
                           policy=schedule.misfire)
        runs: list[str] = []
        last_run = schedule.last_run_id
        for index, fire_at in enumerate(plan.fire_times):
            note = (f"run once for {plan.missed} missed fire time(s)"
                    if plan.collapsed and index == 0 else "")
            if schedule.overlap == OverlapPolicy.SKIP and _previous_open(last_run):
                if schedule.record_fire(fire_at, now, FireOutcome.SKIPPED, f"previous run {last_run} still open"):
                    outcome.skipped += 1
                continue
            try:
                fire = schedule.fire(fire_at, now, lambda: enqueue_for(schedule), note)
            except DatabaseError:
                raise  # the database's trouble, not the schedule's: the next tick tries again
            except Exception as exc:  # the run cannot be created: say why, and move on
                logger.error("schedule could not enqueue", schedule=schedule.name, fire_at=fire_at.isoformat(),
                             error=str(exc))
                if schedule.record_fire(fire_at, now, FireOutcome.FAILED, f"{type(exc).__name__}: {exc}"):
                    outcome.failed += 1
                continue
            if fire is None:
                continue  # another host fired this time
            if fire.run_id:
                last_run = str(fire.run_id)
                runs.append(last_run)
            outcome.fired += 1
        schedule.advance(plan.next_run_at, fired_at=now if plan.fire_times else None, runs=runs)
        if runs:
            outcome.schedules.append(schedule.name)
            logger.info("schedule fired", schedule=schedule.name, runs=len(runs),
                        lateness=round((now - plan.fire_times[-1]).total_seconds(), 3))


def tick(now: datetime | None = None) -> TickOutcome:
    """Fire every due schedule; ``next_fire_at`` tells the clock when to wake next."""
    now = now or timezone.now()
    outcome = TickOutcome()
    first = Schedule.objects.next_fire_at()
    if first is None or first > now:
        outcome.next_fire_at = first
        return outcome
    for pk in Schedule.objects.due(now).order_by("next_run_at").values_list("pk", flat=True)[:BATCH]:
        fire_due(pk, now, outcome)
    outcome.next_fire_at = Schedule.objects.next_fire_at()
    return outcome


def first_fire_at(schedule_timing: Timing, now: datetime | None = None) -> datetime | None:
    """When a new or resumed schedule fires first (None: a cron with no fire time left)."""
    try:
        return schedule_timing.first_fire(now or timezone.now())
    except TimingError:
        return None
