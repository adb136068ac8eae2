"""The audit log as people read it: one definition of its queries for ``GET /api/audit/``, the
Audit page, a run's timeline and ``taskboard_audit``.

The list is newest first, paged by ``paging.keyset_page`` on ``(at, id)`` (index
``audit_list``); ``actor`` and ``verb`` are exact matches with their own ``(…, at)`` indexes;
``run`` goes through ``AuditRun``'s ``run_id`` index (every run an event touched, also past
the capped ``targets``). ``via`` has no index of its own: it has five values, so walking
``audit_list`` newest first meets a page of matches quickly, and audit rows are operator
actions (thousands, not millions).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from taskboard.models import AuditEvent, AuditRun
from taskboard.readmodels.representations import iso

# A run's timeline shows at most this many events (the newest; the Audit page has them all).
TIMELINE_MAX = 50


def events(*, run: uuid.UUID | None = None, actor: str | None = None, verb: str | None = None,
           via: str | None = None) -> QuerySet[AuditEvent]:
    """The audit events matching every filter given (None: any)."""
    qs = AuditEvent.objects.all()
    if run is not None:
        # A subquery, not a join: an event is listed once however many of its runs match.
        qs = qs.filter(pk__in=AuditRun.objects.filter(run_id=run).values("event_id"))
    if actor is not None:
        qs = qs.filter(actor=actor)
    if verb is not None:
        qs = qs.filter(verb=verb)
    if via is not None:
        qs = qs.filter(via=via)
    return qs


def run_events(run_id: uuid.UUID) -> list[AuditEvent]:
    """The operator actions that touched a run, oldest first (the newest ``TIMELINE_MAX``)."""
    newest = list(events(run=run_id).order_by("-at", "-id")[:TIMELINE_MAX])
    return newest[::-1]


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and ``taskboard_audit --json`` show it."""
    return {
        "id": event.pk,
        "at": iso(event.at),
        "actor": event.actor,
        "via": event.via,
        "verb": event.verb,
        "targets": list(event.targets),
        "filter": event.filter,
        "count": event.count,
        "reason": event.reason,
    }


def summary(event: AuditEvent) -> str:
    """One line: what was done to what (the first targets, or the filter that chose them)."""
    if event.filter:
        scope = "matching " + ", ".join(f"{key}={value}" for key, value in event.filter.items())
    else:
        scope = ", ".join(str(target) for target in event.targets[:3])
        if len(event.targets) > 3 or event.count > len(event.targets):
            scope += " …"
    return f"{event.verb} {scope}".rstrip()
