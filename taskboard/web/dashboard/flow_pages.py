"""The Flow page (``/dashboard/flow/``): circuit breakers (state, failure rate, calls, next
probe, transition history, Open/Close), queues and tasks with Pause/Resume, limit utilisation.

The figures poll every 2 s (``#flow-live``); each control is a disclosure with a reason field
and a confirming button, kept across polls by ``hx-preserve`` (its id names the state it acts
on, so a changed state renders the new control). The POSTs call ``operations`` as the user:
pausing needs ``taskboard.pause_flow``, forcing a breaker ``taskboard.control_breaker``; an
unknown name is a 404, a missing permission a 403 (as every dashboard action, see ``actions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from taskboard import operations
from taskboard.backend import registry
from taskboard.models import PauseScope
from taskboard.readmodels import flow
from taskboard.web.dashboard.actions import ActionFailed, Toast, action_view, back_to, perform, with_toast
from taskboard.web.dashboard.common import render_page, staff_view
from taskboard.web.requests import HtmxHttpRequest

REASON_MAX = 500


@dataclass(frozen=True)
class Control:
    """A row's Pause/Resume or Open/Close: where it posts and the id that keeps it across polls."""

    id: str
    url: str
    label: str
    danger: bool


def control(kind: str, index: int, name: str, verb: str, state: str) -> Control:
    url = reverse("taskboard:flow-action", args=[kind, name, verb])
    return Control(f"{kind}-{index}-{state}", url, verb.capitalize(), verb in {"pause", "open"})


def flow_context(request: HtmxHttpRequest) -> dict[str, Any]:
    queue_pauses, task_pauses = flow.paused(PauseScope.QUEUE), flow.paused(PauseScope.TASK)
    breakers = flow.breaker_views()
    queues = flow.queue_rows()
    return {
        "nav": "flow",
        "breakers": [(view, control("breaker", i, view.row["name"],
                                    "open" if view.row["state"] == "closed" else "close",
                                    view.row["state"])) for i, view in enumerate(breakers)],
        "queues": [(row, queue_pauses.get(row["name"]), control("queue", i, row["name"],
                                                                "resume" if row["paused"] else "pause",
                                                                str(row["paused"])))
                   for i, row in enumerate(queues)],
        "tasks": [(name, task_pauses.get(name), control("task", i, name, "resume" if name in task_pauses else "pause",
                                                        str(name in task_pauses)))
                  for i, name in enumerate(registry.names())],
        "utilisation": flow.utilisation(),
        "may_pause": request.user.has_perm(operations.PERM_PAUSE),
        "may_break": request.user.has_perm(operations.PERM_BREAKER),
    }


@require_GET
@staff_view
def flow_page(request: HtmxHttpRequest) -> HttpResponse:
    return render_page(request, "taskboard/flow.html", flow_context(request), "live")


# What each control does: (operation, what the toast says).
VERBS: dict[tuple[str, str], tuple[Callable[..., Any], str]] = {
    ("queue", "pause"): (operations.pause_queue, "Queue {name} paused: nothing new starts."),
    ("queue", "resume"): (operations.resume_queue, "Queue {name} resumed."),
    ("task", "pause"): (operations.pause_task, "Task {name} paused: nothing new starts."),
    ("task", "resume"): (operations.resume_task, "Task {name} resumed."),
    ("breaker", "open"): (operations.open_breaker, "Breaker {name} forced open: its runs are held."),
    ("breaker", "close"): (operations.close_breaker, "Breaker {name} closed: its held runs are released."),
}


@action_view
def flow_action(request: HtmxHttpRequest, kind: str, name: str, verb: str) -> HttpResponse:
    if (kind, verb) not in VERBS:
        raise ActionFailed("Unknown action.", 404)
    reason = request.POST.get("reason", "").strip()
    if len(reason) > REASON_MAX:
        raise ActionFailed(f"The reason is longer than {REASON_MAX} characters.", 400)
    operation, done = VERBS[(kind, verb)]
    try:
        perform(lambda: operation(name, reason=reason, user=request.user))
    except operations.UnknownName as exc:
        raise ActionFailed(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 404) from exc
    toast = Toast(done.format(name=name))
    if not request.htmx:
        return back_to(request, toast, reverse("taskboard:flow"))
    response = render(request, "taskboard/flow.html#live", flow_context(request))
    return with_toast(request, response, toast)
