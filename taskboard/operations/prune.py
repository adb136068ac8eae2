"""Prune: delete old finished runs (and their attempts), never ones with an open dead letter.

Runs are deleted in batches, each in its own transaction (a single one over millions of rows
would hold locks and grow the WAL for minutes). The audit event is written with the first
batch and its ``count`` grows in each later batch's transaction, so at any moment — also
after a crash halfway — it counts exactly the runs whose deletion committed. Nothing to
delete, no event.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from taskboard.models import AuditEvent, TaskAttempt, TaskRun, pruning
from taskboard.operations import audit
from taskboard.operations.permissions import PERM_PRUNE, Actor, require


def prune(older_than_days: float, *, dry_run: bool = False, batch: int = 5_000, user: Actor = None,
          reason: str = "") -> int:
    """Delete finished runs (and their attempts) older than that; keep open dead letters."""
    require(user, PERM_PRUNE)
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    # What may go is defined once (models.pruning), shared with the retention schedule.
    qs = pruning.prunable_runs(cutoff)
    if dry_run:
        return qs.count()
    deleted = 0
    event: AuditEvent | None = None
    while True:
        with transaction.atomic():
            ids = list(qs.values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            # Replays point at the pruned run with SET NULL; attempts cascade.
            TaskAttempt.objects.filter(run_id__in=ids).delete()
            TaskRun.objects.filter(pk__in=ids).delete()
            # The deleted runs are not linked (their timelines are gone with them).
            if event is None:
                event = audit.record("run.prune", user=user, filter={"older_than_days": older_than_days},
                                     count=len(ids), reason=reason)
            else:
                audit.add_to_count(event, len(ids))
        deleted += len(ids)
