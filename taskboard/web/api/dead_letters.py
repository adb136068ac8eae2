"""``/api/dead-letters/``: list dead letters, and replay or discard them in bulk."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router

from taskboard import operations
from taskboard.models import DeadLetter
from taskboard.models.dead_letters import DeadLetterQuerySet
from taskboard.operations import inputs
from taskboard.readmodels.paging import int_pk
from taskboard.readmodels.representations import dead_letter_to_dict
from taskboard.web.api.auth import CAN_DISCARD, CAN_REPLAY, CAN_VIEW
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.listing import filtered, page_json
from taskboard.web.api.schemas import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    ERRORS,
    MAX_LIMIT,
    DeadLetterDiscardIn,
    DeadLetterPage,
    DeadLetterReplayIn,
    DeadLetterSelection,
    DiscardedOut,
    ErrorOut,
    ReplayedOut,
)
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()


@router.get("/dead-letters/", auth=CAN_VIEW, response={200: DeadLetterPage, ERRORS: ErrorOut},
            summary="List dead letters")
def list_dead_letters(
    request: HttpRequest,
    task: str | None = None,
    open: bool | None = Query(None, description="true: only unresolved; false: only resolved"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN),
) -> dict[str, Any]:
    """Newest first, resolved ones included unless ``open=true``."""
    inputs.check_text(task, "task")
    qs = filtered(DeadLetter.objects.all(), task=task, resolved_at__isnull=open)
    return page_json(qs, "created_at", cursor=cursor, pk=int_pk, limit=limit, item=dead_letter_to_dict)


def selected(payload: DeadLetterSelection) -> DeadLetterQuerySet:
    """The open dead letters a body names by ``ids`` or by ``task`` (exactly one of them)."""
    if (payload.ids is None) == (payload.task is None):
        raise JsonError(400, "bad_request", 'send either "ids" (a list of dead letter ids) or "task"')
    return operations.open_dead_letters(ids=payload.ids, task=payload.task)


def selection_filter(payload: DeadLetterSelection) -> dict[str, Any] | None:
    """The audit event's record of a selection by task (ids are its targets instead)."""
    return {"task": payload.task} if payload.task is not None else None


def replayed_json(outcome: operations.BulkResult) -> dict[str, Any]:
    return {
        "replayed": len(outcome.done),
        "runs": [str(run.pk) for run in outcome.done],
        "skipped": [{"run": run, "reason": reason} for run, reason in outcome.skipped],
    }


@router.post("/dead-letters/replay/", auth=CAN_REPLAY, response={200: ReplayedOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(DeadLetterReplayIn), summary="Replay dead-lettered runs")
def replay_dead_letters(request: ApiRequest) -> dict[str, Any]:
    """Replay the open dead letters given by ``ids`` or by ``task`` (one of the two)."""
    payload = read_body(request, DeadLetterReplayIn)
    letters = selected(payload)
    with transaction.atomic():
        outcome = operations.replay_dead_letters(letters, user=request.auth, reason=payload.reason or "",
                                                 filter=selection_filter(payload))
    return replayed_json(outcome)


@router.post("/dead-letters/discard/", auth=CAN_DISCARD, response={200: DiscardedOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(DeadLetterDiscardIn), summary="Discard dead letters")
def discard_dead_letters(request: ApiRequest) -> dict[str, Any]:
    """Close the open dead letters given by ``ids`` or by ``task`` without replaying them; the
    runs stay ``failed``. Already resolved ones are not counted."""
    payload = read_body(request, DeadLetterDiscardIn)
    letters = selected(payload)
    with transaction.atomic():
        discarded = operations.discard_dead_letters(letters, user=request.auth, reason=payload.reason or "",
                                                    filter=selection_filter(payload))
    return {"discarded": discarded}
