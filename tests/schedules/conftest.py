"""Helpers for the schedule tests: a schedule added through the verb, at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taskboard import operations
from taskboard.models import Schedule

NOOP = "taskboard.demo.noop"
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def add(name: str = "s1", task: str = NOOP, *, next_run_at: datetime | None = T0, **options: Any) -> Schedule:
    """A schedule added as an operator would (``every=1`` unless a timing is given), then set
    to fire first at ``next_run_at``."""
    if "cron" not in options and "every" not in options:
        options["every"] = 1
    schedule = operations.add_schedule(name, task, **options)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=next_run_at)
    schedule.refresh_from_db()
    return schedule


# Real taskboard_worker processes (the execution tests' fixture) for test_workers.
from tests.execution.conftest import start_worker  # noqa: E402, F401
