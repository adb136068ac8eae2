"""django-ninja schemas of the JSON API: request bodies in, run/dead letter/stats JSON out.

Request bodies are validated strictly (no coercion, no unknown fields). The response schemas
document the shapes of ``readmodels.representations`` for OpenAPI; the dicts are built there.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from taskboard.operations import BULK_LIMIT


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- request bodies -----------------------------------------------------------------------------

class EnqueueIn(_Strict):
    task: StrictStr = Field(description="Dotted name of an allowlisted task, e.g. taskboard.demo.noop")
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    queue: StrictStr | None = None
    run_after: StrictStr | None = Field(None, description="ISO 8601 with a UTC offset",
                                        json_schema_extra={"format": "date-time"})
    idempotency_key: StrictStr | None = Field(None, min_length=1, max_length=200)


class ReplayIn(_Strict):
    kwargs: dict[str, Any] | None = Field(None, description="Edited keyword arguments (validated)")


class DeadLetterReplayIn(_Strict):
    ids: list[StrictInt] | None = Field(None, max_length=BULK_LIMIT,
                                        description="Dead letter ids (the `id` of /api/dead-letters/)")
    task: StrictStr | None = Field(None, description="Replay every open dead letter of this task")


# --- responses ----------------------------------------------------------------------------------

class RunError(Schema):
    attempt: int
    kind: str
    exception: str
    message: str
    at: str | None


class RunOut(Schema):
    id: str
    task: str
    queue: str
    status: str
    args: list[Any]
    kwargs: dict[str, Any]
    result: Any = None
    progress: int
    progress_message: str
    checkpoint: Any = None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    enqueued_at: str
    run_after: str | None
    started_at: str | None
    finished_at: str | None
    replay_of: str | None
    errors: list[RunError]


class RunPage(Schema):
    results: list[RunOut]
    next: str | None


class DeadLetterOut(Schema):
    id: int
    run: str
    reason: str
    created_at: str
    resolved_at: str | None
    resolution: str | None


class DeadLetterPage(Schema):
    results: list[DeadLetterOut]
    next: str | None


class Skipped(Schema):
    run: str
    reason: str


class ReplayedOut(Schema):
    replayed: int
    runs: list[str]
    skipped: list[Skipped]


class StatsOut(Schema):
    by_status: dict[str, int]
    by_task: dict[str, dict[str, int]]
    dead_letters_open: int


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


# Page sizes of the lists (the ``limit`` query parameter).
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# The statuses every endpoint may answer with ``ErrorOut``.
ERRORS = frozenset({400, 401, 403, 404, 409, 413})
