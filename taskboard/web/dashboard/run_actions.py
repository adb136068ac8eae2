"""One run's POST actions: cancel, replay (plain and with edited arguments), retry now, run now.

Each answers what the button sits in: the run page's live fragment (``#run-live``), or the
run's row when it was pressed in the run list (htmx names the row as its target), plus a
toast; without JavaScript a redirect back with a message (see ``actions``).

Replaying a run that was replayed before asks first, naming the earlier replay: two clicks
must not silently make two runs. The confirmation posts again with ``confirmed=1``.
"""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from taskboard import operations
from taskboard.exceptions import AlreadyReplayed
from taskboard.models import DeadLetter, Status, TaskRun
from taskboard.readmodels import runs
from taskboard.web.dashboard.actions import (
    FRAGMENT_HEADER,
    ActionFailed,
    Toast,
    action_view,
    back_to,
    perform,
    referer,
    require,
    run_link,
    with_toast,
)
from taskboard.web.dashboard.forms import ReplayArgumentsForm
from taskboard.web.dashboard.run_pages import allowed_verbs, render_run, run_context
from taskboard.web.requests import HtmxHttpRequest


def answer_run(request: HtmxHttpRequest, run_id: uuid.UUID, toast: Toast, *, close_modal: bool = False) -> HttpResponse:
    in_row = bool(request.htmx) and request.htmx.target == f"run-{run_id}"
    if not request.htmx:
        fallback = referer(request) if request.POST.get("from") == "list" else reverse("taskboard:run", args=[run_id])
        return back_to(request, toast, fallback)
    if in_row:
        run = runs.run_list_queryset().get(pk=run_id)
        response = render(request, "taskboard/partials/run_row.html", {"run": run, "may": allowed_verbs(request)})
    else:
        response = render(request, "taskboard/run_detail.html#live", run_context(request, run_id))
    return with_toast(request, response, toast, close_modal=close_modal)


@action_view
def run_cancel(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = perform(lambda: operations.cancel(run_id, user=request.user))
    if run.status == Status.CANCELLED:
        toast = Toast("Run cancelled.")
    else:
        toast = Toast("Cancel requested: the worker stops the run within a few seconds.", "info")
    return answer_run(request, run_id, toast)


def confirm_replay(request: HtmxHttpRequest, run_id: uuid.UUID, earlier: TaskRun) -> HttpResponse:
    """Ask before replaying again, showing the earlier replay and who made it."""
    letter = DeadLetter.objects.filter(run_id=run_id, replay_run_id=earlier.pk).first()
    context = {"run_id": run_id, "earlier": earlier, "letter": letter,
               "more": TaskRun.objects.filter(replay_of_id=run_id).exclude(pk=earlier.pk).exists()}
    if request.htmx:
        response = render(request, "taskboard/confirm_replay.html#dialog", context)
        response["HX-Retarget"] = "#modal"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "taskboard/confirm_replay.html", context)


@action_view
def run_replay(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    require(request, operations.PERM_REPLAY)
    confirmed = request.POST.get("confirmed") == "1"
    # The check for an earlier replay happens under the run's lock inside the verb, so two
    # clicks at once cannot both make a "first" replay; an unconfirmed second one asks.
    try:
        new_run = perform(lambda: operations.replay(run_id, user=request.user, again=confirmed))
    except ActionFailed as failed:
        if not isinstance(failed.__cause__, AlreadyReplayed):
            raise
        return confirm_replay(request, run_id, failed.__cause__.earlier)
    toast = Toast("Replayed as a new run:", "success", *run_link(new_run))
    return answer_run(request, run_id, toast, close_modal=confirmed)


@action_view
def run_replay_edited(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Replay with edited keyword arguments; invalid ones are shown in the form (400)."""
    require(request, operations.PERM_REPLAY)
    form = ReplayArgumentsForm(request.POST)
    if form.is_valid():
        kwargs = form.cleaned_data["kwargs"]
        try:
            new_run = perform(lambda: operations.replay(run_id, kwargs=kwargs, user=request.user))
        except ActionFailed as error:
            if error.status != 400:
                raise
            # Nothing was written: show why next to the arguments.
            form.add_error("kwargs", str(error.__cause__))
        else:
            toast = Toast("Replayed with edited arguments as a new run:", "success", *run_link(new_run))
            return answer_run(request, run_id, toast)
    response = render_run(request, run_context(request, run_id, edit_form=form), status=400)
    response[FRAGMENT_HEADER] = "1"
    return response


@action_view
def run_retry_now(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """A retrying run starts its next attempt now instead of at the end of its backoff."""
    perform(lambda: operations.retry_now(run_id, user=request.user))
    return answer_run(request, run_id, Toast("Retrying now: the next attempt is queued."))


@action_view
def run_run_now(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """A scheduled run is queued now instead of at its run-after time."""
    perform(lambda: operations.run_now(run_id, user=request.user))
    return answer_run(request, run_id, Toast("Queued now, ahead of its schedule."))
