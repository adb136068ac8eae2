"""``GET /api/audit/``: the audit log of operator actions, newest first.

Needs the view permission (``taskboard.view_taskrun``): whoever may look at runs may see who
acted on them, as a run's page shows it too. Filters are exact: ``run`` (every event that
touched that run, also when the run is one of many in a bulk action), ``actor``, ``verb``,
``via``; ``limit`` and ``cursor`` page as every list does (``readmodels.paging``).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from taskboard.operations import inputs
from taskboard.readmodels import audit
from taskboard.readmodels.paging import int_pk
from taskboard.web.api.auth import CAN_VIEW
from taskboard.web.api.listing import page_json
from taskboard.web.api.schemas import CURSOR_PATTERN, DEFAULT_LIMIT, ERRORS, MAX_LIMIT, ErrorOut

router = Router()

class AuditOut(Schema):
    id: int
    at: str
    actor: str
    via: Literal["ui", "api", "cli", "admin", "system"]
    verb: str
    targets: list[str]
    filter: dict[str, Any] | None
    count: int
    reason: str


class AuditPage(Schema):
    results: list[AuditOut]
    next: str | None


def parse_run(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise inputs.BadInput(f"run: {value[:64]!r} is not a run id (a UUID)") from None


@router.get("/audit/", auth=CAN_VIEW, response={200: AuditPage, ERRORS: ErrorOut}, summary="The audit log")
def list_audit(
    request: HttpRequest,
    run: str | None = Query(None, max_length=64, description="Events that touched this run (its UUID)"),
    actor: str | None = Query(None, max_length=150, description="Who acted (a username)"),
    verb: str | None = Query(None, max_length=64, description="e.g. run.cancel, dead_letter.replay"),
    via: Literal["ui", "api", "cli", "admin", "system"] | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN),
) -> dict[str, Any]:
    """Operator actions newest first: who (``actor``), through what (``via``), which ``verb``,
    on which ``targets`` (the first 100) or the ``filter`` that chose them, how many
    (``count``) and why (``reason``)."""
    inputs.check_text(actor, "actor")
    inputs.check_text(verb, "verb")
    qs = audit.events(run=parse_run(run) if run is not None else None, actor=actor, verb=verb, via=via)
    return page_json(qs, "at", cursor=cursor, pk=int_pk, limit=limit, item=audit.event_to_dict)
