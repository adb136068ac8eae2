"""``/api/webhooks/``: webhook subscriptions to run lifecycle events.

Listing, adding and removing all need ``taskboard.manage_webhooks`` (a subscription sends run
data to a URL of its creator's choosing). ``POST`` answers 201 with the subscription and its
signing ``secret`` — the only time the secret is shown. Deliveries: ``{"type": "run.events",
"timestamp", "data": {"subscription", "events": [{"type", "timestamp", "data"}…]}}``, signed
per Standard Webhooks (see ``taskboard.notify.lifecycle``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Schema
from ninja.responses import Status as Reply
from pydantic import Field, StrictStr

from taskboard import operations
from taskboard.models import EVENT_TYPES, WebhookSubscription
from taskboard.operations.webhooks import DESCRIPTION_MAX, URL_MAX
from taskboard.readmodels.representations import iso
from taskboard.web.api.auth import ApiAuth
from taskboard.web.api.body import body_schema, read_body
from taskboard.web.api.schemas import ERRORS, MAX_ID, TASK_MAX, ErrorOut, StrictBody
from taskboard.web.requests import ApiRequest

router = Router()

CAN_MANAGE = ApiAuth(operations.PERM_WEBHOOKS)
LIST_MAX = 500


class WebhookIn(StrictBody):
    url: StrictStr = Field(min_length=1, max_length=URL_MAX, description="http(s) URL that receives the events")
    events: list[StrictStr] | None = Field(None, max_length=len(EVENT_TYPES),
                                          description=f"Event types ({', '.join(EVENT_TYPES)}); all if omitted")
    task: StrictStr | None = Field(None, max_length=TASK_MAX, description="Only this task's runs")
    description: StrictStr | None = Field(None, max_length=DESCRIPTION_MAX)


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str] = Field(description="Empty: every event type")
    task: str | None
    description: str
    active: bool
    created_at: str
    created_by: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="whsec_…: verifies the webhook-signature header; shown only now")


class WebhookList(Schema):
    results: list[WebhookOut]


def webhook_json(sub: WebhookSubscription) -> dict[str, Any]:
    return {"id": sub.pk, "url": sub.url, "events": list(sub.events or []), "task": sub.task or None,
            "description": sub.description, "active": sub.active, "created_at": iso(sub.created_at),
            "created_by": sub.created_by}


@router.get("/webhooks/", auth=CAN_MANAGE, response={200: WebhookList, ERRORS: ErrorOut},
            summary="List webhook subscriptions")
def list_webhooks(request: HttpRequest) -> dict[str, Any]:
    """Newest first, without their secrets."""
    return {"results": [webhook_json(sub) for sub in WebhookSubscription.objects.all()[:LIST_MAX]]}


@router.post("/webhooks/", auth=CAN_MANAGE, response={201: WebhookCreatedOut, ERRORS: ErrorOut},
             openapi_extra=body_schema(WebhookIn), summary="Subscribe a URL to run events")
def add_webhook(request: ApiRequest) -> Reply:
    payload = read_body(request, WebhookIn)
    sub, secret = operations.add_webhook(payload.url, events=payload.events or (), task=payload.task or "",
                                         description=payload.description or "", user=request.auth)
    return Reply(201, {**webhook_json(sub), "secret": secret})


@router.delete("/webhooks/{subscription_id}/", auth=CAN_MANAGE, response={204: None, ERRORS: ErrorOut},
               summary="Remove a webhook subscription")
def remove_webhook(request: ApiRequest, subscription_id: int = Path(..., ge=1, le=MAX_ID)) -> HttpResponse:
    """Deliveries still pending for it are skipped."""
    operations.remove_webhook(subscription_id, user=request.auth)
    return HttpResponse(status=204)
