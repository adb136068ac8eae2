"""The Schedules page (``/dashboard/schedules/``): every schedule with its plain-words
description, time zone, next three fire times and its latest runs as a status strip; Pause /
Resume, Run now and Remove; and a form to add one.

The list polls every 2 s (``#schedules-live``) and reloads at once after a change
(``taskboard:schedules-changed``). Every POST calls one ``operations`` verb as the user and
needs ``taskboard.manage_schedule`` (403 without it, 404 for an unknown schedule, 409 for a
taken name or removing a schedule declared in settings); the form shows a refused definition
inline with a 400, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from taskboard import operations
from taskboard.backend import registry
from taskboard.conf import configured_queues
from taskboard.exceptions import InvalidSchedule
from taskboard.models.schedules import NAME_MAX
from taskboard.operations.inputs import BadInput, check_json_value, loads
from taskboard.readmodels import schedules as schedule_views
from taskboard.schedules import definition
from taskboard.schedules.timing import CRON_MAX, EVERY_MAX, TIMEZONE_MAX
from taskboard.web.dashboard.actions import (
    FRAGMENT_HEADER,
    ActionFailed,
    Toast,
    action_view,
    back_to,
    perform,
    require,
    with_toast,
)
from taskboard.web.dashboard.common import render_page, staff_view
from taskboard.web.requests import HtmxHttpRequest

CHANGED = "taskboard:schedules-changed"


def _json_field(value: str, what: str, kind: type) -> Any:
    if not value.strip():
        return None
    try:
        parsed = loads(value)
        check_json_value(parsed, what)
    except (ValueError, RecursionError, BadInput) as exc:
        raise forms.ValidationError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(parsed, kind):
        raise forms.ValidationError(f"{what} must be a JSON {'object' if kind is dict else 'list'}")
    return parsed


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, help_text="Letters, digits, '.', '_' and '-'.")
    task = forms.ChoiceField()
    cron = forms.CharField(required=False, max_length=CRON_MAX, help_text="5 fields, e.g. */15 * * * *",
                           label="Cron")
    every = forms.IntegerField(required=False, min_value=1, max_value=EVERY_MAX, label="or every (seconds)")
    timezone = forms.CharField(initial="UTC", max_length=TIMEZONE_MAX, help_text="IANA, e.g. Europe/Berlin")
    kwargs = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Keyword arguments",
                             help_text='JSON object, e.g. {"seconds": 2}')
    queue = forms.ChoiceField()
    misfire = forms.ChoiceField(choices=[("skip", "skip missed"), ("run_once", "run once for missed")])
    overlap = forms.ChoiceField(choices=[("allow", "allow"), ("skip", "skip while running")])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [(name, name) for name in registry.names()]  # type: ignore[attr-defined]
        self.fields["queue"].choices = [(q, q) for q in configured_queues()]  # type: ignore[attr-defined]

    def clean_kwargs(self) -> Any:
        return _json_field(self.cleaned_data.get("kwargs") or "", "Keyword arguments", dict)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            definition.validate(data.get("name"), data.get("task"), **self.options())
        except InvalidSchedule as exc:
            raise forms.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        return data

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"cron": data.get("cron") or None, "every": data.get("every"), "timezone": data.get("timezone"),
                "kwargs": data.get("kwargs"), "queue": data.get("queue"), "misfire": data.get("misfire"),
                "overlap": data.get("overlap")}


def schedules_context(request: HtmxHttpRequest, form: ScheduleForm | None = None) -> dict[str, Any]:
    may_manage = request.user.has_perm(operations.PERM_SCHEDULE)
    return {
        "nav": "schedules",
        "rows": schedule_views.schedule_rows(),
        "may_manage": may_manage,
        "form": (form or ScheduleForm()) if may_manage else None,
    }


@require_GET
@staff_view
def schedule_list(request: HtmxHttpRequest) -> HttpResponse:
    return render_page(request, "taskboard/schedules.html", schedules_context(request), "live")


def _changed(request: HtmxHttpRequest, toast: Toast) -> HttpResponse:
    if not request.htmx:
        return back_to(request, toast, reverse("taskboard:schedules"))
    response = render(request, "taskboard/schedules.html#live", schedules_context(request))
    return with_toast(request, response, toast)


@action_view
def schedule_add(request: HtmxHttpRequest) -> HttpResponse:
    require(request, operations.PERM_SCHEDULE)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        perform(lambda: operations.add_schedule(form.cleaned_data["name"], form.cleaned_data["task"],
                                                user=request.user, **form.options()))
        toast = Toast(f"Schedule {form.cleaned_data['name']} added.")
        if not request.htmx:
            return back_to(request, toast, reverse("taskboard:schedules"))
        response = render(request, "taskboard/schedules.html#form", {"form": ScheduleForm(), "may_manage": True})
        response["HX-Trigger"] = CHANGED
        return with_toast(request, response, toast)
    context = schedules_context(request, form)
    if request.htmx:
        response = render(request, "taskboard/schedules.html#form", context, status=400)
        response[FRAGMENT_HEADER] = "1"
        return response
    return render(request, "taskboard/schedules.html", context, status=400)


# What each button does: (operation, what the toast says).
VERBS: dict[str, tuple[Callable[..., Any], str]] = {
    "pause": (operations.pause_schedule, "Schedule {name} paused: it does not fire until resumed."),
    "resume": (operations.resume_schedule, "Schedule {name} resumed."),
    "run": (operations.run_schedule, "Schedule {name}: a run was enqueued now."),
    "remove": (operations.remove_schedule, "Schedule {name} removed; its runs stay."),
}


@action_view
def schedule_action(request: HtmxHttpRequest, name: str, verb: str) -> HttpResponse:
    if verb not in VERBS:
        raise ActionFailed("Unknown action.", 404)
    operation, done = VERBS[verb]
    try:
        result = perform(lambda: operation(name, user=request.user))
    except operations.UnknownName as exc:
        raise ActionFailed(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 404) from exc
    toast = Toast(done.format(name=name))
    if verb == "run":
        toast.link, toast.link_text = reverse("taskboard:run", args=[result.pk]), f"run {str(result.pk)[:8]}"
    return _changed(request, toast)
