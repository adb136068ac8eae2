"""Django admin for the audit log: read-only (nothing is added, edited or deleted here — an
audit log that its readers could edit would prove nothing), filtered by via and verb,
searchable by actor, with the runs each event touched linked to the dashboard.

Visible to whoever may view runs, as the dashboard's Audit page and a run's timeline are.
Imported by ``taskboard.admin``.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from taskboard.admin import BoundedPaginator, KnownNamesFilter, RunViewersAdmin, short_run_link
from taskboard.models import AuditEvent
from taskboard.operations.audit import VERBS

# The detail page lists at most this many of an event's runs (a bulk action may touch 10,000).
RUNS_SHOWN = 50


class VerbFilter(KnownNamesFilter):
    title = "verb"
    parameter_name = "verb"

    def names(self) -> list[str]:
        return list(VERBS)


@admin.register(AuditEvent)
class AuditEventAdmin(RunViewersAdmin):
    list_display = ("at", "actor", "via", "verb", "count", "short_targets", "reason")
    list_filter = ("via", VerbFilter)
    search_fields = ("=actor", "reason")
    search_help_text = "An actor (exact) or text in the reason."
    paginator = BoundedPaginator
    show_full_result_count = False
    list_per_page = 50
    fields = ("at", "actor", "via", "verb", "count", "targets", "filter", "reason", "linked_runs")
    readonly_fields = fields

    @admin.display(description="targets")
    def short_targets(self, obj: AuditEvent) -> str:
        shown = ", ".join(str(t) for t in obj.targets[:3])
        return shown + (f" … ({obj.count})" if obj.count > len(obj.targets[:3]) else "")

    @admin.display(description="runs touched")
    def linked_runs(self, obj: AuditEvent) -> str:
        run_ids = list(obj.runs.values_list("run_id", flat=True)[:RUNS_SHOWN])
        if not run_ids:
            return "—"
        return format_html("{}", format_html_join(", ", "{}", ((short_run_link(r),) for r in run_ids)))
