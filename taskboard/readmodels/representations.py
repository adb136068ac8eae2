"""The JSON of runs, dead letters and failure groups, key for key as CONTRACT.md shows them.

Used by the JSON API and the management commands. Timestamps are ISO 8601 in UTC with an
explicit ``+00:00`` offset and full microseconds. Cursors live in ``paging``; parsing what
operators send lives in ``operations.inputs``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from taskboard.models import DeadLetter, Outcome, Status, TaskAttempt, TaskRun
from taskboard.readmodels.failures import FailureGroup


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()


# --- runs -------------------------------------------------------------------------------------

def _failed_attempts() -> QuerySet[TaskAttempt]:
    """The attempts a run's ``errors`` lists, with only the fields it shows."""
    return (TaskAttempt.objects.exclude(outcome=Outcome.SUCCEEDED)
            .only("id", "run_id", "number", "outcome", "exception", "message", "finished_at")
            .order_by("number"))


def with_errors(queryset: QuerySet[TaskRun]) -> QuerySet[TaskRun]:
    """Prefetch the failed attempts that ``run_to_dict`` lists (one query for a whole page)."""
    return queryset.prefetch_related(Prefetch("attempt_set", queryset=_failed_attempts(), to_attr="error_attempts"))


def _error_attempts(run: TaskRun) -> list[TaskAttempt]:
    prefetched: list[TaskAttempt] | None = getattr(run, "error_attempts", None)
    if prefetched is not None:
        return prefetched
    if not run.attempts:
        return []
    return list(_failed_attempts().filter(run=run))


def hold_json(run: TaskRun) -> dict[str, Any] | None:
    """CONTRACT's ``hold``: ``{"reason", "key", "since"}`` while held, else None."""
    if run.status != Status.HELD:
        return None
    return {"reason": run.hold_reason, "key": run.hold_key, "since": iso(run.held_since)}


def run_to_dict(run: TaskRun) -> dict[str, Any]:
    """The run JSON of CONTRACT.md, key for key."""
    return {
        "id": str(run.id),
        "task": run.task,
        "queue": run.queue,
        "status": run.status,
        "args": run.args if run.args is not None else [],
        "kwargs": run.kwargs if run.kwargs is not None else {},
        "result": run.result,
        "progress": run.progress,
        "progress_message": run.progress_message,
        "checkpoint": run.checkpoint,
        "attempts": run.attempts,
        "max_attempts": run.max_attempts,
        "cancel_requested": run.cancel_requested,
        "enqueued_at": iso(run.enqueued_at),
        "run_after": iso(run.run_after),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "replay_of": str(run.replay_of_id) if run.replay_of_id else None,
        "priority": run.priority,
        "hold": hold_json(run),
        "schedule": run.schedule or None,
        "batch": str(run.batch_id) if run.batch_id else None,
        "correlation_id": run.correlation_id or None,
        "errors": [
            {
                "attempt": attempt.number,
                "kind": attempt.outcome,
                "exception": attempt.exception,
                "message": attempt.message,
                "at": iso(attempt.finished_at),
            }
            for attempt in _error_attempts(run)
        ],
    }


def dead_letter_to_dict(letter: DeadLetter) -> dict[str, Any]:
    """An item of ``/api/dead-letters/``."""
    return {
        "id": letter.pk,
        "run": str(letter.run_id),
        "reason": letter.reason,
        "created_at": iso(letter.created_at),
        "resolved_at": iso(letter.resolved_at),
        "resolution": letter.resolution or None,
    }


def failure_group_to_dict(group: FailureGroup) -> dict[str, Any]:
    """An item of ``/api/failures/`` (and of ``taskboard_failures --json``)."""
    return {
        "fingerprint": group.fingerprint,
        "task": group.task,
        "exception": group.exception,
        "message": group.message,
        "count_1h": group.count_1h,
        "count_24h": group.count_24h,
        "count_7d": group.count_7d,
        "kind": group.outcome,
        "first_seen": iso(group.first_seen),
        "last_seen": iso(group.last_seen),
        "sample_run": str(group.sample_run_id) if group.sample_run_id else None,
        "runs_sampled": group.runs,
        "recovered": group.recovered,
    }
