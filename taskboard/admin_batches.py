"""Django admin for batches: read-only rows (counters are the children's to keep), with the
dashboard's two verbs as actions — cancel, replay failed — called through ``operations`` as
the user (``cancel_taskrun`` / ``replay_taskrun``), audited as done via the admin. Imported by
``taskboard.admin``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from taskboard import operations
from taskboard.admin import ReadOnlyAdmin
from taskboard.exceptions import NotAllowed, OperationError
from taskboard.models import Batch


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "progress_text", "total", "succeeded", "failed", "cancelled", "created_at",
                    "finished_at", "dashboard"]
    search_fields = ["name", "=correlation_id"]
    date_hierarchy = None
    readonly_fields = ["id", "name", "correlation_id", "on_complete", "on_success", "total", "open", "succeeded",
                       "failed", "cancelled", "created_at", "finished_at", "cancelled_at", "cancelled_by",
                       "on_complete_run", "on_success_run", "dashboard"]
    actions = ["cancel", "replay_failed"]

    # Whoever may view runs may view batches (like the dashboard's Batches page).
    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_VIEW)

    @admin.display(description="progress")
    def progress_text(self, batch: Batch) -> str:
        return f"{batch.progress} %"

    @admin.display(description="dashboard")
    def dashboard(self, batch: Batch) -> str:
        return format_html('<a href="{}">open in dashboard</a>', reverse("taskboard:batch", args=[batch.pk]))

    def _each(self, request: HttpRequest, queryset: QuerySet[Batch], done: str, verb: str) -> None:
        count = 0
        for batch in queryset:
            try:
                if verb == "cancel":
                    operations.cancel_batch(batch.pk, user=request.user, reason="from the admin")
                else:
                    operations.replay_failed(batch.pk, user=request.user, reason="from the admin")
                count += 1
            except (NotAllowed, OperationError) as exc:
                self.message_user(request, f"{batch}: {exc}", messages.ERROR)
        if count:
            self.message_user(request, f"{done} {count} batch(es).", messages.SUCCESS)

    @admin.action(description="Cancel selected batches (waiting children cancelled, running asked to stop)",
                  permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        self._each(request, queryset, "Cancelled", "cancel")

    @admin.action(description="Replay the failed children of selected batches", permissions=["replay"])
    def replay_failed(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        self._each(request, queryset, "Replayed the failed children of", "replay")
