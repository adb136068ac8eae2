"""Django admin for flow control: pauses and circuit breakers (with their transition history).

Every change goes through ``operations`` as the user, as on the dashboard: pausing needs
``taskboard.pause_flow`` (adding a Pause row pauses that queue or task, the "Resume" action
resumes and releases its held runs), forcing a breaker ``taskboard.control_breaker``. Rows are
never edited by hand. Imported by ``taskboard.admin``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from taskboard import operations
from taskboard.exceptions import NotAllowed
from taskboard.models import Breaker, BreakerTransition, Pause, PauseScope

HISTORY = 50


class FlowAdmin(admin.ModelAdmin):
    """Visible to whoever may view runs (like the dashboard's Flow page); never edited."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def _apply(model_admin: admin.ModelAdmin[Any], request: HttpRequest, done: str,
           verb: Callable[..., Any], names: list[str]) -> None:
    count = 0
    for name in names:
        try:
            verb(name, reason="from the admin", user=request.user)
            count += 1
        except (NotAllowed, ObjectDoesNotExist) as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
    if count:
        model_admin.message_user(request, f"{done} {count}.", messages.SUCCESS)


@admin.register(Pause)
class PauseAdmin(FlowAdmin):
    list_display = ["scope", "name", "reason", "actor", "created_at"]
    list_filter = ["scope"]
    fields = ["scope", "name", "reason"]
    actions = ["resume"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_PAUSE)

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_PAUSE)

    def save_model(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
        # Adding a row is pausing: the operation checks the name and writes the row itself.
        verb = operations.pause_queue if obj.scope == PauseScope.QUEUE else operations.pause_task
        obj.pk = verb(obj.name, reason=obj.reason, user=request.user).pk

    @admin.action(description="Resume selected queues/tasks (releases their held runs)", permissions=["pause"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Pause]) -> None:
        for scope, verb in ((PauseScope.QUEUE, operations.resume_queue), (PauseScope.TASK, operations.resume_task)):
            names = list(queryset.filter(scope=scope).values_list("name", flat=True))
            _apply(self, request, f"Resumed {scope.value}s:", verb, names)


@admin.register(Breaker)
class BreakerAdmin(FlowAdmin):
    list_display = ["name", "state", "opened_at", "retry_at", "trips", "forced"]
    readonly_fields = ["name", "state", "since", "opened_at", "retry_at", "trips", "probes_started", "forced",
                       "transitions"]
    actions = ["open_breakers", "close_breakers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="transitions (newest first)")
    def transitions(self, obj: Breaker) -> str:
        # Transitions name their breaker (no foreign key: history outlives a renamed config),
        # so they are listed here rather than as an inline.
        rows = BreakerTransition.objects.filter(breaker=obj.name).order_by("-at", "-id")[:HISTORY]
        return format_html("<ol>{}</ol>", format_html_join(
            "", "<li>{} {} → {}: {} {}</li>",
            ((t.at.isoformat(timespec="seconds"), t.from_state, t.to_state, t.reason,
              f"(by {t.actor})" if t.actor else "") for t in rows))) if rows else "—"

    def has_control_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_BREAKER)

    @admin.action(description="Force selected breakers open", permissions=["control"])
    def open_breakers(self, request: HttpRequest, queryset: QuerySet[Breaker]) -> None:
        _apply(self, request, "Opened", operations.open_breaker, list(queryset.values_list("name", flat=True)))

    @admin.action(description="Close selected breakers (releases their held runs)", permissions=["control"])
    def close_breakers(self, request: HttpRequest, queryset: QuerySet[Breaker]) -> None:
        _apply(self, request, "Closed", operations.close_breaker, list(queryset.values_list("name", flat=True)))
