"""``POST /api/runs/bulk/`` and ``/api/batches/``: bulk enqueue, batch state, cancel, replay-failed.

Bulk enqueue is all or nothing: the body is validated whole (at most ``BULK_ITEMS`` items,
each ``{"args"?, "kwargs"?}``), then every item against the task's signature — one bad item
is a 400 naming its index (``items.3…`` for a malformed item, ``item 3: …`` for arguments that
do not bind) and nothing is written. The router is added before ``runs``' so that
``/runs/bulk/`` is not taken for a run id.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db import transaction
from django.http import HttpRequest
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from ninja import Query, Router, Schema
from ninja.responses import Status as Reply
from pydantic import Field, StrictStr, WithJsonSchema

from taskboard import operations
from taskboard.models import Batch
from taskboard.readmodels.batches import batch_list_queryset, batch_to_dict
from taskboard.readmodels.paging import run_pk
from taskboard.web.api.auth import CAN_CANCEL, CAN_ENQUEUE, CAN_REPLAY, CAN_VIEW
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.listing import page_json
from taskboard.web.api.schemas import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    ENQUEUE_ERRORS,
    ERRORS,
    MAX_LIMIT,
    QUEUE_MAX,
    TASK_MAX,
    ErrorOut,
    StrictBody,
)
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()

BULK_ITEMS = 1000

type BatchId = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]


class BulkItem(StrictBody):
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None


class BatchIn(StrictBody):
    name: StrictStr | None = Field(None, max_length=200)
    on_complete: StrictStr | None = Field(None, min_length=1, max_length=TASK_MAX,
                                          description="Task enqueued with batch_id=<id> once every child finished")
    on_success: StrictStr | None = Field(None, min_length=1, max_length=TASK_MAX,
                                         description="Task enqueued with batch_id=<id> once every child succeeded")


class BulkEnqueueIn(StrictBody):
    task: StrictStr = Field(min_length=1, max_length=TASK_MAX)
    items: list[BulkItem] = Field(min_length=1, max_length=BULK_ITEMS)
    queue: StrictStr | None = Field(None, min_length=1, max_length=QUEUE_MAX)
    priority: int | None = Field(None, ge=TASK_MIN_PRIORITY, le=TASK_MAX_PRIORITY, strict=True)
    batch: BatchIn | None = None
    correlation_id: StrictStr | None = Field(None, min_length=1, max_length=100)


class BulkOut(Schema):
    runs: list[str]
    batch: str | None


class BatchOut(Schema):
    id: str
    name: str
    total: int
    waiting: int = Field(description="Queued, scheduled, retrying or held children")
    running: int
    succeeded: int
    failed: int = Field(description="Failed children not replaced by a replay")
    cancelled: int
    progress: int = Field(description="Percent of the children finished")
    created_at: str
    finished_at: str | None
    correlation_id: str | None
    on_complete: str | None
    on_success: str | None
    on_complete_run: str | None = Field(description="The on_complete callback run, once enqueued")
    on_success_run: str | None
    cancelled_at: str | None


class BatchPage(Schema):
    results: list[BatchOut]
    next: str | None


def _batch(batch_id: str) -> Batch:
    try:
        return operations.get_batch(batch_id)
    except Batch.DoesNotExist:
        raise JsonError(404, "not_found", f"no batch {batch_id[:64]!r}") from None


@router.post("/runs/bulk/", auth=CAN_ENQUEUE, response={201: BulkOut, ENQUEUE_ERRORS: ErrorOut},
             openapi_extra=body_schema(BulkEnqueueIn), summary="Enqueue many runs (optionally as a batch)")
def bulk_enqueue(request: ApiRequest) -> Reply:
    """One run per item, all or nothing; ``batch`` groups them in a new batch."""
    payload = read_body(request, BulkEnqueueIn)
    items = [item.model_dump(exclude_none=True) for item in payload.items]
    with transaction.atomic():
        done = operations.enqueue_many(
            payload.task, items, queue=payload.queue, priority=payload.priority,
            batch=payload.batch.model_dump(exclude_none=True) if payload.batch is not None else None,
            correlation_id=payload.correlation_id, user=request.auth,
        )
    return Reply(201, {"runs": done.ids, "batch": str(done.batch.pk) if done.batch else None})


@router.get("/batches/", auth=CAN_VIEW, response={200: BatchPage, ERRORS: ErrorOut}, summary="List batches")
def list_batches(request: HttpRequest, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                 cursor: str | None = Query(None, pattern=CURSOR_PATTERN)) -> dict[str, Any]:
    """Newest first; pass ``next`` back as ``cursor`` for the following page."""
    return page_json(batch_list_queryset(), "created_at", cursor=cursor, pk=run_pk, limit=limit, item=batch_to_dict)


@router.get("/batches/{batch_id}/", auth=CAN_VIEW, response={200: BatchOut, ERRORS: ErrorOut}, summary="Get a batch")
def read_batch(request: HttpRequest, batch_id: BatchId) -> dict[str, Any]:
    return batch_to_dict(_batch(batch_id))


@router.post("/batches/{batch_id}/cancel/", auth=CAN_CANCEL, response={200: BatchOut, ERRORS: ErrorOut},
             summary="Cancel a batch")
def cancel_batch(request: ApiRequest, batch_id: BatchId) -> dict[str, Any]:
    """Waiting children are cancelled at once, running ones asked to stop; no more children
    may join. A finished batch → 409."""
    pk = _batch(batch_id).pk
    with transaction.atomic():
        return batch_to_dict(operations.cancel_batch(pk, user=request.auth))


@router.post("/batches/{batch_id}/replay-failed/", auth=CAN_REPLAY, response={200: BatchOut, ERRORS: ErrorOut},
             summary="Replay a batch's failed children")
def replay_failed(request: ApiRequest, batch_id: BatchId) -> dict[str, Any]:
    """Each failed child is replayed into the batch in its place (a finished batch re-opens);
    ``on_success`` fires once they all succeed."""
    pk = _batch(batch_id).pk
    with transaction.atomic():
        batch, _ = operations.replay_failed(pk, user=request.auth)
        return batch_to_dict(batch)
