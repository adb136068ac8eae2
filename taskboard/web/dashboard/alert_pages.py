"""The Alerts page (``/dashboard/alerts/``): firing alerts first (live, every 2 s), each with a
Silence control (minutes and a reason), then resolved ones, newest first, a keyset page at a
time. Silencing needs ``taskboard.silence_alert``; the POST calls ``operations.silence_alert``
as the user (403 without the permission, 404 for an unknown alert, 400 for minutes outside
1…10080 or a reason that is too long) and answers with the refreshed list and a toast.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from taskboard import operations
from taskboard.operations.inputs import BadInput
from taskboard.operations.silence import MINUTES_MAX, MINUTES_MIN, REASON_MAX
from taskboard.readmodels import alerts
from taskboard.readmodels.paging import int_pk
from taskboard.web.dashboard.actions import ActionFailed, Toast, action_view, back_to, perform, with_toast
from taskboard.web.dashboard.common import render_page, requested_page, staff_view
from taskboard.web.requests import HtmxHttpRequest


def alerts_context(request: HtmxHttpRequest) -> dict[str, Any]:
    return {
        "nav": "alerts",
        "now": timezone.now(),
        "firing": [(alert, alerts.unit_of(alert)) for alert in alerts.firing()],
        "page": requested_page(request, alerts.alerts("resolved"), "started_at", int_pk),
        "may_silence": request.user.has_perm(operations.PERM_SILENCE),
        "minutes_min": MINUTES_MIN, "minutes_max": MINUTES_MAX, "reason_max": REASON_MAX,
    }


@require_GET
@staff_view
def alert_list(request: HtmxHttpRequest) -> HttpResponse:
    # The pager swaps the resolved list; the poll swaps the firing one.
    fragment = "resolved" if request.htmx and request.htmx.target == "resolved" else "live"
    return render_page(request, "taskboard/alerts.html", alerts_context(request), fragment)


def _minutes(text: str) -> int:
    try:
        minutes = int(text)
    except ValueError:
        raise ActionFailed(f"Minutes must be a whole number from {MINUTES_MIN} to {MINUTES_MAX}.", 400) from None
    if not MINUTES_MIN <= minutes <= MINUTES_MAX:
        raise ActionFailed(f"Minutes must be from {MINUTES_MIN} to {MINUTES_MAX} (one week).", 400)
    return minutes


@action_view
def alert_silence(request: HtmxHttpRequest, alert_id: int) -> HttpResponse:
    minutes = _minutes(request.POST.get("minutes", "").strip())
    reason = request.POST.get("reason", "").strip()
    if len(reason) > REASON_MAX:
        raise ActionFailed(f"The reason is longer than {REASON_MAX} characters.", 400)
    try:
        alert = perform(lambda: operations.silence_alert(alert_id, minutes=minutes, reason=reason,
                                                         user=request.user))
    except operations.UnknownName as exc:
        raise ActionFailed("That alert does not exist.", 404) from exc
    except BadInput as exc:
        raise ActionFailed(str(exc), 400) from exc
    toast = Toast(f"Alert silenced for {minutes} minute{'s' if minutes != 1 else ''}: nothing is sent about "
                  f"{alert.rule} {alert.key} until {timezone.localtime(alert.silenced_until):%H:%M}.")
    if not request.htmx:
        return back_to(request, toast, reverse("taskboard:alerts"))
    response = render(request, "taskboard/alerts.html#live", alerts_context(request))
    return with_toast(request, response, toast)
