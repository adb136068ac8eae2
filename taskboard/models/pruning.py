"""Deleting old history: finished runs (with their attempts) and schedule fire rows.

One definition of what may go, shared by ``taskboard_prune`` (``operations.prune``) and the
built-in retention schedule (``taskboard.schedules.retention``): runs in a final status that
finished before the cutoff, never one with an open dead letter (an operator still has to
decide about it). Deletion goes in small batches, each its own short transaction, so a large
prune never holds the table (or, on SQLite, the database) for long.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from taskboard.models.attempts import TaskAttempt
from taskboard.models.choices import FINISHED
from taskboard.models.dead_letters import DeadLetter
from taskboard.models.run_queries import TaskRunQuerySet
from taskboard.models.runs import TaskRun
from taskboard.models.schedules import ScheduleFire


def prunable_runs(cutoff: datetime) -> TaskRunQuerySet:
    """Finished runs that finished before ``cutoff`` and have no open dead letter."""
    return TaskRun.objects.filter(status__in=FINISHED, finished_at__lt=cutoff).exclude(
        pk__in=DeadLetter.objects.unresolved().values("run_id"))


def delete_runs_before(cutoff: datetime, *, batch: int = 500,
                       between: Callable[[int], bool] | None = None) -> int:
    """Delete ``prunable_runs(cutoff)`` ``batch`` at a time; returns how many went.
    ``between(deleted_so_far)`` runs after each batch's commit; False stops early."""
    qs = prunable_runs(cutoff)
    deleted = 0
    while True:
        with transaction.atomic():
            # Chosen and deleted in one transaction: what was checked is what goes.
            ids = list(qs.order_by("finished_at").values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            # Attempts first (no per-row cascade collection); replays, dead letters' replay
            # links and schedule fires pointing at these runs are set to NULL.
            TaskAttempt.objects.filter(run_id__in=ids).delete()
            TaskRun.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if between is not None and not between(deleted):
            return deleted


def delete_fires_before(cutoff: datetime, *, batch: int = 500) -> int:
    """Delete schedule fire rows older than ``cutoff`` (their schedules moved on long ago,
    so the unique row that guarded each fire time is no longer needed)."""
    deleted = 0
    while True:
        ids = list(ScheduleFire.objects.filter(fire_at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            ScheduleFire.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
