"""A batch as people see it: counts, progress, its children.

``succeeded``, ``failed`` and ``cancelled`` are the batch row's counters (kept by the
children's outcomes, see ``models.batches``); ``running`` is counted from the ``(batch,
status)`` index, and ``waiting`` (queued, scheduled, retrying or held) is the rest of the open
children — so a page costs one row read and one index count, whatever the batch's size.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from taskboard.models import OPEN, Batch, Status, TaskRun
from taskboard.readmodels.representations import iso


def running_children(batch: Batch) -> int:
    return TaskRun.objects.filter(batch=batch, status=Status.RUNNING).count() if batch.open else 0


def batch_counts(batch: Batch) -> dict[str, int]:
    running = min(running_children(batch), batch.open)
    return {"total": batch.total, "waiting": batch.open - running, "running": running,
            "succeeded": batch.succeeded, "failed": batch.failed, "cancelled": batch.cancelled}


def batch_to_dict(batch: Batch) -> dict[str, Any]:
    """``GET /api/batches/{id}/``: CONTRACT's keys, then what else a batch knows."""
    return {
        "id": str(batch.pk),
        "name": batch.name,
        **batch_counts(batch),
        "progress": batch.progress,
        "created_at": iso(batch.created_at),
        "finished_at": iso(batch.finished_at),
        "correlation_id": batch.correlation_id or None,
        "on_complete": batch.on_complete or None,
        "on_success": batch.on_success or None,
        "on_complete_run": str(batch.on_complete_run) if batch.on_complete_run else None,
        "on_success_run": str(batch.on_success_run) if batch.on_success_run else None,
        "cancelled_at": iso(batch.cancelled_at),
    }


def batch_list_queryset() -> QuerySet[Batch]:
    return Batch.objects.all()


# The children a batch counts as waiting: open, but not running.
WAITING = "waiting"
WAITING_STATUSES = [status for status in OPEN if status != Status.RUNNING]


def children_queryset(batch: Batch, status: str | None = None) -> QuerySet[TaskRun]:
    """The batch's children for a list (newest first, by ``run_batch_list``); ``status`` is a
    run status or ``"waiting"``."""
    qs = TaskRun.objects.filter(batch=batch).defer("result", "checkpoint", "backoff")
    if status == WAITING:
        return qs.filter(status__in=WAITING_STATUSES)
    return qs.filter(status=status) if status else qs
