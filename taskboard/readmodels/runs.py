"""The querysets of the lists (runs, dead letters): the columns a list row shows, no more.

Filters come from the dashboard's forms; paging from ``paging.keyset_page``.
"""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from taskboard.models import DeadLetter, TaskRun


def run_list_queryset() -> QuerySet[TaskRun]:
    # The list never shows results or checkpoints, which can be large.
    return TaskRun.objects.defer("result", "checkpoint", "backoff")


def dead_letter_queryset(resolved: bool) -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.filter(resolved_at__isnull=not resolved).select_related("run")
    return qs.only("id", "task", "reason", "created_at", "resolved_at", "resolution", "resolved_by_name",
                   "replay_run_id", "run_id", "run__id", "run__status", "run__last_error", "run__attempts",
                   "run__max_attempts", "run__queue", "run__enqueued_at")


def correlated(correlation_id: str) -> Q:
    """Runs that carry ``correlation_id``, and the run whose id it is: a run without a
    correlation id of its own passes its id to what it enqueues (``backend.correlation``)."""
    condition = Q(correlation_id=correlation_id)
    try:
        return condition | Q(pk=uuid.UUID(correlation_id))
    except ValueError:
        return condition
