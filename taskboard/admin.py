"""Django admin for taskboard: a read-only history with the operator verbs as admin actions.

Runs, attempts and dead letters are never added or edited here (history is not rewritten);
replay, cancel, discard, retry now and run now call ``taskboard.operations`` as the
logged-in user, exactly like the dashboard. Changelists stay cheap on big tables: counts are bounded, and the task and
queue filters list known names instead of running ``SELECT DISTINCT`` over the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from taskboard import operations
from taskboard.backend import registry
from taskboard.conf import configured_queues
from taskboard.exceptions import NotAllowed
from taskboard.models import ApiToken, DeadLetter, TaskAttempt, TaskRun, WorkerNode
from taskboard.operations import tokens

# A changelist never counts more rows than this (it shows "10000" and that many pages).
COUNT_BOUND = 10_000


class BoundedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet):
            return object_list.order_by().values("pk")[:COUNT_BOUND].count()
        return len(object_list)


class KnownNamesFilter(admin.SimpleListFilter):
    """Filter on the field ``parameter_name`` by known names, never a ``SELECT DISTINCT``."""

    def names(self) -> list[str]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(name, name) for name in self.names()]

    def queryset[M: Model](self, request: HttpRequest, queryset: QuerySet[M]) -> QuerySet[M]:
        return queryset.filter(**{f"{self.parameter_name}": self.value()}) if self.value() else queryset


class TaskNameFilter(KnownNamesFilter):
    title = "task"
    parameter_name = "task"

    def names(self) -> list[str]:
        return registry.names()


class QueueFilter(KnownNamesFilter):
    title = "queue"
    parameter_name = "queue"

    def names(self) -> list[str]:
        return configured_queues()


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset[M: Model](self, request: HttpRequest, queryset: QuerySet[M]) -> QuerySet[M]:
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to anyone with the view permission; nothing is added, edited or deleted."""

    paginator = BoundedPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    # The permissions that admin actions name (``permissions=["replay"]`` and so on).
    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_REPLAY)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_CANCEL)

    def has_discard_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_DISCARD)

    def has_retry_now_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_RETRY_NOW)

    def has_run_now_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_RUN_NOW)

    def run_bulk(self, request: HttpRequest, verb: str, action: Callable[[], operations.BulkResult]) -> None:
        """Run a bulk verb and report what it did and skipped (or why it was not allowed)."""
        try:
            outcome = action()
        except NotAllowed as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if outcome.done:
            self.message_user(request, f"{verb} {len(outcome.done)}.", messages.SUCCESS)
        for run_id, reason in outcome.skipped[:10]:
            self.message_user(request, f"Skipped {run_id}: {reason}", messages.WARNING)
        if len(outcome.skipped) > 10:
            self.message_user(request, f"… and {len(outcome.skipped) - 10} more skipped.", messages.WARNING)


def dashboard_link(run_id: uuid.UUID) -> str:
    return format_html('<a href="{}">open in dashboard</a>', reverse("taskboard:run", args=[run_id]))


def short_run_link(run_id: uuid.UUID) -> str:
    return format_html('<a href="{}">{}</a>', reverse("taskboard:run", args=[run_id]), str(run_id)[:8])


class RunViewersAdmin(ReadOnlyAdmin):
    """Read-only rows about runs (audit events, alerts), shown to whoever may view runs rather
    than needing a model permission of their own."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)


class TaskAttemptInline(admin.TabularInline):
    model = TaskAttempt
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("number", "outcome", "exception", "message", "started_at", "finished_at", "worker")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("short_id", "task", "queue", "status", "attempts_used", "enqueued_at", "finished_at", "dashboard")
    list_filter = ("status", QueueFilter, TaskNameFilter)
    search_fields = ("task", "last_error")
    search_help_text = "A run id, or text in the task name or last error."
    inlines = [TaskAttemptInline]
    actions = ["replay_runs", "cancel_runs", "retry_runs_now", "run_runs_now"]
    readonly_fields = ("dashboard",)
    fieldsets = (
        (None, {"fields": ("id", "dashboard", "task", "queue", "backend", "priority", "status", "last_error")}),
        ("Arguments and result", {"fields": ("args", "kwargs", "result", "checkpoint")}),
        ("Execution", {"fields": ("attempts", "max_attempts", "timeout", "backoff", "progress", "progress_message",
                                  "cancel_requested", "cancel_requested_by", "worker")}),
        ("Times", {"fields": ("enqueued_at", "run_after", "dispatched_at", "started_at", "claimed_at", "finished_at",
                              "heartbeat_at", "lease_expires_at")}),
        ("Lineage", {"fields": ("replay_of", "idempotency_key")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaskRun]:
        return super().get_queryset(request).defer("result", "checkpoint")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[TaskRun],
                           search_term: str) -> tuple[QuerySet[TaskRun], bool]:
        # A run id is matched exactly through the primary key; anything else as text.
        try:
            run_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(pk=run_id), False

    @admin.display(description="id")
    def short_id(self, obj: TaskRun) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="attempts")
    def attempts_used(self, obj: TaskRun) -> str:
        return f"{obj.attempts}/{obj.max_attempts}"

    @admin.display(description="dashboard")
    def dashboard(self, obj: TaskRun) -> str:
        return dashboard_link(obj.pk) if obj.pk else "—"

    @admin.action(description="Replay selected runs (failed or cancelled)", permissions=["replay"])
    def replay_runs(self, request: HttpRequest, queryset: QuerySet[TaskRun]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        self.run_bulk(request, "Replayed as new runs:", lambda: operations.replay_many(ids, user=request.user))

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TaskRun]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        self.run_bulk(request, "Cancelled (or asked to stop):", lambda: operations.cancel_many(ids, user=request.user))

    @admin.action(description="Retry selected runs now (retrying)", permissions=["retry_now"])
    def retry_runs_now(self, request: HttpRequest, queryset: QuerySet[TaskRun]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        self.run_bulk(request, "Queued now:", lambda: operations.retry_now_many(ids, user=request.user))

    @admin.action(description="Run selected runs now (scheduled)", permissions=["run_now"])
    def run_runs_now(self, request: HttpRequest, queryset: QuerySet[TaskRun]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        self.run_bulk(request, "Queued now:", lambda: operations.run_now_many(ids, user=request.user))


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    list_display = ("run_link", "task", "number", "outcome", "exception", "finished_at", "worker")
    list_filter = ("outcome", TaskNameFilter)
    search_fields = ("=fingerprint", "exception")
    search_help_text = "A fingerprint (exact) or text in the exception class."
    list_select_related = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaskAttempt]:
        return super().get_queryset(request).order_by("-finished_at", "-id")

    @admin.display(description="run")
    def run_link(self, obj: TaskAttempt) -> str:
        return short_run_link(obj.run_id)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("id", "task", "run_link", "short_reason", "created_at", "resolution", "resolved_by_name",
                    "resolved_at")
    list_filter = (OpenFilter, "resolution", TaskNameFilter)
    search_fields = ("reason",)
    actions = ["replay_letters", "discard_letters"]

    @admin.display(description="run")
    def run_link(self, obj: DeadLetter) -> str:
        return short_run_link(obj.run_id)

    @admin.display(description="reason")
    def short_reason(self, obj: DeadLetter) -> str:
        return obj.reason if len(obj.reason) <= 100 else obj.reason[:99] + "…"

    @admin.action(description="Replay selected open dead letters", permissions=["replay"])
    def replay_letters(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        letters = operations.open_dead_letters(ids=queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        self.run_bulk(request, "Replayed as new runs:",
                      lambda: operations.replay_dead_letters(letters, user=request.user))

    @admin.action(description="Discard selected open dead letters", permissions=["discard"])
    def discard_letters(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        letters = operations.open_dead_letters(ids=queryset.values_list("pk", flat=True)[: operations.BULK_LIMIT])
        try:
            count = operations.discard_dead_letters(letters, user=request.user)
        except NotAllowed as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Discarded {count} dead letter(s); their runs stay failed.", messages.SUCCESS)


@admin.register(WorkerNode)
class WorkerNodeAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "queues", "started_at", "last_seen", "stopped_at", "restarts", "last_restart_reason")
    list_filter = (("stopped_at", admin.EmptyFieldListFilter),)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    list_select_related = ("user",)
    actions = ["revoke"]

    @admin.display(boolean=True, description="active")
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are created with `manage.py taskboard_token`, which prints the key once.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # revoke instead: the row keeps who had access and when

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        try:
            count = tokens.revoke_tokens(list(queryset), user=request.user)
        except NotAllowed as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
# Registered by importing them (they build on the classes above).
from taskboard import admin_alerts, admin_audit, admin_batches, admin_flow, admin_schedules  # noqa: E402, F401
from taskboard.transport.admin import hide_django_q_admin  # noqa: E402

# django-q2's "Scheduled tasks" would never fire under taskboard (its scheduler is off): gone.
hide_django_q_admin()
