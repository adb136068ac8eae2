"""Dashboard pages and the fragments they poll (GET only; POST actions are in ``actions.py``).

Every view needs an active staff user with ``taskboard.view_taskrun``. Anonymous visitors go to
the login page; an htmx request gets an ``HX-Redirect`` instead, so a polled fragment never
swaps a login form into the page. When htmx asks for the live part of a page, the view renders
``"page.html#fragment"``; a finished run's polled fragment answers 286 to stop the polling.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from taskboard import operations
from taskboard.backend import registry
from taskboard.exceptions import NotAllowed
from taskboard.models import REPLAYABLE, DeadLetter, Status, TaskRun
from taskboard.readmodels import failures, queues, runs, totals, workers
from taskboard.readmodels.cache import CACHE_SECONDS
from taskboard.readmodels.counts import bounded_count, page_count
from taskboard.readmodels.overview import charts, latest_failures
from taskboard.readmodels.paging import Cursor, Page, int_pk, keyset_page, run_pk
from taskboard.web.dashboard.forms import DeadLetterFilterForm, FailureFilterForm, ReplayArgumentsForm, RunFilterForm
from taskboard.web.requests import HtmxHttpRequest

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class BulkAction:
    """A button of a list's bulk toolbar (``partials/bulk_toolbar.html``)."""

    value: str
    label: str
    css: str
    perm: str


RUN_BULK_ACTIONS = (BulkAction("cancel", "Cancel", "btn-danger-quiet", operations.PERM_CANCEL),
                    BulkAction("replay", "Replay", "", operations.PERM_REPLAY))
DEAD_LETTER_BULK_ACTIONS = (BulkAction("replay", "Replay", "btn-primary", operations.PERM_REPLAY),
                            BulkAction("discard", "Discard", "btn-danger-quiet", operations.PERM_DISCARD))


def permitted(request: HtmxHttpRequest, actions: tuple[BulkAction, ...]) -> list[BulkAction]:
    return [action for action in actions if request.user.has_perm(action.perm)]

# Bulk actions run inside the request; more rows than this would outlive a request timeout, so
# one action handles at most this many (the confirmation says so) and can be repeated.
UI_BULK_LIMIT = 1_000


def staff_view(view: View) -> View:
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                page = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': page})}")
            return redirect_to_login(request.get_full_path())
        try:
            operations.require(user, operations.PERM_VIEW)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        return view(request, *args, **kwargs)

    return wrapper


def wants_fragment(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page(request: HtmxHttpRequest, template: str, context: dict[str, Any], fragment: str | None = None,
                status: int = 200) -> HttpResponse:
    name = f"{template}#{fragment}" if fragment and wants_fragment(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


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


# --- runs -----------------------------------------------------------------------------------


def requested_page[M: Model](request: HtmxHttpRequest, queryset: QuerySet[M], time_field: str,
                              kind: Callable[[str], Any]) -> Page[M]:
    """The keyset page the request's ``after``/``before`` cursor asks for (the first page
    when it has none, or one that does not parse)."""
    return keyset_page(queryset, time_field, after=Cursor.decode(request.GET.get("after"), kind),
                       before=Cursor.decode(request.GET.get("before"), kind))


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


# --- failures ---------------------------------------------------------------------------------


@require_GET
@staff_view
def failure_list(request: HtmxHttpRequest) -> HttpResponse:
    form = FailureFilterForm(request.GET or None, tasks=registry.names())
    values = form.values()
    context = {"nav": "failures", "form": form, "cache_seconds": CACHE_SECONDS,
               "groups": failures.failure_groups(values.get("task"), values.get("sort", "recent"))}
    return render_page(request, "taskboard/failures.html", context, "groups")


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
    return render_page(request, "taskboard/dead_letters.html", dead_letter_context(request), "results")


# --- workers ----------------------------------------------------------------------------------


@require_GET
@staff_view
def worker_list(request: HtmxHttpRequest) -> HttpResponse:
    nodes, unattributed = workers.worker_nodes()
    context = {"nav": "workers", "nodes": nodes, "unattributed": unattributed, "clusters": workers.cluster_stats()}
    return render_page(request, "taskboard/workers.html", context, "nodes")
