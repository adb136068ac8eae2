"""``/api/runs/``: enqueue, list, read, cancel, replay, retry now and run now.

Endpoints are thin: ``ApiAuth`` checks the permission before anything is read, bodies go
through ``body.read_body`` (size first, then strict validation), and the work is one
``operations`` verb inside one transaction, so a request either fully happens or leaves no
row behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status as Reply
from pydantic import WithJsonSchema

from taskboard import operations
from taskboard.models import Status, TaskRun
from taskboard.operations import inputs
from taskboard.readmodels.paging import run_pk
from taskboard.readmodels.representations import run_to_dict, with_errors
from taskboard.readmodels.runs import correlated
from taskboard.web.api.auth import CAN_CANCEL, CAN_ENQUEUE, CAN_REPLAY, CAN_RETRY_NOW, CAN_RUN_NOW, CAN_VIEW
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.listing import filtered, page_json
from taskboard.web.api.replies import json_reply
from taskboard.web.api.schemas import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    ENQUEUE_ERRORS,
    ERRORS,
    MAX_LIMIT,
    UUID_PATTERN,
    EnqueueIn,
    ErrorOut,
    ReplayIn,
    RunOut,
    RunPage,
)
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()

# Documented as a UUID; anything else is answered like an unknown run (404).
type RunId = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]


def parse_run_id(run_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(run_id)
    except ValueError:
        raise JsonError(404, "not_found", f"no run {run_id[:64]!r}") from None


def get_run(run_id: str) -> TaskRun:
    """The run with the failed attempts its JSON lists; 404 when there is none."""
    pk = parse_run_id(run_id)
    run = with_errors(TaskRun.objects.filter(pk=pk)).first()
    if run is None:
        raise JsonError(404, "not_found", f"no run {pk}")
    return run


def changed_run(verb: Callable[..., TaskRun], run_id: str, request: ApiRequest) -> dict[str, Any]:
    """Apply a verb to the run in one transaction; the run JSON as it then stands."""
    pk = parse_run_id(run_id)
    with transaction.atomic():
        run = verb(pk, user=request.auth)
        return run_to_dict(get_run(str(run.pk)))


@router.post("/runs/", auth=CAN_ENQUEUE, response={201: RunOut, 200: RunOut, ENQUEUE_ERRORS: ErrorOut},
             openapi_extra=body_schema(EnqueueIn), summary="Enqueue a run")
def create_run(request: ApiRequest) -> HttpResponse:
    """201 with the new run; 200 with the existing run when ``idempotency_key`` was used before;
    429 ``limit_exceeded`` (nothing written) when the task rejects runs over its limit."""
    payload = read_body(request, EnqueueIn)
    run_after = inputs.parse_run_after(payload.run_after) if payload.run_after is not None else None
    # The verb is its own transaction (run, audit event, push on commit); run_to_dict reads
    # nothing more for a new run. Answered without ninja's re-validation (see replies).
    run, created = operations.enqueue(
        payload.task, payload.args or [], payload.kwargs or {}, queue=payload.queue,
        run_after=run_after, priority=payload.priority, idempotency_key=payload.idempotency_key,
        correlation_id=payload.correlation_id, user=request.auth,
    )
    return json_reply(201 if created else 200, run_to_dict(run))


@router.get("/runs/", auth=CAN_VIEW, response={200: RunPage, ERRORS: ErrorOut}, summary="List runs")
def list_runs(
    request: HttpRequest,
    status: Status | None = None,
    task: str | None = None,
    queue: str | None = None,
    correlation_id: str | None = Query(None, max_length=100),
    batch: str | None = Query(None, pattern=UUID_PATTERN),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN),
) -> dict[str, Any]:
    """Newest first; pass ``next`` back as ``cursor`` for the following page. ``correlation_id``
    lists the runs that carry it and the run whose id it is (the root of a fan-out);
    ``batch`` a batch's children."""
    inputs.check_text(task, "task")
    inputs.check_text(queue, "queue")
    inputs.check_text(correlation_id, "correlation_id")
    qs = filtered(TaskRun.objects.all(), status=status, task=task, queue=queue, batch_id=batch)
    if correlation_id is not None:
        qs = qs.filter(correlated(correlation_id))
    return page_json(with_errors(qs), "enqueued_at", cursor=cursor, pk=run_pk, limit=limit, item=run_to_dict)


@router.get("/runs/{run_id}/", auth=CAN_VIEW, response={200: RunOut, ERRORS: ErrorOut}, summary="Get a run")
def read_run(request: HttpRequest, run_id: RunId) -> dict[str, Any]:
    return run_to_dict(get_run(run_id))


@router.post("/runs/{run_id}/cancel/", auth=CAN_CANCEL, response={200: RunOut, ERRORS: ErrorOut},
             summary="Cancel a run")
def cancel_run(request: ApiRequest, run_id: RunId) -> dict[str, Any]:
    """A waiting run is cancelled at once; a running one gets ``cancel_requested: true``."""
    return changed_run(operations.cancel, run_id, request)


@router.post("/runs/{run_id}/replay/", auth=CAN_REPLAY, response={201: RunOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(ReplayIn, required=False), summary="Replay a failed or cancelled run")
def replay_run(request: ApiRequest, run_id: RunId) -> Reply:
    """A new run (``replay_of`` = this run) with the same or the edited ``kwargs``."""
    pk = parse_run_id(run_id)
    payload = read_body(request, ReplayIn, required=False)
    with transaction.atomic():
        new_run = operations.replay(pk, kwargs=payload.kwargs, user=request.auth)
        body = run_to_dict(new_run)
    return Reply(201, body)


@router.post("/runs/{run_id}/retry-now/", auth=CAN_RETRY_NOW, response={200: RunOut, ERRORS: ErrorOut},
             summary="Retry a retrying run now")
def retry_run_now(request: ApiRequest, run_id: RunId) -> dict[str, Any]:
    """A run waiting out its backoff (``retrying``) is queued at once; any other state → 409."""
    return changed_run(operations.retry_now, run_id, request)


@router.post("/runs/{run_id}/run-now/", auth=CAN_RUN_NOW, response={200: RunOut, ERRORS: ErrorOut},
             summary="Run a scheduled run now")
def run_now(request: ApiRequest, run_id: RunId) -> dict[str, Any]:
    """A run waiting for its ``run_after`` (``scheduled``) is queued at once; any other state → 409."""
    return changed_run(operations.run_now, run_id, request)
