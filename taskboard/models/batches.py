"""``Batch``: a group of runs with aggregate state and completion callbacks.

The batch row keeps counters that the transitions of its children maintain in the same
transaction as each child's outcome (``models.outcomes``):

- ``total`` children (a replay of a failed child takes that child's place, it is not one more);
- ``open``: children not finished yet. The last child's outcome decrements it to 0 with a
  conditional ``UPDATE … RETURNING``; that UPDATE holds the batch row's lock until the outcome
  commits (PostgreSQL; SQLite writes one transaction at a time), so when the last two children
  finish at once on two hosts, the second waits for the first, re-reads ``open`` and is the one
  that sees 0. The callbacks are enqueued in that very transaction: exactly once, and never
  without the outcome that caused them (a crash before the commit loses both together);
- ``succeeded``, ``failed``, ``cancelled``: how the children ended (a replaced child no longer
  counts as failed or cancelled).

``waiting`` and ``running`` are not stored: every claim would write the batch row. They are
counted from the ``(batch, status)`` index of the children (``readmodels.batches``).

Callbacks follow Sidekiq's batches: ``on_complete`` is enqueued once, when every child has
finished for the first time, whatever the outcomes; ``on_success`` once, the first time every
child has finished with every one succeeded — possibly after failed children were replayed
into the batch (``replay-failed``), which re-opens a finished batch. Each receives
``batch_id=<id>`` and the batch's correlation id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, models
from django.utils import timezone

if TYPE_CHECKING:
    from taskboard.models.runs import TaskRun


class BatchClosed(Exception):
    """Children can only be added to an open batch (not finished, not cancelled)."""


class BatchQuerySet(models.QuerySet["Batch"]):
    def add_children(self, batch_id: uuid.UUID, count: int) -> None:
        """``count`` more children join an open batch (in the caller's transaction, with
        their rows). ``BatchClosed`` if it finished or was cancelled: a finished batch has
        already sent its callbacks, so a late child would run outside them."""
        from django.db.models import F

        added = self.filter(pk=batch_id, finished_at__isnull=True, cancelled_at__isnull=True).update(
            total=F("total") + count, open=F("open") + count)
        if not added:
            raise BatchClosed(f"batch {batch_id} is finished or cancelled; children can only be added "
                              "to an open batch")

    def child_finished(self, batch_id: uuid.UUID, status: str, count: int = 1, *,
                       now: datetime | None = None) -> Batch | None:
        """``count`` children ended in ``status``: count them, and when they were the last
        open ones, complete the batch (callbacks included). The batch when it completed."""
        q = connection.ops.quote_name
        table = q(Batch._meta.db_table)
        ended = {"succeeded": 0, "failed": 0, "cancelled": 0}
        ended[str(status)] = count
        sql = (f"UPDATE {table} SET {q('open')} = CASE WHEN {q('open')} > %s THEN {q('open')} - %s ELSE 0 END, "
               f"{q('succeeded')} = {q('succeeded')} + %s, {q('failed')} = {q('failed')} + %s, "
               f"{q('cancelled')} = {q('cancelled')} + %s "
               f"WHERE {q('id')} = %s RETURNING {q('open')}, {q('finished_at')}")
        pk = Batch._meta.pk.get_db_prep_value(batch_id, connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, [count, count, ended["succeeded"], ended["failed"], ended["cancelled"], pk])
            row = cursor.fetchone()
        if row is None or row[0] != 0 or row[1] is not None:
            return None
        # This outcome closed the last open child, and the row stays locked by the UPDATE
        # above until the commit: nobody else can complete it in between.
        batch = self.get(pk=batch_id)
        batch.complete(now or timezone.now())
        return batch

    def replace_child(self, old: TaskRun) -> bool:
        """A replay of ``old`` (a failed or cancelled child) takes its place in the batch,
        re-opening the batch if it had finished. False when ``old`` was replaced before (a
        second replay of one child runs outside the batch)."""
        from taskboard.models.runs import TaskRun

        if old.batch_id is None or TaskRun.objects.filter(replay_of=old, batch_id=old.batch_id).exists():
            return False
        q = connection.ops.quote_name
        column = q("failed") if old.status == "failed" else q("cancelled")
        sql = (f"UPDATE {q(Batch._meta.db_table)} SET {q('open')} = {q('open')} + 1, "
               f"{column} = CASE WHEN {column} > 0 THEN {column} - 1 ELSE 0 END, "
               f"{q('finished_at')} = NULL, {q('cancelled_at')} = NULL WHERE {q('id')} = %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [Batch._meta.pk.get_db_prep_value(old.batch_id, connection)])
            return bool(cursor.rowcount)


class Batch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, blank=True, default="")
    correlation_id = models.CharField(max_length=100, blank=True, default="",
                                      help_text="Given to every child and callback.")
    on_complete = models.CharField(max_length=255, blank=True, default="",
                                   help_text="Task enqueued once when every child has finished.")
    on_success = models.CharField(max_length=255, blank=True, default="",
                                  help_text="Task enqueued once when every child has succeeded.")
    total = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0, help_text="Children not finished yet.")
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When the last open child finished (cleared by a replay).")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True, default="")
    # The callback runs, once enqueued (ids, not foreign keys: pruning a run keeps the fact).
    on_complete_run = models.UUIDField(null=True, blank=True)
    on_success_run = models.UUIDField(null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "batches"
        indexes = [models.Index(fields=["-created_at", "-id"], name="batch_list")]

    def __str__(self) -> str:
        return self.name or str(self.id)

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def progress(self) -> int:
        """Percent of children finished (100 only when all are)."""
        if not self.total:
            return 0
        return min(100, self.finished * 100 // self.total)

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    def complete(self, now: datetime) -> None:
        """Every child has finished (the caller holds the row's lock): record it and enqueue
        the callbacks not sent before — ``on_complete`` once ever, ``on_success`` once the
        children all succeeded."""
        from taskboard.models import outcomes

        self.finished_at = now
        changed = ["finished_at"]
        arguments: dict[str, Any] = {"batch_id": str(self.pk)}
        if self.on_complete and self.on_complete_run is None:
            self.on_complete_run = outcomes.enqueue_callback(
                self.on_complete, arguments, correlation_id=self.correlation_id,
                cause=f"on_complete of batch {self.pk}")
            changed.append("on_complete_run")
        if self.on_success and self.on_success_run is None and self.failed == 0 and self.cancelled == 0:
            self.on_success_run = outcomes.enqueue_callback(
                self.on_success, arguments, correlation_id=self.correlation_id,
                cause=f"on_success of batch {self.pk}")
            changed.append("on_success_run")
        self.save(update_fields=changed)

    def cancel_children(self, by: str, now: datetime | None = None) -> tuple[list[TaskRun], int]:
        """Cancel every waiting child at once and ask every running one to stop; children
        may no longer be added. Returns the cancelled runs and how many running ones were
        asked. Call inside a transaction.

        Running children are asked first: a worker recording one of their outcomes locks
        that run, then this batch row; taking the run rows before the batch row here keeps
        the two lock orders the same (no deadlock)."""
        from taskboard.models import outcomes
        from taskboard.models.choices import OPEN, Status
        from taskboard.models.runs import TaskRun

        now = now or timezone.now()
        running = TaskRun.objects.filter(batch=self, status=Status.RUNNING, cancel_requested=False)
        asked = running.update(cancel_requested=True, cancel_requested_by=by)
        waiting_statuses = [s for s in OPEN if s != Status.RUNNING]
        children = TaskRun.objects.filter(batch=self, status__in=waiting_statuses)
        if connection.features.has_select_for_update:
            children = children.select_for_update()
        waiting = list(children.order_by("pk"))
        changes = {"status": Status.CANCELLED, "cancel_requested": True, "cancel_requested_by": by,
                   "finished_at": now}
        # Locked above (SQLite: the transaction is exclusive), so every one of them changes.
        for start in range(0, len(waiting), 5000):
            TaskRun.objects.filter(pk__in=[run.pk for run in waiting[start:start + 5000]]).update(**changes)
        # A child claimed between the first UPDATE and the lock above is running now: ask it too.
        asked += running.update(cancel_requested=True, cancel_requested_by=by)
        for run in waiting:
            for name, value in changes.items():
                setattr(run, name, value)
            if run.hooks:
                outcomes.run_hooks(run)
        Batch.objects.filter(pk=self.pk).update(cancelled_at=now, cancelled_by=by[:150])
        self.cancelled_at, self.cancelled_by = now, by[:150]
        if waiting:
            Batch.objects.child_finished(self.pk, Status.CANCELLED, len(waiting), now=now)
        self.refresh_from_db()
        return waiting, asked
