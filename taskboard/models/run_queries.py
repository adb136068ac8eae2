"""``TaskRunQuerySet``: the sets of runs the dispatcher, admission and the claim work on
(due, stale, held by key, unclaimed) and the claim itself — one conditional UPDATE."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from taskboard.models import priority_mix
from taskboard.models import sql as rowsql
from taskboard.models.choices import FINISHED, OPEN, WAITING, HoldReason, Status

if TYPE_CHECKING:
    from taskboard.models.runs import TaskRun


def limited_queues() -> list[str]:
    from django.conf import settings

    return sorted(getattr(settings, "TASKBOARD_QUEUE_LIMITS", None) or {})


def pause_table() -> str:
    from taskboard.models.flow import Pause

    return Pause._meta.db_table


class TaskRunQuerySet(models.QuerySet["TaskRun"]):
    def open(self) -> TaskRunQuerySet:
        return self.filter(status__in=OPEN)

    def finished(self) -> TaskRunQuerySet:
        return self.filter(status__in=FINISHED)

    def due(self, now: datetime) -> TaskRunQuerySet:
        """Scheduled or retrying runs whose time has come."""
        # One equality term per status, so each side can use its partial index.
        return self.filter(Q(status=Status.SCHEDULED, run_after__lte=now)
                           | Q(status=Status.RETRYING, run_after__lte=now))

    def next_due_at(self) -> datetime | None:
        """The earliest ``run_after`` of a waiting run (each status by its own index)."""
        times = [self.filter(status=status).order_by("run_after").values_list("run_after", flat=True).first()
                 for status in WAITING]
        return min((t for t in times if t is not None), default=None)

    def stale(self, now: datetime) -> TaskRunQuerySet:
        """Running runs whose worker stopped renewing the lease."""
        return self.filter(status=Status.RUNNING, lease_expires_at__lt=now)

    def held(self, reason: str, key: str) -> TaskRunQuerySet:
        """Held runs of one obstacle, in release order: higher priority, then oldest."""
        return self.filter(status=Status.HELD, hold_reason=reason, hold_key=key).order_by("-priority", "held_since")

    def hold(self, pk: Any, reason: str, key: str, now: datetime) -> bool:
        """A queued run may not start yet: it waits as ``held`` (no attempt, no message)."""
        return bool(self.filter(pk=pk, status=Status.QUEUED).update(
            status=Status.HELD, hold_reason=reason, hold_key=key[:300], held_since=now))

    def release(self, pks: Sequence[Any], now: datetime) -> int:
        """Held runs go back to ``queued``; the caller pushes them after commit
        (``dispatched_at`` lets the clock re-push a lost message)."""
        return self.filter(pk__in=list(pks), status=Status.HELD).update(
            status=Status.QUEUED, hold_reason=HoldReason.NONE, hold_key="", held_since=None, dispatched_at=now)

    def unclaimed(self, before: datetime) -> TaskRunQuerySet:
        """Queued runs pushed to the broker before ``before`` and never claimed."""
        return self.filter(status=Status.QUEUED, dispatched_at__lt=before)

    def claim(self, run_id: uuid.UUID | str, worker: str, lease_seconds: float) -> TaskRun | None:
        """Start the next attempt of a queued run; None when it is not claimable.

        The single conditional UPDATE is the whole concurrency story: of two deliveries of
        the same message only one can move the run from queued to running.
        """
        return self.claim_with(run_id, worker, lease_seconds)[0]

    def claim_with(self, run_id: uuid.UUID | str, worker: str, lease_seconds: float,
                   riders: Sequence[rowsql.Statement] = ()) -> tuple[TaskRun | None, list[int]]:
        """``claim()`` plus ``riders`` committed in the same transaction (one round trip on
        PostgreSQL); returns the run and each rider's rowcount. A worker rides the previous
        run's outcome on the claim (see runner).
        """
        from django.db import connection

        try:
            pk = self.model._meta.pk.get_db_prep_value(uuid.UUID(str(run_id)), connection)
        except ValueError:
            pk = None
        statements = list(riders)
        if pk is not None:
            # Queues with a global limit always go through admission (their runs are counted).
            limited = limited_queues()
            jump = priority_mix.mixed()
            queued = Status.QUEUED.value
            params = [*rowsql.claim_params(worker, lease_seconds, timezone.now()),
                      *([pk, pk, queued] if jump else []), pk, queued, *limited]
            sql = rowsql.text(("claim", len(limited), jump), lambda: rowsql.plain_claim_sql(
                self.model, pause_table(), len(limited), jump))
            statements.insert(0, (sql, params))
        results = rowsql.run(statements)
        if pk is None:
            return None, [count for count, _ in results]
        (_, rows), *rest = results
        run = rowsql.from_row(self.model, rows[0]) if rows else None
        return run, [count for count, _ in rest]
