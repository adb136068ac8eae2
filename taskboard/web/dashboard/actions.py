"""POST actions of the dashboard: each calls one ``taskboard.operations`` verb as the user.
This module holds what they share and the list actions; one run's actions are in
``run_actions``, the new-run form in ``new_run``.

An htmx action answers with the fragment it changed plus a toast (an out-of-band swap into
``#toasts``). Failures keep their status code and show as an error toast: 403 without the
verb's permission (``NotAllowed``), 409 when the state does not allow it (``OperationError``),
404 for an unknown run, 400 for bad input (edited arguments are shown inline instead). Bulk
actions on dead letters, and bulk cancel and replay of runs, first answer with a confirmation
that states how many rows they touch and asks why: the reason is required (400 without one)
and kept in the audit event, with the selection's filter when the action chose by filter.
Without JavaScript the same endpoints work as plain forms: success redirects back with a
message, failure renders an error page with the same status code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.tasks.exceptions import InvalidTask
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from taskboard import operations
from taskboard.backend import registry
from taskboard.exceptions import NotAllowed, OperationError
from taskboard.models import Status, TaskRun
from taskboard.operations.audit import REASON_MAX
from taskboard.operations.inputs import BadInput, check_text
from taskboard.readmodels import failures, paging
from taskboard.readmodels.counts import BoundedCount, bounded_count
from taskboard.web.dashboard.common import (
    DEAD_LETTER_BULK_ACTIONS,
    RUN_BULK_ACTIONS,
    UI_BULK_LIMIT,
    BulkAction,
    staff_view,
)
from taskboard.web.dashboard.forms import DeadLetterFilterForm, parse_ids
from taskboard.web.dashboard.pages import dead_letter_context
from taskboard.web.dashboard.run_pages import run_list_context
from taskboard.web.requests import HtmxHttpRequest

DEAD_LETTERS_CHANGED = "taskboard:dead-letters-changed"
# Marks a 4xx answer that is a fragment meant for the page (an error toast, a form with its
# errors), so taskboard.js keeps django-htmx's DEBUG error overlay from replacing the page.
FRAGMENT_HEADER = "X-Taskboard-Fragment"


@dataclass
class Toast:
    message: str
    level: str = "success"  # success | info | error
    link: str = ""
    link_text: str = ""


class ActionFailed(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def perform[T](operation: Callable[[], T]) -> T:
    """Run an operation, turning its exceptions into ``ActionFailed`` with an HTTP status."""
    try:
        return operation()
    except NotAllowed as exc:
        raise ActionFailed(f"Not allowed: {exc}.", 403) from exc
    except OperationError as exc:
        raise ActionFailed(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 409) from exc
    except TaskRun.DoesNotExist as exc:
        raise ActionFailed("That run does not exist (any more).", 404) from exc
    except InvalidTask as exc:
        raise ActionFailed(f"Invalid task arguments: {exc}", 400) from exc


def require(request: HtmxHttpRequest, perm: str) -> None:
    perform(lambda: operations.require(request.user, perm))


def referer(request: HtmxHttpRequest) -> str:
    target = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("taskboard:overview")


def failed(request: HtmxHttpRequest, error: ActionFailed) -> HttpResponse:
    toast = Toast(str(error), "error")
    if request.htmx:
        response = render(request, "taskboard/partials/toast.html", {"toast": toast}, status=error.status)
        response["HX-Retarget"] = "#toasts"
        response["HX-Reswap"] = "beforeend"
        response[FRAGMENT_HEADER] = "1"
        return response
    return render(request, "taskboard/action_error.html", {"message": str(error), "back": referer(request)},
                  status=error.status)


def with_toast(request: HtmxHttpRequest, response: HttpResponse, toast: Toast, *,
               close_modal: bool = False) -> HttpResponse:
    response.write(render_to_string("taskboard/partials/toast.html",
                                    {"toast": toast, "oob": True, "close_modal": close_modal}, request=request))
    return response


def back_to(request: HtmxHttpRequest, toast: Toast, fallback: str) -> HttpResponse:
    """The no-JavaScript answer: a message and a redirect to where the form was."""
    level = {"success": messages.SUCCESS, "info": messages.INFO}.get(toast.level, messages.ERROR)
    messages.add_message(request, level, toast.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = fallback
    return redirect(target or fallback)


def action_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only, staff only, and ``ActionFailed`` rendered with its status code."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ActionFailed as error:
            return failed(request, error)

    return require_POST(staff_view(wrapper))


def run_link(run: TaskRun) -> tuple[str, str]:
    return reverse("taskboard:run", args=[run.pk]), f"run {str(run.pk)[:8]}"


# --- run list bulk actions ------------------------------------------------------------------


# What a bulk action on runs did, by action ({n} runs, {s} the plural's "s"); cancel says more.
BULK_DONE = {"replay": "Replayed {n} run{s} as new runs.",
             "retry_now": "Retrying {n} run{s} now: the next attempts are queued.",
             "run_now": "Queued {n} scheduled run{s} now."}


def bulk_toast(action: str, outcome: operations.BulkResult) -> Toast:
    done = len(outcome.done)
    if action == "cancel":
        stopping = sum(1 for run in outcome.done if run.status == Status.RUNNING)
        text = f"Cancelled {done - stopping} run{'s' if done - stopping != 1 else ''}."
        if stopping:
            text += f" Asked {stopping} running run{'s' if stopping != 1 else ''} to stop."
    else:
        text = BULK_DONE[action].format(n=done, s="s" if done != 1 else "")
    if outcome.skipped:
        run_id, reason = outcome.skipped[0]
        text += f" Skipped {len(outcome.skipped)}: {reason}"
        if len(outcome.skipped) > 1:
            text += f" (and {len(outcome.skipped) - 1} more)"
        text += "."
    return Toast(text, "success" if done else "error")


def permitted_action(request: HtmxHttpRequest, actions: tuple[BulkAction, ...]) -> str:
    """The posted bulk ``action``, once the user holds its permission (400 if unknown)."""
    posted = request.POST.get("action", "")
    for action in actions:
        if action.value == posted:
            require(request, action.perm)
            return posted
    raise ActionFailed("Unknown action.", 400)


def replay_unreplayed(request: HtmxHttpRequest, ids: list[uuid.UUID], reason: str) -> operations.BulkResult:
    """Replay the selected runs that were never replayed; a run replayed before is skipped, as
    its own page would ask before replaying it again."""
    replayed = set(TaskRun.objects.filter(replay_of_id__in=ids).values_list("replay_of_id", flat=True))
    outcome = perform(lambda: operations.replay_many([i for i in ids if i not in replayed], user=request.user,
                                                     reason=reason))
    outcome.skipped[:0] = [(str(i), f"run {str(i)[:8]} was already replayed (replay it again from its page)")
                           for i in ids if i in replayed]
    return outcome


# Bulk actions on runs that destroy or redo work ask first, and ask why.
CONFIRMED_RUN_ACTIONS = frozenset({"cancel", "replay"})


def required_reason(request: HtmxHttpRequest) -> str:
    """The confirmation's reason: required, at most ``REASON_MAX`` characters, storable."""
    reason = request.POST.get("reason", "").strip()
    if not reason:
        raise ActionFailed("Give a reason for this action; it is kept in the audit log.", 400)
    if len(reason) > REASON_MAX:
        raise ActionFailed(f"The reason is longer than {REASON_MAX} characters.", 400)
    try:
        check_text(reason, "the reason")
    except BadInput as exc:
        raise ActionFailed(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 400) from None
    return reason


@action_view
def runs_bulk(request: HtmxHttpRequest) -> HttpResponse:
    action = permitted_action(request, RUN_BULK_ACTIONS)
    ids = parse_ids(request.POST.getlist("ids"), uuid.UUID, limit=4 * paging.PAGE_SIZE)
    if ids is None:
        raise ActionFailed("Malformed selection.", 400)
    if not ids:
        raise ActionFailed("Select at least one run first.", 400)
    reason = ""
    if action in CONFIRMED_RUN_ACTIONS:
        if request.POST.get("confirmed") != "1":
            return confirmation(request, action=action, count=BoundedCount(len(ids)), limit=len(ids),
                                target="#results", scope="the selected runs", filters={}, noun="run")
        reason = required_reason(request)
    if action == "replay":
        outcome = replay_unreplayed(request, ids, reason)
    else:
        verb = {"cancel": operations.cancel_many, "retry_now": operations.retry_now_many,
                "run_now": operations.run_now_many}[action]
        outcome = perform(lambda: verb(ids, user=request.user, reason=reason))
    toast = bulk_toast(action, outcome)
    if not request.htmx:
        return back_to(request, toast, f"{reverse('taskboard:runs')}?{request.GET.urlencode()}")
    response = render(request, "taskboard/run_list.html#results", run_list_context(request))
    return with_toast(request, response, toast, close_modal=action in CONFIRMED_RUN_ACTIONS)


# --- dead letters -----------------------------------------------------------------------------


def confirmation(request: HtmxHttpRequest, **confirm: Any) -> HttpResponse:
    """Step one of a bulk action: how many rows, a required reason, and a button that posts
    again with confirmed=1."""
    confirm.setdefault("url", request.get_full_path())
    confirm.setdefault("noun", "dead letter")
    confirm["label"], confirm["danger"], confirm["note"] = CONFIRM_TEXT[confirm["action"]]
    confirm["back"] = referer(request)
    confirm["fields"] = [(k, v) for k in ("action", "scope", "next") for v in request.POST.getlist(k)]
    confirm["fields"] += [("ids", v) for v in request.POST.getlist("ids")]
    if request.htmx:
        response = render(request, "taskboard/partials/confirm.html", {"confirm": confirm})
        response["HX-Retarget"] = "#modal"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "taskboard/confirm.html", {"confirm": confirm})


# What each confirmed action says: its button, whether it is shown as dangerous, and what it does.
CONFIRM_TEXT = {
    "replay": ("Replay", False, "Each one starts a new run with the same arguments, linked to the run it "
                                "replays; that run stays as it was."),
    "discard": ("Discard", True, "Discarding closes the entries without running anything; the runs stay failed."),
    "cancel": ("Cancel", True, "Waiting runs are cancelled at once and running ones are asked to stop; a "
                               "cancelled run is never retried."),
}


def replay_toast(outcome: operations.BulkResult, noun: str = "dead letter") -> Toast:
    done = len(outcome.done)
    text = f"Replayed {done} {noun}{'s' if done != 1 else ''} as new runs."
    if outcome.skipped:
        text += f" Skipped {len(outcome.skipped)}: {outcome.skipped[0][1]}."
    return Toast(text, "success" if done else "error")


@action_view
def dead_letters_bulk(request: HtmxHttpRequest) -> HttpResponse:
    action = permitted_action(request, DEAD_LETTER_BULK_ACTIONS)
    form = DeadLetterFilterForm(request.GET or None, tasks=registry.names())
    whole_filter = request.POST.get("scope") == "filter"
    if whole_filter and form.invalid:
        raise ActionFailed(f"The filter is not valid: {'; '.join(form.messages)}", 400)
    if whole_filter:
        letters = operations.open_dead_letters(q=form.condition())
    else:
        ids = parse_ids(request.POST.getlist("ids"), int, limit=UI_BULK_LIMIT)
        if ids is None:
            raise ActionFailed("Malformed selection.", 400)
        if not ids:
            raise ActionFailed("Select at least one dead letter first.", 400)
        letters = operations.open_dead_letters(ids=ids)
    count = bounded_count(letters, UI_BULK_LIMIT)
    if not count.value:
        raise ActionFailed("None of these dead letters is open any more.", 409)
    if request.POST.get("confirmed") != "1":
        return confirmation(
            request, action=action, count=count, limit=UI_BULK_LIMIT, target="#results",
            scope="every open dead letter matching the filter" if whole_filter else "the selected dead letters",
            filters=form.values() if whole_filter else {},
        )
    reason = required_reason(request)
    chosen_by = form.values() if whole_filter else None
    if action == "replay":
        outcome = perform(lambda: operations.replay_dead_letters(letters, user=request.user, limit=UI_BULK_LIMIT,
                                                                 reason=reason, filter=chosen_by))
        toast = replay_toast(outcome)
    else:
        discarded = perform(lambda: operations.discard_dead_letters(letters, user=request.user, limit=UI_BULK_LIMIT,
                                                                    reason=reason, filter=chosen_by))
        toast = Toast(f"Discarded {discarded} dead letter{'s' if discarded != 1 else ''}; the runs stay failed.")
    if not request.htmx:
        return back_to(request, toast, f"{reverse('taskboard:dead-letters')}?{request.GET.urlencode()}")
    response = render(request, "taskboard/dead_letters.html#results", dead_letter_context(request))
    return with_toast(request, response, toast, close_modal=True)


@action_view
def failure_group_replay(request: HtmxHttpRequest, fingerprint: str) -> HttpResponse:
    """Replay the open dead letters whose run failed for good with this failure."""
    require(request, operations.PERM_REPLAY)
    group = failures.group_summary(fingerprint)
    if group is None:
        raise ActionFailed("No failures with this fingerprint.", 404)
    letters = failures.group_dead_letters(fingerprint, group.task)
    count = bounded_count(letters, UI_BULK_LIMIT)
    if not count.value:
        raise ActionFailed("This failure group has no open dead letters.", 409)
    if request.POST.get("confirmed") != "1":
        return confirmation(request, action="replay", count=count, limit=UI_BULK_LIMIT, target="",
                            scope=f"the open dead letters of {group.exception_name} in {group.task}",
                            filters={})
    reason = required_reason(request)
    toast = replay_toast(perform(lambda: operations.replay_dead_letters(
        letters, user=request.user, limit=UI_BULK_LIMIT, reason=reason, filter={"fingerprint": fingerprint})))
    fallback = reverse("taskboard:failure-group", args=[fingerprint])
    if not request.htmx:
        return back_to(request, toast, fallback)
    response = with_toast(request, HttpResponse(), toast, close_modal=True)
    response["HX-Reswap"] = "none"
    response["HX-Trigger"] = DEAD_LETTERS_CHANGED
    return response
