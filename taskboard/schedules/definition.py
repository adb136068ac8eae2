"""What a schedule is, validated the same way from every source: ``TASKBOARD_SCHEDULES``, the
API, the CLI, the dashboard and the admin.

``validate(...)`` returns a ``ScheduleSpec`` or raises ``InvalidSchedule`` (HTTP 400) whose
message names the field: a name that is not slug-like or too long, a cron expression that is
not 5 valid fields or never fires, an interval under 1 s, both or neither of cron and every,
an unknown time zone, task or queue, a priority outside −100…100, or arguments that do not
bind to the task's signature. Nothing is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from django.tasks.exceptions import InvalidTask
from django.utils.timezone import now

from taskboard.backend import registry
from taskboard.backend.arguments import validate_arguments
from taskboard.backend.backend import TaskboardBackend
from taskboard.backend.task import TaskboardTask
from taskboard.conf import configured_queues
from taskboard.exceptions import InvalidSchedule
from taskboard.models import MisfirePolicy, OverlapPolicy
from taskboard.models.schedules import NAME_MAX
from taskboard.schedules import timing
from taskboard.schedules.timing import Timing, TimingError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# The keys a TASKBOARD_SCHEDULES entry may have.
KEYS = frozenset({"task", "cron", "every", "args", "kwargs", "queue", "priority", "timezone", "misfire", "overlap"})


@dataclass(frozen=True)
class ScheduleSpec:
    """A validated schedule definition (``queue``: the task's when none was given; ``priority``
    None: the task's own)."""

    name: str
    task: str
    cron: str = ""
    every: int | None = None
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = ""
    priority: int | None = None
    timezone: str = "UTC"
    misfire: str = MisfirePolicy.SKIP.value
    overlap: str = OverlapPolicy.ALLOW.value

    @property
    def timing(self) -> Timing:
        return Timing(cron=self.cron, every=self.every, timezone=self.timezone)

    def fields(self) -> dict[str, Any]:
        """The ``Schedule`` columns this definition sets (everything but its state)."""
        return {"task": self.task, "cron": self.cron, "every": self.every, "args": self.args,
                "kwargs": self.kwargs, "queue": self.queue, "priority": self.priority,
                "timezone": self.timezone, "misfire": self.misfire, "overlap": self.overlap}


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidSchedule("name is required")
    if len(name) > NAME_MAX:
        raise InvalidSchedule(f"name is longer than {NAME_MAX} characters")
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidSchedule(f"name {name[:NAME_MAX]!r} may only contain letters, digits, '.', '_' and '-', "
                              "and must start with a letter or digit")
    return name


def check_task(name: object) -> TaskboardTask:
    if not isinstance(name, str) or not name:
        raise InvalidSchedule("task is required")
    task = registry.get(name)
    if task is None:
        raise InvalidSchedule(f"unknown task {name[:255]!r}; known tasks: {', '.join(registry.names())}")
    if not isinstance(task.get_backend(), TaskboardBackend):
        raise InvalidSchedule(f"task {name!r} does not use the taskboard backend")
    return task


def _choice(value: object, what: str, choices: type[MisfirePolicy] | type[OverlapPolicy]) -> str:
    allowed = [str(c) for c in choices.values]
    if value not in allowed:
        raise InvalidSchedule(f"{what} must be one of {', '.join(allowed)}, not {str(value)[:40]!r}")
    return str(value)


def validate(name: object, task: object, *, cron: object = None, every: object = None, args: object = None,
             kwargs: object = None, queue: object = None, priority: object = None, timezone: object = None,
             misfire: object = None, overlap: object = None) -> ScheduleSpec:
    """A ``ScheduleSpec``, or ``InvalidSchedule`` naming the first field that is wrong."""
    name = check_name(name)
    task_obj = check_task(task)
    if (cron in (None, "")) == (every is None):
        raise InvalidSchedule("give exactly one of cron (an expression) and every (seconds)")
    zone = "UTC" if timezone in (None, "") else timezone
    if not isinstance(zone, str):
        raise InvalidSchedule("timezone must be an IANA name such as UTC or Europe/Berlin")
    try:
        cron_text = timing.normalise_cron(cron) if cron not in (None, "") else ""
        interval = timing.check_every(every) if every is not None else None
        timing.zone(zone)
        if cron_text:  # an expression that never fires is refused
            Timing(cron=cron_text, timezone=zone).next_after(now())
    except TimingError as exc:
        raise InvalidSchedule(str(exc)) from None
    queue_name = "" if queue in (None, "") else queue
    if not isinstance(queue_name, str) or (queue_name and queue_name not in configured_queues()):
        raise InvalidSchedule(f"unknown queue {str(queue_name)[:64]!r}; configured: {', '.join(configured_queues())}")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                 or not TASK_MIN_PRIORITY <= priority <= TASK_MAX_PRIORITY):
        raise InvalidSchedule(f"priority must be a whole number from {TASK_MIN_PRIORITY} to {TASK_MAX_PRIORITY}")
    try:
        bound_args, bound_kwargs = validate_arguments(task_obj, [] if args is None else args,
                                                      {} if kwargs is None else kwargs)
    except InvalidTask as exc:
        raise InvalidSchedule(str(exc)) from None
    return ScheduleSpec(
        name=name, task=task_obj.module_path, cron=cron_text, every=interval, args=bound_args, kwargs=bound_kwargs,
        queue=queue_name or task_obj.queue_name, priority=priority, timezone=zone,
        misfire=_choice(misfire or MisfirePolicy.SKIP.value, "misfire", MisfirePolicy),
        overlap=_choice(overlap or OverlapPolicy.ALLOW.value, "overlap", OverlapPolicy),
    )


def from_mapping(name: object, entry: object) -> ScheduleSpec:
    """A ``TASKBOARD_SCHEDULES`` entry: ``{"task", "cron" | "every", "args"?, "kwargs"?, …}``."""
    if not isinstance(entry, Mapping):
        raise InvalidSchedule("must be a mapping such as {'task': 'app.tasks.report', 'cron': '0 7 * * *'}")
    unknown = sorted(str(key) for key in entry if key not in KEYS)
    if unknown:
        raise InvalidSchedule(f"unknown key {unknown[0]!r}; use {', '.join(sorted(KEYS))}")
    return validate(name, entry.get("task"), **{key: entry.get(key) for key in KEYS - {"task"}})
