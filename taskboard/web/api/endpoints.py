"""The JSON API of CONTRACT.md on django-ninja, mounted at ``/api/``.

Endpoints are thin: authentication and the permission (``ApiAuth``) run before anything is
read; request bodies are read here with a size check *before* parsing and strict, precise
validation; the work is done by ``taskboard.operations`` inside one transaction, so a
request either fully happens or leaves no row behind. Errors: see ``api_errors``.

Lists are newest first with keyset pagination: ``next`` is an opaque cursor (base64 of the
last row's timestamp and id), so pages stay cheap and stable at millions of rows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, RawPostDataException
from ninja import NinjaAPI, Query, Schema
from ninja.responses import Status as Reply
from pydantic import ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from taskboard import operations
from taskboard.conf import conf
from taskboard.models import DeadLetter, Status, TaskRun
from taskboard.operations import BULK_LIMIT, PERM_CANCEL, PERM_ENQUEUE, PERM_REPLAY, PERM_VIEW
from taskboard.readmodels import stats
from taskboard.readmodels.representations import (
    check_json_value,
    dead_letter_to_dict,
    decode_int_cursor,
    decode_run_cursor,
    encode_cursor,
    parse_run_after,
    run_to_dict,
    with_errors,
)
from taskboard.web.api.auth import ApiAuth
from taskboard.web.api.docs import LocalSwagger
from taskboard.web.api.errors import ApiError, describe_validation_errors, install, too_large

api = NinjaAPI(
    title="taskboard API",
    version="1",
    description="Runs, dead letters and stats of taskboard. Errors are "
                '`{"error": {"code": "…", "message": "…"}}` with a 4xx status.',
    urls_namespace="taskboard-api",
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install(api)

CAN_VIEW = ApiAuth(PERM_VIEW)
CAN_ENQUEUE = ApiAuth(PERM_ENQUEUE)
CAN_CANCEL = ApiAuth(PERM_CANCEL)
CAN_REPLAY = ApiAuth(PERM_REPLAY)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


# --- schemas (request bodies are validated strictly: no coercion, no unknown fields) -------

class _Strict(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


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


ERRORS = frozenset({400, 401, 403, 404, 409, 413})


# --- request helpers --------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object(request: HttpRequest, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object, checking its size before reading or parsing it."""
    limit = conf.API_MAX_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "bad_request", "the Content-Length header is not a number") from None
    if declared > limit:
        raise too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large() from None
    except RawPostDataException:
        raise ApiError(415, "unsupported_media_type",
                       "send the body as JSON with Content-Type: application/json") from None
    if len(body) > limit:
        raise too_large()
    if not body.strip():
        if required:
            raise ApiError(400, "invalid_json", "the request body is empty; send a JSON object")
        return {}
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "invalid_json", "malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json",
                       f"the request body must be a JSON object, not {type(data).__name__}")
    check_json_value(data, "the request body")
    return data


def validate(schema: type[Schema], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise ApiError(400, "bad_request", describe_validation_errors(exc.errors(include_url=False))) from None


def body_schema(schema: type[Schema], *, required: bool = True) -> dict[str, Any]:
    """OpenAPI for a body that is read by hand (so the size check runs before parsing)."""
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema.model_json_schema()}}}}


def parse_run_id(run_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(run_id)
    except ValueError:
        raise ApiError(404, "not_found", f"no run {run_id[:64]!r}") from None


def get_run(run_id: str) -> TaskRun:
    pk = parse_run_id(run_id)
    run = with_errors(TaskRun.objects.filter(pk=pk)).first()
    if run is None:
        raise ApiError(404, "not_found", f"no run {pk}")
    return run


def check_filter(value: str | None, name: str) -> None:
    if value is not None:
        check_json_value(value, name)


# --- runs -------------------------------------------------------------------------------------

@api.post("/runs/", auth=CAN_ENQUEUE, response={201: RunOut, 200: RunOut, ERRORS: ErrorOut},
          openapi_extra=body_schema(EnqueueIn), summary="Enqueue a run")
def create_run(request: HttpRequest) -> Reply:
    """201 with the new run; 200 with the existing run when ``idempotency_key`` was used before."""
    payload = validate(EnqueueIn, read_json_object(request, required=True))
    run_after = parse_run_after(payload.run_after) if payload.run_after is not None else None
    with transaction.atomic():
        run, created = operations.enqueue(
            payload.task, payload.args or [], payload.kwargs or {}, queue=payload.queue,
            run_after=run_after, idempotency_key=payload.idempotency_key, user=request.auth,
        )
        body = run_to_dict(run)
    return Reply(201 if created else 200, body)


@api.get("/runs/", auth=CAN_VIEW, response={200: RunPage, ERRORS: ErrorOut}, summary="List runs")
def list_runs(
    request: HttpRequest,
    status: Status | None = None,
    task: str | None = None,
    queue: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first; pass ``next`` back as ``cursor`` for the following page."""
    check_filter(task, "task")
    check_filter(queue, "queue")
    qs = TaskRun.objects.order_by("-enqueued_at", "-id")
    if status is not None:
        qs = qs.filter(status=status)
    if task is not None:
        qs = qs.filter(task=task)
    if queue is not None:
        qs = qs.filter(queue=queue)
    if cursor:
        at, pk = decode_run_cursor(cursor)
        # The redundant bound lets the database seek the (enqueued_at, id) index.
        qs = qs.filter(Q(enqueued_at__lt=at) | Q(enqueued_at=at, id__lt=pk), enqueued_at__lte=at)
    runs = list(with_errors(qs)[: limit + 1])
    more = len(runs) > limit
    runs = runs[:limit]
    return {
        "results": [run_to_dict(run) for run in runs],
        "next": encode_cursor(runs[-1].enqueued_at, runs[-1].id) if more else None,
    }


@api.get("/runs/{run_id}/", auth=CAN_VIEW, response={200: RunOut, ERRORS: ErrorOut}, summary="Get a run")
def read_run(request: HttpRequest, run_id: str) -> dict[str, Any]:
    return run_to_dict(get_run(run_id))


@api.post("/runs/{run_id}/cancel/", auth=CAN_CANCEL, response={200: RunOut, ERRORS: ErrorOut},
          summary="Cancel a run")
def cancel_run(request: HttpRequest, run_id: str) -> dict[str, Any]:
    """A waiting run is cancelled at once; a running one gets ``cancel_requested: true``."""
    pk = parse_run_id(run_id)
    with transaction.atomic():
        run = operations.cancel(pk, user=request.auth)
        return run_to_dict(get_run(str(run.pk)))


@api.post("/runs/{run_id}/replay/", auth=CAN_REPLAY, response={201: RunOut, ERRORS: ErrorOut},
          openapi_extra=body_schema(ReplayIn, required=False), summary="Replay a failed or cancelled run")
def replay_run(request: HttpRequest, run_id: str) -> Reply:
    """A new run (``replay_of`` = this run) with the same or the edited ``kwargs``."""
    pk = parse_run_id(run_id)
    payload = validate(ReplayIn, read_json_object(request, required=False))
    with transaction.atomic():
        new_run = operations.replay(pk, kwargs=payload.kwargs, user=request.auth)
        body = run_to_dict(new_run)
    return Reply(201, body)


# --- dead letters -----------------------------------------------------------------------------

@api.get("/dead-letters/", auth=CAN_VIEW, response={200: DeadLetterPage, ERRORS: ErrorOut},
         summary="List dead letters")
def list_dead_letters(
    request: HttpRequest,
    task: str | None = None,
    open: bool | None = Query(None, description="true: only unresolved; false: only resolved"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first, resolved ones included unless ``open=true``."""
    check_filter(task, "task")
    qs = DeadLetter.objects.order_by("-created_at", "-id")
    if task is not None:
        qs = qs.filter(task=task)
    if open is not None:
        qs = qs.filter(resolved_at__isnull=open)
    if cursor:
        at, pk = decode_int_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk), created_at__lte=at)
    letters = list(qs[: limit + 1])
    more = len(letters) > limit
    letters = letters[:limit]
    return {
        "results": [dead_letter_to_dict(letter) for letter in letters],
        "next": encode_cursor(letters[-1].created_at, letters[-1].pk) if more else None,
    }


@api.post("/dead-letters/replay/", auth=CAN_REPLAY, response={200: ReplayedOut, ERRORS: ErrorOut},
          openapi_extra=body_schema(DeadLetterReplayIn), summary="Replay dead-lettered runs")
def replay_dead_letters(request: HttpRequest) -> dict[str, Any]:
    """Replay the open dead letters given by ``ids`` or by ``task`` (one of the two)."""
    payload = validate(DeadLetterReplayIn, read_json_object(request, required=True))
    if (payload.ids is None) == (payload.task is None):
        raise ApiError(400, "bad_request", 'send either "ids" (a list of dead letter ids) or "task"')
    if payload.ids is not None and any(not 0 < pk < 2**63 for pk in payload.ids):
        raise ApiError(400, "bad_request", "ids must be positive dead letter ids")
    letters = operations.open_dead_letters(ids=payload.ids, task=payload.task)
    with transaction.atomic():
        outcome = operations.replay_dead_letters(letters, user=request.auth)
    return {
        "replayed": len(outcome.done),
        "runs": [str(run.pk) for run in outcome.done],
        "skipped": [{"run": run, "reason": reason} for run, reason in outcome.skipped],
    }


# --- stats ------------------------------------------------------------------------------------

@api.get("/stats/", auth=CAN_VIEW, response={200: StatsOut, ERRORS: ErrorOut}, summary="Counts")
def read_stats(request: HttpRequest) -> dict[str, Any]:
    """Runs by status and by task and status over the whole table, and open dead letters."""
    return stats.api_stats()
