"""Prune: delete old finished runs (and their attempts), never ones with an open dead letter."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from taskboard.models import FINISHED, DeadLetter, TaskAttempt, TaskRun


def prune(older_than_days: float, *, dry_run: bool = False, batch: int = 5_000) -> int:
    """Delete finished runs (and their attempts) older than that; keep open dead letters."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    qs = TaskRun.objects.filter(status__in=FINISHED, finished_at__lt=cutoff).exclude(
        pk__in=DeadLetter.objects.unresolved().values("run_id")
    )
    if dry_run:
        return qs.count()
    deleted = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            # Replays point at the pruned run with SET NULL; attempts cascade.
            TaskAttempt.objects.filter(run_id__in=ids).delete()
            TaskRun.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
