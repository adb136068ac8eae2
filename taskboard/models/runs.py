"""``TaskRun``: one row per run, and every change of its state as a named transition.

django-q2 only ever carries a run id. Every transition is a conditional UPDATE
(``status in (...)`` and, for a running run, the attempt number), so a duplicate or late
message, a second dispatcher or a worker that lost its lease can never apply a stale outcome.
A failed attempt ends in exactly one of three exits: ``schedule_retry``,
``fail_to_dead_letter`` or ``finish_cancelled``; ``settle_failure`` picks which.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from taskboard.models import outcomes, priority_mix, sqlitelock
from taskboard.models import sql as rowsql
from taskboard.models.attempts import TaskAttempt
from taskboard.models.backoff import Backoff
from taskboard.models.choices import (
    FINISHED,
    RETRYABLE_OUTCOMES,
    HoldReason,
    Outcome,
    Status,
    should_retry,
)
from taskboard.models.dead_letters import DeadLetter
from taskboard.models.fingerprints import fingerprint
from taskboard.models.run_queries import TaskRunQuerySet


class TaskRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=255, help_text="Dotted path of the task function.")
    queue = models.CharField(max_length=64, default="default")
    # The TASKS alias the run was enqueued through: its TaskResult names it, and a plain
    # django.tasks Task routed here with .using(backend=…) is executed by that backend.
    backend = models.CharField(max_length=100, default="default")
    priority = models.SmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)

    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    backoff = models.JSONField(default=dict, blank=True, help_text="Backoff parameters.")
    timeout = models.FloatField(null=True, blank=True, help_text="Seconds per attempt.")

    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=255, blank=True, default="")
    checkpoint = models.JSONField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancel_requested_by = models.CharField(max_length=150, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")

    enqueued_at = models.DateTimeField(default=timezone.now)
    run_after = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="First attempt start.")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="Latest attempt start.")
    finished_at = models.DateTimeField(null=True, blank=True)

    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")

    # No index of its own: ``run_replays`` (partial) serves every lookup by it, and a full
    # index would be written by every enqueue for the rows that are no replay.
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays", db_index=False,
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL = no key, unique otherwise

    # Flow control, resolved at enqueue from the task's options so that admission is decided
    # from the row alone ("" / None = no such constraint; see taskboard.flow).
    concurrency_key = models.CharField(max_length=255, blank=True, default="")
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_key = models.CharField(max_length=255, blank=True, default="")
    rate_limit = models.CharField(max_length=20, blank=True, default="", help_text="N/s, N/m or N/h.")
    breaker = models.CharField(max_length=100, blank=True, default="")
    hold_reason = models.CharField(max_length=16, choices=HoldReason.choices, blank=True, default="")
    hold_key = models.CharField(max_length=300, blank=True, default="")
    held_since = models.DateTimeField(null=True, blank=True)

    # Where the run came from: the schedule that fired it (its name, kept if the schedule is
    # removed), the batch it belongs to, and the correlation id it shares with the runs that
    # enqueued it or that it enqueued ("" = none).
    schedule = models.CharField(max_length=100, blank=True, default="")
    batch = models.ForeignKey("taskboard.Batch", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="runs", db_index=False)  # run_batch, run_batch_list
    correlation_id = models.CharField(max_length=100, blank=True, default="")
    # The task's hooks as enqueued ({"on_success": "app.tasks.x", …}; None = none), so that the
    # run's end sets them off from the row alone, wherever it ends (see models.outcomes).
    hooks = models.JSONField(null=True, blank=True)

    objects = TaskRunQuerySet.as_manager()

    class Meta:
        ordering = ["-enqueued_at", "-id"]
        indexes = [
            # keyset pagination of the run list, plain and per filter
            models.Index(fields=["-enqueued_at", "-id"], name="run_list"),
            models.Index(fields=["status", "-enqueued_at", "-id"], name="run_status_list"),
            models.Index(fields=["task", "-enqueued_at", "-id"], name="run_task_list"),
            models.Index(fields=["queue", "-enqueued_at", "-id"], name="run_queue_list"),
            # dispatcher: due scheduled/retrying runs, expired leases, unclaimed messages.
            # Partial: every claim and outcome changes a run's status, and an index that
            # holds only the runs in one status is not rewritten by those writes. (SQLite
            # matches a partial index to ``status = ?`` with its bound value, not to IN.)
            models.Index(fields=["run_after"], name="run_scheduled", condition=Q(status="scheduled")),
            models.Index(fields=["run_after"], name="run_retrying", condition=Q(status="retrying")),
            models.Index(fields=["status", "lease_expires_at"], name="run_lease",
                         condition=Q(status="running")),
            models.Index(fields=["status", "queue", "dispatched_at"], name="run_dispatched",
                         condition=Q(status="queued")),
            # Partial (as run_replays): every query has a range on finished_at, which implies
            # NOT NULL on both databases, and an enqueue then writes neither index.
            models.Index(fields=["finished_at"], name="run_finished", condition=Q(finished_at__isnull=False)),
            # run detail: a run's replays newest first (SQLite otherwise walks run_list)
            models.Index(fields=["replay_of", "-enqueued_at"], name="run_replays",
                         condition=Q(replay_of__isnull=False)),
            # flow control: running/open runs of a concurrency key (admission, release,
            # on_limit="reject"); held runs of a key in release order; the queued backlog of a
            # queue by priority (the claim takes its best run); running runs of a queue
            # (per-queue limits).
            models.Index(fields=["concurrency_key", "status"], name="run_concurrency",
                         condition=~Q(concurrency_key="")),
            models.Index(fields=["hold_reason", "hold_key", "-priority", "held_since"], name="run_held",
                         condition=Q(status="held")),
            models.Index(fields=["queue", "-priority", "enqueued_at"], name="run_queued_priority",
                         condition=Q(status="queued")),
            models.Index(fields=["queue"], name="run_running_queue", condition=Q(status="running")),
            # origin: a schedule's last runs, a batch's children by status, a correlation id
            models.Index(fields=["schedule", "-enqueued_at"], name="run_schedule",
                         condition=~Q(schedule="")),
            models.Index(fields=["batch", "status"], name="run_batch", condition=Q(batch__isnull=False)),
            models.Index(fields=["batch", "-enqueued_at", "-id"], name="run_batch_list",
                         condition=Q(batch__isnull=False)),
            models.Index(fields=["correlation_id", "-enqueued_at"], name="run_correlation",
                         condition=~Q(correlation_id="")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="run_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="run_progress_range"
            ),
        ]
        permissions = [
            ("cancel_taskrun", "Can cancel task runs"),
            ("replay_taskrun", "Can replay task runs"),
            ("enqueue_taskrun", "Can enqueue task runs"),
        ]

    def __str__(self) -> str:
        return f"{self.task} [{self.status}] {self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A claim in this process must see a new priority at once (see priority_mix).
        priority_mix.note((self.priority,))
        super().save(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def has_effects(self) -> bool:
        """Its end sets off more than its own row: hooks or a batch (``models.outcomes``)."""
        return self.batch_id is not None or bool(self.hooks)

    @property
    def queue_wait(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return self.started_at - self.enqueued_at

    @property
    def run_time(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    # --- state transitions --------------------------------------------------------------

    def _transition(self, from_statuses: Iterable[str], attempt: int | None = None,
                    **changes: Any) -> bool:
        where: dict[str, Any] = {"status": [str(s) for s in from_statuses]}
        if attempt is not None:
            where["attempts"] = attempt
        if not rowsql.update(TaskRun, self.pk, changes, where):
            return False
        for name, value in changes.items():
            setattr(self, name, value)
        return True

    def renew_lease(self, attempt: int, lease_seconds: float) -> bool:
        now = timezone.now()
        return self._transition(
            [Status.RUNNING], attempt,
            heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds),
        )

    def save_progress(self, attempt: int, percent: int, message: str) -> bool:
        return self._transition(
            [Status.RUNNING], attempt, progress=percent, progress_message=message[:255]
        )

    def save_checkpoint(self, attempt: int, checkpoint: Any) -> bool:
        return self._transition([Status.RUNNING], attempt, checkpoint=checkpoint)

    def succeed(self, attempt: TaskAttempt, result: Any) -> bool:
        """Store the result and the attempt row, if this is still the attempt that runs."""
        return bool(self.commit_success(attempt, result, self.success_statements(attempt, result))[-1])

    def commit_success(self, attempt: TaskAttempt, result: Any, statements: list[rowsql.Statement]) -> list[int]:
        """Run ``success_statements``; each one's rowcount (the last is 1 when it applied).

        A run with effects (hooks, a batch) commits them in the same transaction as its
        outcome; a plain one is just the statements (the worker may ride them on its next
        claim instead, see ``execution.outbox``).
        """
        from django.db import connection

        if not self.has_effects:
            counts = [count for count, _ in rowsql.run(statements)]
            if counts[-1]:
                self._succeeded(attempt, result)
            return counts
        with sqlitelock.write_turn(connection), transaction.atomic():
            counts = [count for count, _ in rowsql.run(statements)]
            if counts[-1]:
                self._succeeded(attempt, result)
                outcomes.run_ended(self)
        return counts

    def success_statements(self, attempt: TaskAttempt, result: Any) -> list[rowsql.Statement]:
        """``succeed()`` as statements; the last one's rowcount is 1 when it applied.

        The attempt row is inserted only if the conditional UPDATE matched, inside the same
        statements (a CTE on PostgreSQL, ``changes()`` on SQLite), so they can ride on another
        transaction (the next claim) without a round trip in between.
        """
        from django.db import connection

        sql, params = rowsql.update_statement(TaskRun, self.pk, {
            "status": Status.SUCCEEDED, "result": result, "progress": 100,
            "finished_at": attempt.finished_at, "lease_expires_at": None,
        }, {"status": Status.RUNNING, "attempts": attempt.number})
        fields = rowsql.insert_fields(TaskAttempt)
        values = rowsql.insert_values(attempt, fields)
        # A breaker-guarded run's call is recorded in the same transaction, before the run's
        # UPDATE and only if that UPDATE will apply (the run is still in this attempt).
        before = [self._breaker_call_statement(attempt)] if self.breaker else []
        if connection.vendor == "postgresql":
            insert = rowsql.text("success-insert",
                                 lambda: rowsql.conditional_insert_sql(TaskAttempt, "FROM done", fields))
            return [*before, (f"WITH done AS ({sql} RETURNING 1) {insert}", params + values)]
        insert = rowsql.text("success-insert",
                             lambda: rowsql.conditional_insert_sql(TaskAttempt, "WHERE changes() = 1", fields))
        return [*before, (sql, params), (insert, values)]

    def _breaker_call_statement(self, attempt: TaskAttempt) -> rowsql.Statement:
        from django.db import connection

        from taskboard.models.flow import BreakerCall

        q = connection.ops.quote_name
        sql = rowsql.text("breaker-call", lambda: (
            f"INSERT INTO {q(BreakerCall._meta.db_table)} ({q('breaker')}, {q('at')}, {q('failed')}) "
            f"SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM {q(TaskRun._meta.db_table)} "
            f"WHERE {q('id')} = %s AND {rowsql.guard(q('status'))} AND {rowsql.guard(q('attempts'))})"))
        failed = attempt.outcome in RETRYABLE_OUTCOMES
        return sql, [self.breaker, connection.ops.adapt_datetimefield_value(attempt.finished_at), failed,
                     TaskRun._meta.pk.get_db_prep_value(self.pk, connection), Status.RUNNING.value,
                     attempt.number]

    def _succeeded(self, attempt: TaskAttempt, result: Any) -> None:
        self.status, self.result, self.progress = Status.SUCCEEDED, result, 100
        self.finished_at, self.lease_expires_at = attempt.finished_at, None

    def settle_failure(self, attempt: TaskAttempt, *, from_statuses: Iterable[str] = (Status.RUNNING,),
                       now: datetime | None = None) -> bool:
        """Store a failed attempt and take the exit its outcome calls for: a cancel ends the
        run, a retryable failure with attempts left waits for its backoff, anything else
        fails the run with a dead letter. False when the run is no longer in that attempt."""
        now = now or timezone.now()
        if attempt.outcome == Outcome.CANCELLED:
            return self.finish_cancelled(attempt, from_statuses=from_statuses, now=now)
        if should_retry(attempt.outcome, attempt.number, self.max_attempts):
            return self.schedule_retry(attempt, from_statuses=from_statuses, now=now)
        return self.fail_to_dead_letter(attempt, from_statuses=from_statuses, now=now)

    def finish_cancelled(self, attempt: TaskAttempt, *, from_statuses: Iterable[str] = (Status.RUNNING,),
                         now: datetime | None = None) -> bool:
        """The attempt was stopped by an operator's cancel: the run ends, never retried."""
        now = now or timezone.now()
        with transaction.atomic() if self.has_effects else nullcontext():
            done = self._finish_attempt(attempt, from_statuses, status=Status.CANCELLED, finished_at=now,
                                        lease_expires_at=None, last_error=attempt.summary)
            if done and self.has_effects:
                outcomes.run_ended(self)
            return done

    def schedule_retry(self, attempt: TaskAttempt, *, from_statuses: Iterable[str] = (Status.RUNNING,),
                       now: datetime | None = None) -> bool:
        """Wait for the backoff of ``attempt``, then the dispatcher queues the next one."""
        now = now or timezone.now()
        attempt.retry_at = now + timedelta(seconds=Backoff.from_dict(self.backoff).delay(attempt.number))
        return self._finish_attempt(attempt, from_statuses, status=Status.RETRYING,
                                    run_after=attempt.retry_at, lease_expires_at=None,
                                    last_error=attempt.summary)

    def fail_to_dead_letter(self, attempt: TaskAttempt, *, from_statuses: Iterable[str] = (Status.RUNNING,),
                            now: datetime | None = None) -> bool:
        """The run is over: ``failed``, with a dead letter saying why, in one transaction."""
        now = now or timezone.now()
        with transaction.atomic():
            done = self._finish_attempt(attempt, from_statuses, status=Status.FAILED, finished_at=now,
                                        lease_expires_at=None, last_error=attempt.summary)
            if done:
                DeadLetter.objects.create(run=self, task=self.task, reason=self._give_up_reason(attempt),
                                          fingerprint=attempt.fingerprint, created_at=now)
                if self.has_effects:
                    outcomes.run_ended(self)
            return done

    def _give_up_reason(self, attempt: TaskAttempt) -> str:
        if attempt.outcome == Outcome.PERMANENT:
            reason = f"{attempt.outcome} error: {attempt.summary}"
        else:
            reason = (f"gave up after {attempt.number} of {self.max_attempts} attempts; "
                      f"last: {attempt.outcome} {attempt.summary}")
        return reason[:1000]

    def _finish_attempt(self, attempt: TaskAttempt, from_statuses: Iterable[str], **changes: Any) -> bool:
        # The run's transition and the attempt row commit together, or neither does.
        with transaction.atomic():
            done = self._transition(from_statuses, attempt.number, **changes)
            if done:
                rowsql.insert(attempt)
                if self.breaker and attempt.outcome != Outcome.CANCELLED:
                    # Retryable, timeout and lost are the dependency's failures; a permanent
                    # error is the task's own (the dependency answered): a successful call.
                    from taskboard.models.flow import BreakerCall

                    BreakerCall.objects.create(breaker=self.breaker, at=attempt.finished_at or timezone.now(),
                                               failed=attempt.outcome in RETRYABLE_OUTCOMES)
            return done

    def declare_lost(self, now: datetime) -> bool:
        """The worker stopped heartbeating: record a lost attempt and retry or fail."""
        # Re-read: the lease may have been renewed since this row was loaded.
        expired = TaskRun.objects.filter(pk=self.pk, lease_expires_at__lt=now).exists()
        return expired and self.declare_dead(f"worker {self.worker or '?'} stopped renewing its lease", now)

    def declare_dead(self, message: str, now: datetime | None = None) -> bool:
        """The worker process of the attempt in progress is gone (``message`` says how):
        record a ``lost`` attempt, then retry or fail like any retryable failure."""
        now = now or timezone.now()
        exception = "taskboard.exceptions.WorkerLost"
        attempt = TaskAttempt(
            run=self, task=self.task, number=self.attempts, outcome=Outcome.LOST,
            exception=exception, message=message, fingerprint=fingerprint(self.task, exception, message),
            started_at=self.claimed_at or now, finished_at=now, worker=self.worker,
        )
        return self.settle_failure(attempt, now=now)

    def cancel_waiting(self, by: str) -> bool:
        """Cancel a run that is not executing: immediate and final."""
        now = timezone.now()
        with transaction.atomic() if self.has_effects else nullcontext():
            done = self._transition(
                [Status.QUEUED, Status.SCHEDULED, Status.RETRYING, Status.HELD],
                status=Status.CANCELLED, cancel_requested=True, cancel_requested_by=by,
                finished_at=now,
            )
            if done and self.has_effects:
                outcomes.run_ended(self)
            return done

    def start_now(self, waiting: Status) -> bool:
        """An operator's "Retry now" / "Run now": a run still ``waiting`` (retrying or
        scheduled) is queued at once, skipping the rest of its backoff or delay. The caller
        pushes it after commit; ``dispatched_at`` lets the clock re-push a lost message."""
        now = timezone.now()
        return self._transition([waiting], status=Status.QUEUED, run_after=now, dispatched_at=now)

    def request_cancel(self, by: str) -> bool:
        """Ask the worker running this run to stop; it records the cancelled attempt."""
        return self._transition(
            [Status.RUNNING], cancel_requested=True, cancel_requested_by=by
        )
