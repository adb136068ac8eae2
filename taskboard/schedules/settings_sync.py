"""Schedules declared in settings: ``TASKBOARD_SCHEDULES`` (plus the built-in retention
schedule), validated as a whole and synced to rows when a ``taskboard_worker`` starts.

``TASKBOARD_SCHEDULES = {"nightly-report": {"task": "reports.tasks.build", "cron": "0 6 * * *",
"timezone": "Europe/Berlin", "kwargs": {...}}, "heartbeat": {"task": …, "every": 60}}`` (in the
settings module, or as JSON in the environment variable of that name). Keys: ``task``,
``cron`` | ``every``, ``args``, ``kwargs``, ``queue``, ``priority``, ``timezone``,
``misfire`` (``skip``/``run_once``), ``overlap`` (``allow``/``skip``).

Sync: a declared schedule that has no row is created; one whose definition changed is
updated (its next fire time recomputed only when its timing changed, so a restart neither
shifts an interval's phase nor forgets a fire time that is due); ``paused`` is left as an
operator set it. Settings-declared rows whose name left the settings are removed; rows added
at run time are never touched, except that a declared name takes its row over. Any number of
hosts may sync at once: each row is written in its own transaction, and a concurrent create
of the same name is retried as an update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from taskboard.exceptions import InvalidSchedule
from taskboard.models import Schedule, ScheduleSource
from taskboard.schedules import definition, retention
from taskboard.schedules.definition import ScheduleSpec
from taskboard.schedules.firing import first_fire_at

logger = structlog.get_logger("taskboard.schedules")

TIMING_FIELDS = ("cron", "every", "timezone")


def declared() -> dict[str, ScheduleSpec]:
    """Every schedule the settings declare, validated; ``ImproperlyConfigured`` naming the
    schedule and what is wrong with it otherwise."""
    raw = getattr(settings, "TASKBOARD_SCHEDULES", None) or {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("TASKBOARD_SCHEDULES must map schedule names to definitions, e.g. "
                                   "{'nightly': {'task': 'app.tasks.report', 'cron': '0 3 * * *'}}")
    specs: dict[str, ScheduleSpec] = {}
    for name, entry in raw.items():
        try:
            specs[str(name)] = definition.from_mapping(name, entry)
        except InvalidSchedule as exc:
            raise ImproperlyConfigured(f"TASKBOARD_SCHEDULES[{str(name)[:100]!r}]: {exc}") from None
    builtin = retention.builtin_spec()
    if builtin is not None:
        specs.setdefault(builtin.name, builtin)  # a declared "taskboard.retention" replaces it
    return specs


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def sync(now: datetime | None = None) -> SyncResult:
    """Make the settings-declared rows match the settings (see the module docstring)."""
    now = now or timezone.now()
    specs = declared()
    result = SyncResult()
    for spec in specs.values():
        change = _sync_one(spec, now)
        if change == "created":
            result.created.append(spec.name)
        elif change == "updated":
            result.updated.append(spec.name)
    with transaction.atomic():
        gone = Schedule.objects.from_settings().exclude(name__in=list(specs))
        result.removed = list(gone.values_list("name", flat=True))
        gone.delete()
    if result.created or result.updated or result.removed:
        logger.info("schedules synced from settings", **result.__dict__)
    return result


def _sync_one(spec: ScheduleSpec, now: datetime) -> str:
    for _ in range(2):
        try:
            with transaction.atomic():
                row = Schedule.objects.select_for_update().filter(name=spec.name).first()
                if row is None:
                    Schedule.objects.create(name=spec.name, source=ScheduleSource.SETTINGS, created_by="settings",
                                            next_run_at=first_fire_at(spec.timing, now), **spec.fields())
                    return "created"
                return _update(row, spec, now)
        except IntegrityError:
            continue  # another host created it a moment ago: update that row instead
    raise ImproperlyConfigured(f"could not sync schedule {spec.name!r}")


def _update(row: Schedule, spec: ScheduleSpec, now: datetime) -> str:
    fields = spec.fields()
    if row.source == ScheduleSource.SETTINGS and all(getattr(row, k) == v for k, v in fields.items()):
        return "unchanged"
    if row.source != ScheduleSource.SETTINGS:
        logger.warning("settings take over a schedule added at run time", schedule=row.name)
    retimed = any(getattr(row, k) != fields[k] for k in TIMING_FIELDS) or row.next_run_at is None
    row.redefine(fields, first_fire_at(spec.timing, now) if retimed else row.next_run_at, ScheduleSource.SETTINGS)
    return "updated"
