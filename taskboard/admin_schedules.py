"""Django admin for schedules: list, add (validated like everywhere else), and Pause / Resume /
Run now / remove through ``operations``, as the logged-in user (``taskboard.manage_schedule``).

A schedule is never edited in place: its definition is what its fire history was made of, so a
change is a remove and an add (or, for one declared in settings, a change of the settings).
Imported by ``taskboard.admin``, which also takes django-q2's own admin pages away
(``transport.admin``): its "Scheduled tasks" never fire under taskboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.tasks.exceptions import InvalidTask
from django.utils.html import format_html, format_html_join

from taskboard import operations
from taskboard.backend import registry
from taskboard.conf import configured_queues
from taskboard.exceptions import InvalidSchedule, NotAllowed, OperationError
from taskboard.models import Schedule, ScheduleFire, ScheduleSource
from taskboard.readmodels import schedules as schedule_views
from taskboard.schedules import definition

HISTORY = 30
OPTIONS = ("cron", "every", "args", "kwargs", "queue", "priority", "timezone", "misfire", "overlap")


class ScheduleAddForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["name", "task", *OPTIONS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"] = forms.ChoiceField(choices=[(n, n) for n in registry.names()])
        self.fields["queue"] = forms.ChoiceField(choices=[("", "the task's"), *[(q, q) for q in configured_queues()]],
                                                 required=False)

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {key: (data.get(key) if data.get(key) not in ("", None) else None) for key in OPTIONS}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                definition.validate(data.get("name"), data.get("task"), **self.options())
            except InvalidSchedule as exc:
                raise forms.ValidationError(str(exc)) from None
            if Schedule.objects.filter(name=data.get("name")).exists():
                self.add_error("name", "A schedule with this name already exists.")
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "when", "timezone", "paused", "next_run_at", "last_fired_at", "source"]
    list_filter = ["paused", "source"]
    search_fields = ["name", "task"]
    actions = ["pause_schedules", "resume_schedules", "run_schedules_now"]
    readonly_fields = ["when", "next_run_at", "last_fired_at", "paused", "paused_by", "paused_at", "source",
                       "created_by", "created_at", "recent_fires"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ScheduleAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "task", *OPTIONS]
        return ["name", "task", "when", *OPTIONS, *self.readonly_fields[1:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else ["name", "task", *OPTIONS, *self.readonly_fields]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_manage_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if isinstance(obj, Schedule) and obj.source == ScheduleSource.SETTINGS:
            return False
        return self.has_manage_permission(request)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_SCHEDULE)

    @admin.display(description="when")
    def when(self, obj: Schedule) -> str:
        return schedule_views.describe(obj)

    @admin.display(description="recent fire times (newest first)")
    def recent_fires(self, obj: Schedule) -> str:
        rows = ScheduleFire.objects.filter(schedule=obj).order_by("-fire_at")[:HISTORY]
        return format_html("<ol>{}</ol>", format_html_join(
            "", "<li>{} {} {} {}</li>",
            ((f.fire_at.isoformat(timespec="seconds"), f.outcome, f"run {str(f.run_id)[:8]}" if f.run_id else "",
              f.note) for f in rows))) if rows else "—"

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        # Adding is the verb: it validates, writes the row and its audit event.
        try:
            obj.pk = operations.add_schedule(obj.name, form.cleaned_data["task"], user=request.user,
                                             **form.options()).pk
        except (OperationError, InvalidTask) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            obj.pk = Schedule.objects.filter(name=obj.name).values_list("pk", flat=True).first()

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        self._each(request, "Removed", lambda name: operations.remove_schedule(name, user=request.user), [obj.name])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        names = list(queryset.values_list("name", flat=True))
        self._each(request, "Removed", lambda name: operations.remove_schedule(name, user=request.user), names)

    def _each(self, request: HttpRequest, done: str, verb: Callable[[str], Any], names: list[str]) -> None:
        count = 0
        for name in names:
            try:
                verb(name)
                count += 1
            except (NotAllowed, OperationError, InvalidTask, ObjectDoesNotExist) as exc:
                self.message_user(request, f"{name}: {exc}", messages.ERROR)
        if count:
            self.message_user(request, f"{done} {count} schedule(s).", messages.SUCCESS)

    @admin.action(description="Pause selected schedules", permissions=["manage"])
    def pause_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, "Paused", lambda name: operations.pause_schedule(name, user=request.user),
                   list(queryset.values_list("name", flat=True)))

    @admin.action(description="Resume selected schedules", permissions=["manage"])
    def resume_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, "Resumed", lambda name: operations.resume_schedule(name, user=request.user),
                   list(queryset.values_list("name", flat=True)))

    @admin.action(description="Run selected schedules now", permissions=["manage"])
    def run_schedules_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, "Enqueued a run of", lambda name: operations.run_schedule(name, user=request.user),
                   list(queryset.values_list("name", flat=True)))
