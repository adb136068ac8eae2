"""``/api/queues/``, ``/api/tasks/{name}/pause|resume/``, ``/api/breakers/``: flow control.

Reading needs the view permission; pausing/resuming needs ``taskboard.pause_flow``, forcing a
breaker ``taskboard.control_breaker``. An unknown queue, task or breaker is a 404. Each verb is
one ``operations`` call in one transaction; the answer is the queue/task/breaker as it then
stands (a closed breaker has released its held runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Router

from taskboard import operations
from taskboard.readmodels import flow
from taskboard.web.api.auth import CAN_CONTROL_BREAKER, CAN_PAUSE, CAN_VIEW
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.schemas import (
    ERRORS,
    QUEUE_MAX,
    TASK_MAX,
    BreakerList,
    BreakerOut,
    ErrorOut,
    FlowIn,
    QueueList,
    QueueOut,
    TaskPausedOut,
)
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()

FLOW_BODY = body_schema(FlowIn, required=False)


def _apply(request: ApiRequest, verb: Callable[..., Any], name: str) -> None:
    """Read the optional ``{"reason"}`` body, then apply the verb in one transaction."""
    reason = read_body(request, FlowIn, required=False).reason or ""
    with transaction.atomic():
        verb(name, reason=reason, user=request.auth)


def _queue(name: str) -> dict[str, Any]:
    for row in flow.queue_rows():
        if row["name"] == name:
            return flow.queue_json(row)
    raise JsonError(404, "not_found", f"no queue named {name!r}")


def _breaker(name: str) -> dict[str, Any]:
    for row in flow.breaker_rows():
        if row["name"] == name:
            return flow.breaker_json(row)
    raise JsonError(404, "not_found", f"no circuit breaker named {name!r}")


@router.get("/queues/", auth=CAN_VIEW, response={200: QueueList, ERRORS: ErrorOut}, summary="List queues")
def list_queues(request: HttpRequest) -> dict[str, Any]:
    """Every configured queue: paused or not, queued (waiting), held and running runs, and how
    long its oldest waiting or held run has waited."""
    return {"results": [flow.queue_json(row) for row in flow.queue_rows()]}


@router.post("/queues/{name}/pause/", auth=CAN_PAUSE, response={200: QueueOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Pause a queue")
def pause_queue(request: ApiRequest, name: str = Path(..., max_length=QUEUE_MAX)) -> dict[str, Any]:
    """Nothing new of the queue starts (its runs are held); running runs finish."""
    _apply(request, operations.pause_queue, name)
    return _queue(name)


@router.post("/queues/{name}/resume/", auth=CAN_PAUSE, response={200: QueueOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Resume a queue")
def resume_queue(request: ApiRequest, name: str = Path(..., max_length=QUEUE_MAX)) -> dict[str, Any]:
    """Runs held for the pause go back to the queue."""
    _apply(request, operations.resume_queue, name)
    return _queue(name)


@router.post("/tasks/{name}/pause/", auth=CAN_PAUSE, response={200: TaskPausedOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Pause a task")
def pause_task(request: ApiRequest, name: str = Path(..., max_length=TASK_MAX)) -> dict[str, Any]:
    """Nothing new of the task starts (its runs are held); running runs finish."""
    _apply(request, operations.pause_task, name)
    return {"task": name, "paused": True}


@router.post("/tasks/{name}/resume/", auth=CAN_PAUSE, response={200: TaskPausedOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Resume a task")
def resume_task(request: ApiRequest, name: str = Path(..., max_length=TASK_MAX)) -> dict[str, Any]:
    """Runs held for the pause go back to their queue."""
    _apply(request, operations.resume_task, name)
    return {"task": name, "paused": False}


@router.get("/breakers/", auth=CAN_VIEW, response={200: BreakerList, ERRORS: ErrorOut}, summary="List circuit breakers")
def list_breakers(request: HttpRequest) -> dict[str, Any]:
    """Every configured breaker: state, the current window's calls and failures, when it
    opened, when it lets a probe through, and how many runs it holds."""
    return {"results": [flow.breaker_json(row) for row in flow.breaker_rows()]}


@router.post("/breakers/{name}/open/", auth=CAN_CONTROL_BREAKER, response={200: BreakerOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Force a breaker open")
def open_breaker(request: ApiRequest, name: str = Path(..., max_length=100)) -> dict[str, Any]:
    """Its runs are held until it is closed by hand (no automatic probe)."""
    _apply(request, operations.open_breaker, name)
    return _breaker(name)


@router.post("/breakers/{name}/close/", auth=CAN_CONTROL_BREAKER, response={200: BreakerOut, ERRORS: ErrorOut},
             openapi_extra=FLOW_BODY, summary="Force a breaker closed")
def close_breaker(request: ApiRequest, name: str = Path(..., max_length=100)) -> dict[str, Any]:
    """Closes it (trips reset) and releases the runs it held."""
    _apply(request, operations.close_breaker, name)
    return _breaker(name)
