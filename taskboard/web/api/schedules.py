"""``/api/schedules/``: list, add, pause, resume, run now and remove schedules.

Reading needs the view permission; every change needs ``taskboard.manage_schedule`` and is
one ``operations`` verb in one transaction (with its audit event). A definition the server
refuses (bad name, cron, interval, time zone, task, queue or arguments) is a 400
``invalid_schedule`` naming the field; an existing name or removing a schedule declared in
settings a 409; an unknown name a 404.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from ninja import Path, Router, Schema
from ninja.responses import Status as Reply
from pydantic import Field, StrictInt, StrictStr

from taskboard import operations
from taskboard.exceptions import InvalidSchedule
from taskboard.models.schedules import NAME_MAX
from taskboard.readmodels import schedules as schedule_views
from taskboard.readmodels.representations import run_to_dict
from taskboard.schedules.timing import CRON_MAX, EVERY_MAX, TIMEZONE_MAX
from taskboard.web.api.auth import CAN_VIEW, ApiAuth
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.schemas import ERRORS, QUEUE_MAX, TASK_MAX, ErrorOut, RunOut, StrictBody
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()

CAN_MANAGE = ApiAuth(operations.PERM_SCHEDULE)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ScheduleIn(StrictBody):
    name: StrictStr = Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN,
                            description="Letters, digits, '.', '_' and '-'")
    task: StrictStr = Field(min_length=1, max_length=TASK_MAX, description="Dotted name of an allowlisted task")
    cron: StrictStr | None = Field(None, min_length=1, max_length=CRON_MAX,
                                   description="5 fields, read in `timezone`; give this or `every`")
    every: StrictInt | None = Field(None, ge=1, le=EVERY_MAX, description="Seconds between runs; or `cron`")
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    queue: StrictStr | None = Field(None, min_length=1, max_length=QUEUE_MAX, description="Default: the task's")
    timezone: StrictStr | None = Field(None, min_length=1, max_length=TIMEZONE_MAX,
                                       description="IANA name, e.g. Europe/Berlin (default UTC)")
    priority: StrictInt | None = Field(None, ge=TASK_MIN_PRIORITY, le=TASK_MAX_PRIORITY)
    misfire: Literal["skip", "run_once"] | None = Field(
        None, description="After downtime: skip the missed fire times (default) or run once for them")
    overlap: Literal["allow", "skip"] | None = Field(
        None, description="While the previous run is open: enqueue anyway (default) or skip")


class ReasonIn(StrictBody):
    reason: StrictStr | None = Field(None, max_length=500)


class ScheduleOut(Schema):
    name: str
    task: str
    cron: str | None
    every: int | None
    kwargs: dict[str, Any]
    queue: str
    timezone: str
    paused: bool
    next_run_at: str | None = Field(description="The next fire time; null while paused")
    last_run: RunOut | None = Field(description="The run it created last (or by 'run now')")
    args: list[Any]
    priority: int | None
    description: str = Field(description="In plain words, e.g. 'At 02:30, Monday through Friday'")
    misfire: Literal["skip", "run_once"]
    overlap: Literal["allow", "skip"]
    source: Literal["settings", "runtime"] = Field(description="Declared in settings, or added at run time")
    last_fired_at: str | None
    created_at: str


class ScheduleList(Schema):
    results: list[ScheduleOut]


def _invalid(exc: InvalidSchedule) -> JsonError:
    return JsonError(400, "invalid_schedule", str(exc))


@router.get("/schedules/", auth=CAN_VIEW, response={200: ScheduleList, ERRORS: ErrorOut}, summary="List schedules")
def list_schedules(request: HttpRequest) -> dict[str, Any]:
    """Every schedule by name, with its next fire time and its last run."""
    return {"results": schedule_views.schedules_json()}


@router.post("/schedules/", auth=CAN_MANAGE, response={201: ScheduleOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(ScheduleIn), summary="Add a schedule")
def add_schedule(request: ApiRequest) -> Reply:
    """It fires first at its next fire time from now; an existing name is a 409."""
    payload = read_body(request, ScheduleIn)
    options = payload.model_dump(exclude={"name", "task"})
    try:
        with transaction.atomic():
            operations.add_schedule(payload.name, payload.task, user=request.auth, **options)
    except InvalidSchedule as exc:
        raise _invalid(exc) from None
    return Reply(201, schedule_views.one_json(payload.name))


@router.get("/schedules/{name}/", auth=CAN_VIEW, response={200: ScheduleOut, ERRORS: ErrorOut},
            summary="Get a schedule")
def read_schedule(request: HttpRequest, name: str = Path(..., max_length=NAME_MAX)) -> dict[str, Any]:
    operations.get_schedule(name)
    return schedule_views.one_json(name)


@router.post("/schedules/{name}/pause/", auth=CAN_MANAGE, response={200: ScheduleOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(ReasonIn, required=False), summary="Pause a schedule")
def pause_schedule(request: ApiRequest, name: str = Path(..., max_length=NAME_MAX)) -> dict[str, Any]:
    """It stops firing; a run it created already goes on."""
    reason = read_body(request, ReasonIn, required=False).reason or ""
    operations.pause_schedule(name, user=request.auth, reason=reason)
    return schedule_views.one_json(name)


@router.post("/schedules/{name}/resume/", auth=CAN_MANAGE, response={200: ScheduleOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(ReasonIn, required=False), summary="Resume a schedule")
def resume_schedule(request: ApiRequest, name: str = Path(..., max_length=NAME_MAX)) -> dict[str, Any]:
    """It fires again from its next fire time after now (missed ones are not made up for)."""
    reason = read_body(request, ReasonIn, required=False).reason or ""
    operations.resume_schedule(name, user=request.auth, reason=reason)
    return schedule_views.one_json(name)


@router.post("/schedules/{name}/run/", auth=CAN_MANAGE, response={201: RunOut, ERRORS: ErrorOut},
             summary="Run a schedule now")
def run_schedule(request: ApiRequest, name: str = Path(..., max_length=NAME_MAX)) -> Reply:
    """A new run of the schedule's task now (also while paused); its fire times stay as they are."""
    try:
        with transaction.atomic():
            run = operations.run_schedule(name, user=request.auth)
            body = run_to_dict(run)
    except InvalidSchedule as exc:
        raise _invalid(exc) from None
    return Reply(201, body)


@router.delete("/schedules/{name}/", auth=CAN_MANAGE, response={204: None, ERRORS: ErrorOut},
               summary="Remove a schedule")
def remove_schedule(request: ApiRequest, name: str = Path(..., max_length=NAME_MAX)) -> HttpResponse:
    """Its runs stay (they keep its name); one declared in settings cannot be removed here (409)."""
    operations.remove_schedule(name, user=request.auth)
    return HttpResponse(status=204)
