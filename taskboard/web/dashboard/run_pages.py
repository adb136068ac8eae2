"""Run pages: the run list, one run's detail, and the fragments they poll (GET only).

A finished run's polled fragment answers 286 to stop the polling.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from taskboard.backend import registry
from taskboard.models import REPLAYABLE, DeadLetter, Status, TaskRun
from taskboard.readmodels import queues, runs
from taskboard.readmodels.counts import page_count
from taskboard.readmodels.paging import run_pk
from taskboard.web.dashboard.common import (
    RUN_BULK_ACTIONS,
    permitted,
    render_page,
    requested_page,
    staff_view,
    wants_fragment,
)
from taskboard.web.dashboard.forms import ReplayArgumentsForm, RunFilterForm
from taskboard.web.requests import HtmxHttpRequest

# --- runs -----------------------------------------------------------------------------------


def run_list_context(request: HtmxHttpRequest) -> dict[str, Any]:
    form = RunFilterForm(request.GET or None, tasks=registry.names(), queues=queues.configured_queues())
    matching = form.filter(runs.run_list_queryset())
    page = requested_page(request, matching, "enqueued_at", run_pk)
    return {"nav": "runs", "form": form, "page": page, "count": page_count(page, matching),
            "bulk_actions": permitted(request, RUN_BULK_ACTIONS)}


@require_GET
@staff_view
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    return render_page(request, "taskboard/run_list.html", run_list_context(request), "results")


@require_GET
@staff_view
def run_row(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """One row of the run list, polled while the run is running."""
    run = runs.run_list_queryset().filter(pk=run_id).first()
    if run is None:
        return HttpResponseStopPolling("")  # pruned: the row disappears
    response = render(request, "taskboard/partials/run_row.html", {"run": run})
    if run.status != Status.RUNNING:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def run_context(run_id: uuid.UUID, edit_form: ReplayArgumentsForm | None = None) -> dict[str, Any]:
    run = get_object_or_404(TaskRun.objects.select_related("replay_of", "dead_letter"), pk=run_id)
    try:
        letter: DeadLetter | None = run.dead_letter
    except DeadLetter.DoesNotExist:
        letter = None
    return {
        "nav": "runs",
        "run": run,
        "attempts": list(run.attempt_set.order_by("number")[:200]),
        "replays": list(run.replays.only("id", "status", "enqueued_at", "task").order_by("-enqueued_at")[:20]),
        "letter": letter,
        "replayable": run.status in REPLAYABLE,
        "edit_form": edit_form or ReplayArgumentsForm.for_run(run),
        "edit_open": edit_form is not None,
    }


def render_run(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The run page, or its live part for htmx; 286 stops the polling once it finished."""
    if wants_fragment(request) and status == 200 and context["run"].is_finished:
        status = HttpResponseStopPolling.status_code
    return render_page(request, "taskboard/run_detail.html", context, "live", status=status)


@require_GET
@staff_view
def run_detail(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    return render_run(request, run_context(run_id))


@require_GET
@staff_view
def run_progress(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    context = run_context(run_id)
    status = HttpResponseStopPolling.status_code if context["run"].is_finished else 200
    return render(request, "taskboard/run_detail.html#live", context, status=status)


