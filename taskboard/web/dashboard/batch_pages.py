"""Batch pages: the batch list (``/dashboard/batches/``), one batch (``/dashboard/batches/{id}/``)
with its progress, counts and children (filterable by status), and its two actions.

The batch page's live part (``#batch-live``: progress, counts, actions) polls every 2 s until
the batch finished (then 286 stops it). Cancel and Replay failed are disclosures with a
required reason (kept in the audit event) and a confirming button; they call
``operations.cancel_batch`` / ``operations.replay_failed`` as the user (403 without
``cancel_taskrun`` / ``replay_taskrun``, 409 for a finished batch's cancel, 404 for an
unknown batch) and answer the live part with a toast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from taskboard import operations
from taskboard.models import Batch, Status
from taskboard.readmodels import batches
from taskboard.readmodels.paging import run_pk
from taskboard.web.dashboard.actions import (
    ActionFailed,
    Toast,
    action_view,
    back_to,
    perform,
    required_reason,
    with_toast,
)
from taskboard.web.dashboard.common import render_page, requested_page, staff_view, wants_fragment
from taskboard.web.dashboard.forms import FilterForm
from taskboard.web.dashboard.run_pages import allowed_verbs, explain_holds
from taskboard.web.requests import HtmxHttpRequest


class ChildFilterForm(FilterForm):
    status = forms.ChoiceField(choices=[("", "Any status"),
                                        (batches.WAITING, "waiting (not started or between attempts)"),
                                        *Status.choices], required=False)


@dataclass(frozen=True)
class Progress:
    """What ``partials/progress.html`` shows, for a batch."""

    progress: int
    progress_message: str
    status: str


def progress_of(batch: Batch, counts: dict[str, int]) -> Progress:
    done = counts["succeeded"] + counts["failed"] + counts["cancelled"]
    return Progress(batch.progress, f"{done} of {counts['total']} finished",
                    "running" if counts["running"] else "")


def get_batch(batch_id: uuid.UUID) -> Batch:
    try:
        return operations.get_batch(batch_id)
    except Batch.DoesNotExist:
        raise Http404("no such batch") from None


@require_GET
@staff_view
def batch_list(request: HtmxHttpRequest) -> HttpResponse:
    page = requested_page(request, batches.batch_list_queryset(), "created_at", run_pk)
    rows = []
    for batch in page.rows:
        counts = batches.batch_counts(batch)
        rows.append((batch, counts, progress_of(batch, counts)))
    return render_page(request, "taskboard/batch_list.html", {"nav": "batches", "page": page, "rows": rows},
                       "results")


def batch_context(request: HtmxHttpRequest, batch: Batch) -> dict[str, Any]:
    counts = batches.batch_counts(batch)
    user = request.user
    return {"nav": "batches", "batch": batch, "counts": counts, "run": progress_of(batch, counts),
            "may_cancel": user.has_perm(operations.PERM_CANCEL) and not batch.is_finished,
            "may_replay": user.has_perm(operations.PERM_REPLAY) and batch.failed > 0}


@require_GET
@staff_view
def batch_detail(request: HtmxHttpRequest, batch_id: uuid.UUID) -> HttpResponse:
    batch = get_batch(batch_id)
    context = batch_context(request, batch)
    if wants_fragment(request) and request.htmx.target == "batch-live":
        status = HttpResponseStopPolling.status_code if batch.is_finished else 200
        return render(request, "taskboard/batch_detail.html#live", context, status=status)
    form = ChildFilterForm(request.GET or None)
    children = batches.children_queryset(batch, form.values().get("status")) if not form.invalid else None
    page = requested_page(request, children if children is not None else batches.children_queryset(batch).none(),
                          "enqueued_at", run_pk)
    explain_holds(page.rows)
    may = allowed_verbs(request)
    may["select"] = False  # no bulk toolbar here: the batch's own actions act on all children
    context.update(form=form, page=page, may=may)
    return render_page(request, "taskboard/batch_detail.html", context, "children",
                       status=400 if form.invalid else 200)


# What each action does: (operation, toast).
def _cancel(batch_id: uuid.UUID, request: HtmxHttpRequest, reason: str) -> Toast:
    batch = operations.cancel_batch(batch_id, user=request.user, reason=reason)
    return Toast(f"Batch {batch} cancelled: waiting children cancelled, running ones asked to stop.")


def _replay_failed(batch_id: uuid.UUID, request: HtmxHttpRequest, reason: str) -> Toast:
    batch, outcome = operations.replay_failed(batch_id, user=request.user, reason=reason)
    text = f"Replayed {len(outcome.done)} failed child{'ren' if len(outcome.done) != 1 else ''} of batch {batch}."
    if outcome.skipped:
        text += f" Skipped {len(outcome.skipped)}: {outcome.skipped[0][1]}."
    return Toast(text, "success" if outcome.done else "error")


ACTIONS = {"cancel": _cancel, "replay-failed": _replay_failed}


@action_view
def batch_action(request: HtmxHttpRequest, batch_id: uuid.UUID, verb: str) -> HttpResponse:
    if verb not in ACTIONS:
        raise ActionFailed("Unknown action.", 404)
    try:
        get_batch(batch_id)
    except Http404:
        raise ActionFailed("That batch does not exist.", 404) from None
    reason = required_reason(request)
    toast = perform(lambda: ACTIONS[verb](batch_id, request, reason))
    if not request.htmx:
        return back_to(request, toast, reverse("taskboard:batch", args=[batch_id]))
    response = render(request, "taskboard/batch_detail.html#live", batch_context(request, get_batch(batch_id)))
    return with_toast(request, response, toast)
