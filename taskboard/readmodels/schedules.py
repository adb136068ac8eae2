"""Schedules as people look at them: the API's JSON (``GET /api/schedules/``,
``taskboard_schedule list --json``) and the Schedules page's rows (plain-words description,
next fire times, the latest runs as a status strip).

A fixed number of queries whatever the number of schedules: the schedules, then every run
their strips show by primary key (each schedule remembers its latest run ids), then those
runs' failed attempts for the JSON.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from taskboard.models import Schedule, TaskRun
from taskboard.readmodels.representations import iso, run_to_dict, with_errors
from taskboard.schedules import timing
from taskboard.schedules.firing import timing_of

UPCOMING = 3


def effective_queue(schedule: Schedule) -> str:
    """The queue its runs go to (definitions store their task's when none was given)."""
    return schedule.queue or "default"


def describe(schedule: Schedule) -> str:
    return timing.describe(timing_of(schedule))


def upcoming(schedule: Schedule, count: int = UPCOMING, now: datetime | None = None) -> list[datetime]:
    """Its next ``count`` fire times (none while paused)."""
    if schedule.paused or schedule.next_run_at is None:
        return []
    first = schedule.next_run_at
    now = now or timezone.now()
    if first < now:  # due right now: the clock is about to fire it
        return [first, *timing_of(schedule).upcoming(now, count - 1, anchor=first)]
    return [first, *timing_of(schedule).upcoming(first, count - 1, anchor=first)]


def _runs_by_id(run_ids: list[str], *, errors: bool) -> dict[str, TaskRun]:
    ids: list[uuid.UUID] = []
    for run_id in run_ids:
        try:
            ids.append(uuid.UUID(str(run_id)))
        except ValueError:
            continue
    if not ids:
        return {}
    qs: QuerySet[TaskRun] = TaskRun.objects.filter(pk__in=ids)
    if errors:
        qs = with_errors(qs)
    return {str(run.pk): run for run in qs}


def schedule_json(schedule: Schedule, last_run: TaskRun | None) -> dict[str, Any]:
    """An item of ``/api/schedules/``: the CONTRACT keys, then the rest of its definition and
    state. ``next_run_at`` is null while paused (it will not fire)."""
    return {
        "name": schedule.name,
        "task": schedule.task,
        "cron": schedule.cron or None,
        "every": schedule.every,
        "kwargs": schedule.kwargs,
        "queue": effective_queue(schedule),
        "timezone": schedule.timezone,
        "paused": schedule.paused,
        "next_run_at": None if schedule.paused else iso(schedule.next_run_at),
        "last_run": run_to_dict(last_run) if last_run is not None else None,
        "args": schedule.args,
        "priority": schedule.priority,
        "description": describe(schedule),
        "misfire": schedule.misfire,
        "overlap": schedule.overlap,
        "source": schedule.source,
        "last_fired_at": iso(schedule.last_fired_at),
        "created_at": iso(schedule.created_at),
    }


def schedules_json(schedules: list[Schedule] | None = None) -> list[dict[str, Any]]:
    """Every schedule (or those given), by name, with its last run."""
    rows = schedules if schedules is not None else list(Schedule.objects.order_by("name"))
    runs = _runs_by_id([s.last_run_id for s in rows if s.last_run_id], errors=True)
    return [schedule_json(s, runs.get(s.last_run_id or "")) for s in rows]


def one_json(name: str) -> dict[str, Any]:
    return schedules_json(list(Schedule.objects.filter(name=name)))[0]


@dataclass
class ScheduleRow:
    """A row of the Schedules page."""

    schedule: Schedule
    description: str
    queue: str
    upcoming: list[datetime]
    strip: list[TaskRun] = field(default_factory=list)  # oldest first, like a timeline


def schedule_rows(now: datetime | None = None) -> list[ScheduleRow]:
    schedules = list(Schedule.objects.order_by("name"))
    runs = _runs_by_id([run_id for s in schedules for run_id in s.recent_runs], errors=False)
    now = now or timezone.now()
    rows = []
    for schedule in schedules:
        strip = [runs[r] for r in reversed(schedule.recent_runs) if r in runs]
        rows.append(ScheduleRow(schedule, describe(schedule), effective_queue(schedule),
                                upcoming(schedule, now=now), strip))
    return rows
