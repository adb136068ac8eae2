"""Dashboard pages and the fragments they poll: overview, failures, dead letters, workers
(GET only; runs are in ``run_pages``, POST actions in ``actions``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from taskboard.backend import registry
from taskboard.readmodels import failures, queues, runs, totals, workers
from taskboard.readmodels.cache import CACHE_SECONDS
from taskboard.readmodels.counts import bounded_count, page_count
from taskboard.readmodels.overview import charts, latest_failures
from taskboard.readmodels.paging import Cursor, int_pk, keyset_page
from taskboard.web.dashboard.common import (
    DEAD_LETTER_BULK_ACTIONS,
    UI_BULK_LIMIT,
    permitted,
    render_filtered,
    render_page,
    requested_page,
    staff_view,
)
from taskboard.web.dashboard.forms import DeadLetterFilterForm, FailureFilterForm
from taskboard.web.requests import HtmxHttpRequest

# --- overview -------------------------------------------------------------------------------

PANELS: dict[str, Callable[[], dict[str, Any]]] = {
    "stats": lambda: {"counts": totals.status_counts(), "dead_letters": totals.open_dead_letter_count()},
    "queues": lambda: {"queues": queues.queue_rows()},
    "charts": lambda: {"charts": charts()},
    "workers": lambda: {"nodes": workers.alive_nodes(), "clusters": workers.cluster_stats()},
    "failures": lambda: {"failures": latest_failures()},
}


@require_GET
@staff_view
def overview(request: HtmxHttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"nav": "overview"}
    for build in PANELS.values():
        context.update(build())
    return render_page(request, "taskboard/overview.html", context)


@require_GET
@staff_view
def overview_panel(request: HtmxHttpRequest, panel: str) -> HttpResponse:
    if panel not in PANELS:
        raise Http404(f"no panel {panel}")
    return render(request, f"taskboard/overview.html#{panel}", PANELS[panel]())


# --- failures ---------------------------------------------------------------------------------


@require_GET
@staff_view
def failure_list(request: HtmxHttpRequest) -> HttpResponse:
    form = FailureFilterForm(request.GET or None, tasks=registry.names())
    values, (since, until) = form.values(), form.time_range()
    groups = [] if form.invalid else failures.failure_groups(values.get("task"), values.get("sort", "recent"),
                                                              since=since, until=until)
    context = {"nav": "failures", "form": form, "cache_seconds": CACHE_SECONDS, "groups": groups}
    return render_filtered(request, "taskboard/failures.html", context, "groups")


def failure_group_context(request: HtmxHttpRequest, fingerprint: str) -> dict[str, Any]:
    group = failures.group_summary(fingerprint)
    if group is None:
        raise Http404("no failures with this fingerprint")
    page = keyset_page(failures.group_attempts(fingerprint), "finished_at",
                       after=Cursor.decode(request.GET.get("after"), int_pk),
                       before=Cursor.decode(request.GET.get("before"), int_pk))
    return {"nav": "failures", "group": group, "page": page,
            "open_letters": bounded_count(failures.group_dead_letters(fingerprint, group.task), UI_BULK_LIMIT)}


@require_GET
@staff_view
def failure_group(request: HtmxHttpRequest, fingerprint: str) -> HttpResponse:
    # The open-dead-letters box refreshes itself after a replay; pager links fetch attempts.
    fragment = "letters" if request.htmx and request.htmx.target == "group-letters" else "attempts"
    return render_page(request, "taskboard/failure_group.html", failure_group_context(request, fingerprint),
                       fragment)


# --- dead letters -----------------------------------------------------------------------------


def dead_letter_context(request: HtmxHttpRequest) -> dict[str, Any]:
    form = DeadLetterFilterForm(request.GET or None, tasks=registry.names())
    resolved = form.resolved
    letters = form.filter(runs.dead_letter_queryset(resolved))
    page = requested_page(request, letters, "resolved_at" if resolved else "created_at", int_pk)
    return {"nav": "dead-letters", "form": form, "resolved": resolved, "page": page,
            "count": page_count(page, letters), "ui_limit": UI_BULK_LIMIT,
            "bulk_actions": permitted(request, DEAD_LETTER_BULK_ACTIONS)}


@require_GET
@staff_view
def dead_letters(request: HtmxHttpRequest) -> HttpResponse:
    return render_filtered(request, "taskboard/dead_letters.html", dead_letter_context(request), "results")


# --- workers ----------------------------------------------------------------------------------


@require_GET
@staff_view
def worker_list(request: HtmxHttpRequest) -> HttpResponse:
    nodes, unattributed = workers.worker_nodes()
    running = [run for view in nodes for run in view.running] + unattributed
    context = {"nav": "workers", "nodes": nodes, "unattributed": unattributed,
               "clusters": workers.cluster_stats(running)}
    return render_page(request, "taskboard/workers.html", context, "nodes")
