"""``/api/alerts/``: alerts newest first (keyset pages), and silencing one.

Reading needs the view permission, silencing ``taskboard.silence_alert``. A silence is one
``operations.silence_alert`` call (its audit event in the same transaction); the answer is the
alert as it then stands. ``minutes`` outside 1…10080 or an unknown field is a 400, an unknown
alert a 404.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field, StrictInt, StrictStr

from taskboard import operations
from taskboard.operations.silence import MINUTES_MAX, MINUTES_MIN, REASON_MAX
from taskboard.readmodels import alerts
from taskboard.readmodels.paging import int_pk
from taskboard.web.api.auth import CAN_VIEW, ApiAuth
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.listing import page_json
from taskboard.web.api.schemas import CURSOR_PATTERN, DEFAULT_LIMIT, ERRORS, MAX_ID, MAX_LIMIT, ErrorOut, StrictBody
from taskboard.web.requests import ApiRequest

router = Router()

CAN_SILENCE = ApiAuth(operations.PERM_SILENCE)


class SilenceIn(StrictBody):
    minutes: StrictInt = Field(ge=MINUTES_MIN, le=MINUTES_MAX, description="How long nothing is sent (≤ one week)")
    reason: StrictStr | None = Field(None, max_length=REASON_MAX, description="Why (shown with the alert)")


class AlertOut(Schema):
    id: int
    rule: str = Field(description="dead_letter, failure_rate, queue_wait, no_workers, breaker_open or stuck")
    state: Literal["firing", "resolved"]
    key: str = Field(description="The group: task and fingerprint, queue, breaker or task name")
    summary: str
    count: int = Field(description="Dead letters, failed/queued/held/stuck runs, per rule")
    started_at: str
    resolved_at: str | None
    silenced_until: str | None
    link: str = Field(description="The dashboard page of what the alert is about")


class AlertPage(Schema):
    results: list[AlertOut]
    next: str | None


@router.get("/alerts/", auth=CAN_VIEW, response={200: AlertPage, ERRORS: ErrorOut}, summary="List alerts")
def list_alerts(
    request: HttpRequest,
    state: Literal["firing", "resolved"] | None = Query(None, description="firing or resolved; both if omitted"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN),
) -> dict[str, Any]:
    """Newest first (by when the alert started)."""
    return page_json(alerts.alerts(state), "started_at", cursor=cursor, pk=int_pk, limit=limit,
                     item=alerts.alert_json)


@router.post("/alerts/{alert_id}/silence/", auth=CAN_SILENCE, response={200: AlertOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(SilenceIn), summary="Silence an alert")
def silence_alert(request: ApiRequest, alert_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """Nothing is sent about the alert (firing, repeats, resolution) for ``minutes``; a
    recurrence of its group within that time starts silenced too."""
    payload = read_body(request, SilenceIn)
    alert = operations.silence_alert(alert_id, minutes=payload.minutes, reason=payload.reason or "",
                                      user=request.auth)
    return alerts.alert_json(alert)
