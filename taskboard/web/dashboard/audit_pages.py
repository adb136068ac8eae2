"""The Audit page (``/dashboard/audit/``): operator actions newest first, filtered by actor,
verb, via and run, paged by keyset (``readmodels.audit`` defines the query, shared with the API
and ``taskboard_audit``).

Anyone who may view runs may open it: a run's page shows the same events. An invalid filter
(a run that is not a UUID, an unknown via) lists nothing and answers 400, like every list.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from taskboard.models import AuditEvent, Via
from taskboard.operations.audit import VERBS
from taskboard.readmodels import audit
from taskboard.readmodels.counts import page_count
from taskboard.readmodels.paging import int_pk
from taskboard.web.dashboard.common import render_filtered, requested_page, staff_view
from taskboard.web.dashboard.forms import FilterForm
from taskboard.web.requests import HtmxHttpRequest


class AuditFilterForm(FilterForm):
    actor = forms.CharField(required=False, max_length=150)
    verb = forms.CharField(required=False, max_length=64)
    via = forms.ChoiceField(choices=[("", "Any"), *Via.choices], required=False, label="Via")
    run = forms.UUIDField(required=False, label="Run id",
                          error_messages={"invalid": "Enter a whole run id (a UUID)."})

    verb_choices = VERBS

    def filter(self) -> QuerySet[AuditEvent]:
        if self.invalid:
            return AuditEvent.objects.none()
        values = self.values()
        run: uuid.UUID | None = values.get("run")
        return audit.events(run=run, actor=values.get("actor"), verb=values.get("verb"), via=values.get("via"))


# Targets shown per row (the count says how many more).
SHOWN_TARGETS = 5


def shown_targets(event: AuditEvent) -> list[tuple[str, str]]:
    """The first targets as (text, link): run ids of run and dead-letter verbs link to the run."""
    links_runs = event.verb.startswith(("run.", "dead_letter."))
    shown = []
    for target in event.targets[:SHOWN_TARGETS]:
        url = ""
        if links_runs:
            try:
                url = reverse("taskboard:run", args=[uuid.UUID(str(target))])
            except ValueError:
                pass
        shown.append((str(target), url))
    return shown


def audit_context(request: HtmxHttpRequest) -> dict[str, Any]:
    form = AuditFilterForm(request.GET or None)
    matching = form.filter()  # none() for an invalid filter: no query
    page = requested_page(request, matching, "at", int_pk)
    rows = [(event, shown_targets(event)) for event in page.rows]
    return {"nav": "audit", "form": form, "page": page, "rows": rows, "count": page_count(page, matching)}


@require_GET
@staff_view
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    return render_filtered(request, "taskboard/audit.html", audit_context(request), "results")
