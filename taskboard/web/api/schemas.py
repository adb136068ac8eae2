"""django-ninja schemas of the JSON API: request bodies in, run/dead letter/stats JSON out.

Request bodies are validated strictly (no coercion, no unknown fields), and the schema says
everything the server checks that a schema can say (lengths, patterns, ranges), so a client
generated from the OpenAPI document never sends what the server refuses. The response
schemas document the shapes of ``readmodels.representations`` for OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from taskboard.operations import BULK_LIMIT

# What the server accepts, shared by bodies and query parameters.
TASK_MAX = 255  # TaskRun.task
QUEUE_MAX = 64  # TaskRun.queue
# A cursor is url-safe base64 without padding (readmodels.paging); anything else is a 400.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
FINGERPRINT_PATTERN = r"^[0-9a-f]{1,16}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
MAX_ID = 2**63 - 1


class StrictBody(BaseModel):
    """A request body: plain pydantic, not ninja's ``Schema``, whose wrap validator validates
    a forbid-extra model twice (the dict, then a ``DjangoGetter`` of it) and is only needed to
    read ORM objects (~20 µs of an enqueue's body check; the error messages are the same)."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- request bodies -----------------------------------------------------------------------------

class EnqueueIn(StrictBody):
    task: StrictStr = Field(description="Dotted name of an allowlisted task, e.g. taskboard.demo.noop",
                            min_length=1, max_length=TASK_MAX)
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    queue: StrictStr | None = Field(None, min_length=1, max_length=QUEUE_MAX)
    run_after: StrictStr | None = Field(None, description="ISO 8601 with a UTC offset",
                                        json_schema_extra={"format": "date-time"})
    priority: StrictInt | None = Field(None, ge=TASK_MIN_PRIORITY, le=TASK_MAX_PRIORITY,
                                       description="Higher starts first when a queue has a backlog")
    idempotency_key: StrictStr | None = Field(None, min_length=1, max_length=200)
    correlation_id: StrictStr | None = Field(None, min_length=1, max_length=100,
                                             description="Shared by the runs one request or run set off")


class ReplayIn(StrictBody):
    kwargs: dict[str, Any] | None = Field(None, description="Edited keyword arguments (validated)")


DeadLetterId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class DeadLetterSelection(StrictBody):
    """Which open dead letters: by ``ids`` or by ``task`` (exactly one of the two)."""

    ids: list[DeadLetterId] | None = Field(None, max_length=BULK_LIMIT,
                                           description="Dead letter ids (the `id` of /api/dead-letters/)")
    task: StrictStr | None = Field(None, description="Every open dead letter of this task",
                                   min_length=1, max_length=TASK_MAX)
    reason: StrictStr | None = Field(None, max_length=500, description="Why (kept in the audit log)")


class DeadLetterReplayIn(DeadLetterSelection):
    pass


class DeadLetterDiscardIn(DeadLetterSelection):
    pass


# --- responses ----------------------------------------------------------------------------------

class RunError(Schema):
    attempt: int
    kind: str
    exception: str
    message: str
    at: str | None


class HoldOut(Schema):
    reason: Literal["concurrency", "rate", "breaker", "paused"]
    key: str = Field(description="The concurrency/rate key, breaker name, or paused queue/task")
    since: str | None


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
    priority: int = Field(description="Higher starts first when a queue has a backlog")
    hold: HoldOut | None = Field(description="Why a `held` run waits; null otherwise")
    schedule: str | None = Field(description="The schedule that created the run, by name")
    batch: str | None = Field(description="The id of the batch the run belongs to")
    correlation_id: str | None = Field(description="Shared by the runs one request or run set off")
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


class DiscardedOut(Schema):
    discarded: int


class FailureGroupOut(Schema):
    fingerprint: str
    task: str
    exception: str
    message: str
    kind: str
    count_1h: int
    count_24h: int
    count_7d: int
    first_seen: str
    last_seen: str
    sample_run: str | None
    runs_sampled: int
    recovered: int


class FailureGroupList(Schema):
    results: list[FailureGroupOut]


class StatsOut(Schema):
    by_status: dict[str, int]
    by_task: dict[str, dict[str, int]]
    dead_letters_open: int


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


class FlowIn(StrictBody):
    reason: StrictStr | None = Field(None, max_length=500, description="Why (kept with the pause or transition)")


class QueueOut(Schema):
    name: str
    paused: bool
    waiting: int = Field(description="Queued runs: ready, waiting for a worker")
    held: int = Field(description="Runs held by flow control (pause, limit, breaker)")
    running: int
    oldest_wait_seconds: float | None


class QueueList(Schema):
    results: list[QueueOut]


class TaskPausedOut(Schema):
    task: str
    paused: bool


class BreakerOut(Schema):
    name: str
    state: Literal["closed", "open", "half_open"]
    calls: int = Field(description="Calls in the current window")
    failures: int
    failure_rate: float = Field(description="Percent of the window's calls that failed")
    opened_at: str | None
    retry_at: str | None = Field(description="When an open breaker lets its first probe through")
    held: int


class BreakerList(Schema):
    results: list[BreakerOut]


# Page sizes of the lists (the ``limit`` query parameter).
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# The statuses every endpoint may answer with ``ErrorOut``.
ERRORS = frozenset({400, 401, 403, 404, 409, 413})
# POST /api/runs/ may also answer 429 limit_exceeded (a task with on_limit="reject").
ENQUEUE_ERRORS = ERRORS | {429}
