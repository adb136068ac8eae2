"""JSON in and out: the run JSON of CONTRACT.md, dead letters, cursors and input checks.

Used by the JSON API and the management commands (which must not import from ``views``).
Timestamps are ISO 8601 in UTC with an explicit ``+00:00`` offset and full microseconds.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from taskboard.backend import jsonvalues
from taskboard.models import DeadLetter, Outcome, TaskAttempt, TaskRun

# Deeper JSON than this is refused before it reaches code that recurses (json.dumps,
# normalize_json) and could hit the interpreter's recursion limit.


class BadInput(ValueError):
    """Input that cannot be accepted; the message says precisely why."""


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()


# --- runs -------------------------------------------------------------------------------------

def with_errors(queryset: QuerySet[TaskRun]) -> QuerySet[TaskRun]:
    """Prefetch the failed attempts that ``run_to_dict`` lists (one query for a whole page)."""
    attempts = (TaskAttempt.objects.exclude(outcome=Outcome.SUCCEEDED)
                .only("id", "run_id", "number", "outcome", "exception", "message", "finished_at")
                .order_by("number"))
    return queryset.prefetch_related(Prefetch("attempt_set", queryset=attempts, to_attr="error_attempts"))


def _error_attempts(run: TaskRun) -> list[TaskAttempt]:
    prefetched = getattr(run, "error_attempts", None)
    if prefetched is not None:
        return prefetched
    if not run.attempts:
        return []
    return list(with_errors(TaskRun.objects.filter(pk=run.pk))[0].error_attempts)


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
    return {
        "id": letter.pk,
        "run": str(letter.run_id),
        "reason": letter.reason,
        "created_at": iso(letter.created_at),
        "resolved_at": iso(letter.resolved_at),
        "resolution": letter.resolution or None,
    }


# --- keyset cursors ---------------------------------------------------------------------------

def encode_cursor(at: datetime, pk: Any) -> str:
    """Opaque position after a row in ``(-timestamp, -pk)`` order."""
    raw = f"{iso(at)}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, pk = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("naive")
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, UnicodeError, binascii.Error):
        raise BadInput("cursor is not valid; use the 'next' value of a previous page") from None
    return at, pk


def decode_run_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, pk = decode_cursor(cursor)
    try:
        return at, uuid.UUID(pk)
    except ValueError:
        raise BadInput("cursor is not valid; use the 'next' value of a previous page") from None


def decode_int_cursor(cursor: str) -> tuple[datetime, int]:
    at, pk = decode_cursor(cursor)
    if not pk.isdigit() or len(pk) > 18:
        raise BadInput("cursor is not valid; use the 'next' value of a previous page")
    return at, int(pk)


# --- input ------------------------------------------------------------------------------------

def parse_run_after(value: str, field: str = "run_after") -> datetime:
    """An aware ISO 8601 datetime, normalised to UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"{field} {value[:60]!r} is not an ISO 8601 datetime (e.g. 2030-01-31T12:00:00+00:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadInput(f"{field} {value[:60]!r} has no UTC offset; add one, e.g. +00:00 or Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise BadInput(f"{field} {value[:60]!r} is out of range") from None


def check_json_value(value: Any, field: str) -> None:
    """``jsonvalues.check_json_value`` with the API's error type."""
    try:
        jsonvalues.check_json_value(value, field)
    except jsonvalues.UnsafeJSON as exc:
        raise BadInput(str(exc)) from None
