"""Retention: the built-in schedule ``taskboard.retention`` prunes finished runs older than
``TASKBOARD_RETENTION_DAYS`` (default 30; 0 turns it off) every hour, at minute 7.

It is a task (``taskboard.schedules.retention.prune``) fired by a schedule and run through
the normal run path, not a job inside the clock, because:

* the clock is the one-second loop every host shares for due runs, lease recovery and
  schedules; deleting a million rows there would make every retry and fire time late;
* as a run it is visible (Schedules page, runs list, its progress), can be paused, run now,
  retried with backoff, and a failure is a dead letter an operator sees;
* the schedule fires it exactly once per hour however many hosts run a clock, and its
  ``overlap: skip`` and the task's ``concurrency_limit=1`` keep two prunes from overlapping.

What may go is ``models.pruning``'s definition, the one ``taskboard_prune`` uses: finished
runs that finished before the cutoff, never a run with an open dead letter; then schedule
fire rows older than the cutoff. Deletion is 500 rows per transaction with a short pause
between batches, so writers (workers, the clock) are never held off for long — on SQLite,
where a transaction locks the whole database, too.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.tasks import task
from django.utils import timezone

from taskboard.conf import conf
from taskboard.exceptions import PermanentError
from taskboard.models import pruning
from taskboard.schedules.definition import ScheduleSpec, validate

NAME = "taskboard.retention"
CRON = "7 * * * *"
MAX_DAYS = 36_500
BATCH = 500
PAUSE_SECONDS = 0.05


def retention_days() -> float:
    """``TASKBOARD_RETENTION_DAYS``: 0 (off) or up to 100 years."""
    days = float(conf.RETENTION_DAYS)
    if not math.isfinite(days) or not 0 <= days <= MAX_DAYS:
        raise ImproperlyConfigured(f"TASKBOARD_RETENTION_DAYS must be from 0 (off) to {MAX_DAYS} days, not {days:g}")
    return days


def builtin_spec() -> ScheduleSpec | None:
    """The built-in retention schedule, or None when retention is off."""
    days = retention_days()
    if days == 0:
        return None
    return validate(NAME, f"{__name__}.prune", cron=CRON, kwargs={"older_than_days": days}, overlap="skip")


@task(takes_context=True, max_attempts=3, concurrency_limit=1)  # type: ignore[call-overload]
def prune(context: Any, older_than_days: float) -> dict[str, int]:
    """Delete finished runs (with their attempts) and schedule fires older than the cutoff."""
    if not math.isfinite(older_than_days) or not 0 < older_than_days <= MAX_DAYS:
        raise PermanentError(f"older_than_days must be more than 0 and at most {MAX_DAYS}")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    total = pruning.prunable_runs(cutoff).count()

    def between(deleted: int) -> bool:
        context.progress(min(99, deleted * 100 // max(total, 1)), f"deleted {deleted} of {total} runs")
        time.sleep(PAUSE_SECONDS)  # let other writers in between two batches
        return True

    runs = pruning.delete_runs_before(cutoff, batch=BATCH, between=between)
    fires = pruning.delete_fires_before(cutoff, batch=BATCH)
    context.log.info("retention pruned", runs=runs, fires=fires, older_than_days=older_than_days)
    return {"runs": runs, "fires": fires}
