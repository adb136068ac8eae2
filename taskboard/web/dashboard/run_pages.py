"""Run pages: the run list, one run's detail, and the fragments they poll (GET only).

A finished run's polled fragment answers 286 to stop the polling. A run list asked for with an
invalid filter answers 400 with the reason next to the field and no rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from taskboard import operations
from taskboard.backend import registry
from taskboard.models import REPLAYABLE, AuditEvent, DeadLetter, Outcome, Status, TaskAttempt, TaskRun
from taskboard.readmodels import audit, flow, queues, runs
from taskboard.readmodels.counts import page_count
from taskboard.readmodels.paging import run_pk
from taskboard.web.dashboard.classification import explain
from taskboard.web.dashboard.common import (
    RUN_BULK_ACTIONS,
    permitted,
    render_filtered,
    render_page,
    requested_page,
    staff_view,
    wants_fragment,
)
from taskboard.web.dashboard.forms import ReplayArgumentsForm, RunFilterForm
from taskboard.web.requests import HtmxHttpRequest

VERBS = {"cancel": operations.PERM_CANCEL, "replay": operations.PERM_REPLAY, "enqueue": operations.PERM_ENQUEUE,
         "retry_now": operations.PERM_RETRY_NOW, "run_now": operations.PERM_RUN_NOW}


def allowed_verbs(request: HtmxHttpRequest) -> dict[str, bool]:
    """What the user may do to runs (``may.retry_now`` in templates): one permission rule,
    the one in ``operations``, whatever names it has. ``may.select``: some bulk action."""
    may = {verb: request.user.has_perm(perm) for verb, perm in VERBS.items()}
    may["select"] = any(may[action.value] for action in RUN_BULK_ACTIONS)
    return may


# --- runs -----------------------------------------------------------------------------------


def run_list_context(request: HtmxHttpRequest) -> dict[str, Any]:
    form = RunFilterForm(request.GET or None, tasks=registry.names(), queues=queues.configured_queues())
    matching = form.filter(runs.run_list_queryset())  # none() for an invalid filter: no query
    page = requested_page(request, matching, "enqueued_at", run_pk)
    explain_holds(page.rows)
    return {"nav": "runs", "form": form, "page": page, "count": page_count(page, matching),
            "may": allowed_verbs(request), "bulk_actions": permitted(request, RUN_BULK_ACTIONS)}


def explain_holds(rows: list[TaskRun]) -> None:
    """Set ``hold_text`` ("held: user:42 has 2 of 2 running") on the held runs of a page: one
    query for the whole page (``readmodels.flow.hold_sentences``)."""
    sentences = flow.hold_sentences(rows)  # no query when none is held
    for run in rows:
        run.hold_text = sentences.get(run.pk, "")  # type: ignore[attr-defined]


@require_GET
@staff_view
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    return render_filtered(request, "taskboard/run_list.html", run_list_context(request), "results")


@require_GET
@staff_view
def run_row(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """One row of the run list, polled while the run is running."""
    run = runs.run_list_queryset().filter(pk=run_id).first()
    if run is None:
        return HttpResponseStopPolling("")  # pruned: the row disappears
    return render_row(request, run)


def render_row(request: HtmxHttpRequest, run: TaskRun) -> HttpResponse:
    explain_holds([run])
    response = render(request, "taskboard/partials/run_row.html", {"run": run, "may": allowed_verbs(request)})
    if run.status != Status.RUNNING:
        response.status_code = HttpResponseStopPolling.status_code
    return response


# --- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptView:
    """An attempt on the timeline: an operator's cancel is not a failure, and a failure says
    why it was classified as it was."""

    attempt: TaskAttempt
    why: str = ""
    event: ClassVar[None] = None  # what tells an attempt from an operator action in the template

    @property
    def at(self) -> datetime:
        return self.attempt.finished_at or self.attempt.started_at

    @property
    def cancelled(self) -> bool:
        return self.attempt.outcome == Outcome.CANCELLED

    @property
    def failed(self) -> bool:
        return self.attempt.is_error and not self.cancelled


@dataclass(frozen=True)
class ActionView:
    """An operator action on the timeline (an audit event that touched this run)."""

    event: AuditEvent

    @property
    def at(self) -> datetime:
        return self.event.at


def timeline(run: TaskRun, attempts: list[TaskAttempt]) -> list[AttemptView]:
    task = registry.get(run.task)
    policy = task.policy if task is not None else None
    return [AttemptView(a, explain(a, run, policy) if a.is_error and a.outcome != Outcome.CANCELLED else "")
            for a in attempts]


def with_actions(attempts: list[AttemptView], events: list[AuditEvent]) -> list[AttemptView | ActionView]:
    """Attempts and operator actions in the order they happened (an attempt at its end, as
    its line shows; a stable sort keeps attempts in number order)."""
    items: list[AttemptView | ActionView] = [*attempts, *(ActionView(event) for event in events)]
    return sorted(items, key=lambda item: item.at)


def run_context(request: HtmxHttpRequest, run_id: uuid.UUID,
                edit_form: ReplayArgumentsForm | None = None) -> dict[str, Any]:
    run = get_object_or_404(TaskRun.objects.select_related("replay_of", "dead_letter", "batch"), pk=run_id)
    try:
        letter: DeadLetter | None = run.dead_letter
    except DeadLetter.DoesNotExist:
        letter = None
    attempts = timeline(run, list(run.attempt_set.order_by("number")[:200]))
    events = audit.run_events(run.pk)
    run.hold_text = flow.hold_sentence(run)  # type: ignore[attr-defined]
    return {
        "nav": "runs",
        "run": run,
        "attempts": attempts,
        "operator_actions": events,  # not "actions": base.html names its shortcuts so
        "timeline": with_actions(attempts, events),
        "replays": list(run.replays.only("id", "status", "enqueued_at", "task").order_by("-enqueued_at")[:20]),
        "letter": letter,
        "replayable": run.status in REPLAYABLE,
        "known_task": registry.get(run.task) is not None,
        "may": allowed_verbs(request),
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
    return render_run(request, run_context(request, run_id))


@require_GET
@staff_view
def run_progress(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    context = run_context(request, run_id)
    status = HttpResponseStopPolling.status_code if context["run"].is_finished else 200
    return render(request, "taskboard/run_detail.html#live", context, status=status)
