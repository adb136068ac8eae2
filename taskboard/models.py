"""Runs, attempts and dead letters: the source of truth.

django-q2 only ever carries a run id. Every change of a run's state is a conditional UPDATE
here (``status in (...)`` and, for a running run, the attempt number), so a duplicate or late
message, a second dispatcher or a worker that lost its lease can never apply a stale outcome.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from taskboard import rowsql
from taskboard.retry import Backoff, ErrorKind, should_retry


class Status(models.TextChoices):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


WAITING = (Status.SCHEDULED, Status.RETRYING)
OPEN = (Status.QUEUED, Status.SCHEDULED, Status.RUNNING, Status.RETRYING)
FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
REPLAYABLE = (Status.FAILED, Status.CANCELLED)


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    RETRYABLE = ErrorKind.RETRYABLE.value
    PERMANENT = ErrorKind.PERMANENT.value
    TIMEOUT = ErrorKind.TIMEOUT.value
    CANCELLED = ErrorKind.CANCELLED.value
    LOST = ErrorKind.LOST.value


ERROR_OUTCOMES = [o.value for o in Outcome if o != Outcome.SUCCEEDED]

_FINGERPRINT_PATTERNS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "?"),  # quoted values
    (re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I), "#"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "#"),
    (re.compile(r"\d+(\.\d+)?"), "#"),  # numbers and ids
    (re.compile(r"\s+"), " "),
]


def normalise_message(message: str) -> str:
    text = message[:2000]
    for pattern, replacement in _FINGERPRINT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text.strip()


def fingerprint(task: str, exception: str, message: str) -> str:
    """Groups failures that differ only in numbers, ids and quoted values."""
    key = "\x1f".join((task, exception, normalise_message(message)))
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]


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
            pk = TaskRun._meta.pk.get_db_prep_value(uuid.UUID(str(run_id)), connection)
        except ValueError:
            pk = None
        now = timezone.now()
        ops = connection.ops
        stamp = ops.adapt_datetimefield_value(now)
        statements = list(riders)
        if pk is not None:
            params = [Status.RUNNING.value, stamp, stamp, stamp,
                      ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds)), worker,
                      pk, Status.QUEUED.value]
            statements.insert(0, (rowsql.text("claim", _claim_sql), params))
        results = rowsql.run(statements)
        if pk is None:
            return None, [count for count, _ in results]
        (_, rows), *rest = results
        run = rowsql.from_row(TaskRun, rows[0]) if rows else None
        return run, [count for count, _ in rest]  # type: ignore[return-value]


def _claim_sql() -> str:
    # UPDATE … RETURNING (PostgreSQL, SQLite >= 3.35) claims and reads the row in one
    # statement, without the query compiler (see rowsql).
    from django.db import connection

    q = connection.ops.quote_name
    return (
        f"UPDATE {q(TaskRun._meta.db_table)} SET {q('status')} = %s, {q('attempts')} = {q('attempts')} + 1, "
        f"{q('started_at')} = COALESCE({q('started_at')}, %s), {q('claimed_at')} = %s, "
        f"{q('heartbeat_at')} = %s, {q('lease_expires_at')} = %s, {q('worker')} = %s "
        f"WHERE {q('id')} = %s AND {q('status')} = %s RETURNING {rowsql.returning_columns(TaskRun)}"
    )


class TaskRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=255, help_text="Dotted path of the task function.")
    queue = models.CharField(max_length=64, default="default")
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

    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL = no key, unique otherwise

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
            models.Index(fields=["finished_at"], name="run_finished"),
            # run detail: a run's replays newest first (SQLite otherwise walks run_list)
            models.Index(fields=["replay_of", "-enqueued_at"], name="run_replays"),
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

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

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
        count = rowsql.run(self.success_statements(attempt, result))[-1][0]
        if count:
            self._succeeded(attempt, result)
        return bool(count)

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
        if connection.vendor == "postgresql":
            insert = rowsql.text("success-insert", lambda: _attempt_insert_sql("FROM done", fields))
            return [(f"WITH done AS ({sql} RETURNING 1) {insert}", params + values)]
        insert = rowsql.text("success-insert", lambda: _attempt_insert_sql("WHERE changes() = 1", fields))
        return [(sql, params), (insert, values)]

    def _succeeded(self, attempt: TaskAttempt, result: Any) -> None:
        self.status, self.result, self.progress = Status.SUCCEEDED, result, 100
        self.finished_at, self.lease_expires_at = attempt.finished_at, None

    def record_failure(self, attempt: TaskAttempt, *, from_statuses: Iterable[str] = (Status.RUNNING,),
                       now: datetime | None = None) -> bool:
        """Store a failed attempt, then retry after backoff or fail with a dead letter."""
        now = now or timezone.now()
        kind = ErrorKind(attempt.outcome)
        summary = f"{attempt.exception.rsplit('.', 1)[-1]}: {attempt.message}"[:500]
        with transaction.atomic():
            if kind == ErrorKind.CANCELLED:
                done = self._transition(
                    from_statuses, attempt.number,
                    status=Status.CANCELLED, finished_at=now, lease_expires_at=None,
                    last_error=summary,
                )
            elif should_retry(kind, attempt.number, self.max_attempts):
                delay = Backoff.from_dict(self.backoff).delay(attempt.number)
                attempt.retry_at = now + timedelta(seconds=delay)
                done = self._transition(
                    from_statuses, attempt.number,
                    status=Status.RETRYING, run_after=attempt.retry_at,
                    lease_expires_at=None, last_error=summary,
                )
            else:
                done = self._transition(
                    from_statuses, attempt.number,
                    status=Status.FAILED, finished_at=now, lease_expires_at=None,
                    last_error=summary,
                )
                if done:
                    if kind in (ErrorKind.PERMANENT, ErrorKind.CANCELLED):
                        reason = f"{kind.value} error: {summary}"
                    else:
                        reason = (f"gave up after {attempt.number} of {self.max_attempts} attempts; "
                                  f"last: {kind.value} {summary}")
                    DeadLetter.objects.create(run=self, task=self.task, reason=reason[:1000], created_at=now)
            if done:
                rowsql.insert(attempt)
            return done

    def declare_lost(self, now: datetime) -> bool:
        """The worker stopped heartbeating: record a lost attempt and retry or fail."""
        attempt = TaskAttempt(
            run=self, task=self.task, number=self.attempts, outcome=Outcome.LOST,
            exception="taskboard.exceptions.WorkerLost",
            message=f"worker {self.worker or '?'} stopped renewing its lease",
            started_at=self.claimed_at or now, finished_at=now, worker=self.worker,
        )
        attempt.fingerprint = fingerprint(self.task, attempt.exception, attempt.message)
        qs_ok = TaskRun.objects.filter(pk=self.pk, lease_expires_at__lt=now).exists()
        return qs_ok and self.record_failure(attempt, now=now)

    def cancel_waiting(self, by: str) -> bool:
        """Cancel a run that is not executing: immediate and final."""
        now = timezone.now()
        return self._transition(
            [Status.QUEUED, Status.SCHEDULED, Status.RETRYING],
            status=Status.CANCELLED, cancel_requested=True, cancel_requested_by=by,
            finished_at=now,
        )

    def request_cancel(self, by: str) -> bool:
        """Ask the worker running this run to stop; it records the cancelled attempt."""
        return self._transition(
            [Status.RUNNING], cancel_requested=True, cancel_requested_by=by
        )

    def mark_dispatched(self) -> None:
        self.dispatched_at = timezone.now()
        TaskRun.objects.filter(pk=self.pk).update(dispatched_at=self.dispatched_at)


class TaskAttempt(models.Model):
    run = models.ForeignKey(TaskRun, on_delete=models.CASCADE, related_name="attempt_set")
    task = models.CharField(max_length=255)
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    exception = models.CharField(max_length=255, blank=True, default="")
    message = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    fingerprint = models.CharField(max_length=16, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    worker = models.CharField(max_length=200, blank=True, default="")
    retry_at = models.DateTimeField(null=True, blank=True, help_text="When the retry was due.")

    class Meta:
        ordering = ["run_id", "number"]  # not "run": that would JOIN runs to sort by their ordering
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="attempt_run_number"),
        ]
        indexes = [
            models.Index(fields=["outcome", "finished_at"], name="attempt_outcome_time"),
            models.Index(fields=["fingerprint", "finished_at"], name="attempt_fingerprint"),
            models.Index(fields=["task", "finished_at"], name="attempt_task_time"),
            # dashboard: failure groups and the latest failures (a range of failed attempts,
            # grouped by fingerprint, answered from the index alone)
            models.Index(fields=["finished_at", "fingerprint"], condition=~Q(outcome="succeeded"),
                         name="attempt_failures"),
        ]

    def __str__(self) -> str:
        return f"{self.task} attempt {self.number}: {self.outcome}"

    @property
    def duration(self) -> timedelta:
        return self.finished_at - self.started_at

    @property
    def is_error(self) -> bool:
        return self.outcome != Outcome.SUCCEEDED


def _attempt_insert_sql(tail: str, fields: Sequence[models.Field]) -> str:
    """``INSERT INTO attempt (…) SELECT %s, … <tail>``: an attempt row written conditionally."""
    from django.db import connection

    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in fields)
    return (f"INSERT INTO {q(TaskAttempt._meta.db_table)} ({columns}) "
            f"SELECT {', '.join(['%s'] * len(fields))} {tail}")


class Resolution(models.TextChoices):
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterQuerySet(models.QuerySet["DeadLetter"]):
    def unresolved(self) -> DeadLetterQuerySet:
        return self.filter(resolved_at__isnull=True)


class DeadLetter(models.Model):
    run = models.OneToOneField(TaskRun, on_delete=models.CASCADE, related_name="dead_letter")
    task = models.CharField(max_length=255)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_by_name = models.CharField(max_length=150, blank=True, default="")
    replay_run = models.ForeignKey(
        TaskRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = DeadLetterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["resolved_at", "-created_at", "-id"], name="dlq_open_list"),
            models.Index(fields=["task", "resolved_at", "-created_at"], name="dlq_task_list"),
            # admin: every entry newest first
            models.Index(fields=["-created_at", "-id"], name="dlq_recent"),
            # dashboard: the open list newest first, plain and per task (a NULL test on the
            # leading column does not let PostgreSQL use the indexes above for this order)
            models.Index(fields=["-created_at", "-id"], condition=Q(resolved_at__isnull=True),
                         name="dlq_open_recent"),
            models.Index(fields=["task", "-created_at", "-id"], condition=Q(resolved_at__isnull=True),
                         name="dlq_open_task"),
            # dashboard: resolved entries, most recently resolved first
            models.Index(fields=["-resolved_at", "-id"], condition=Q(resolved_at__isnull=False),
                         name="dlq_resolved_list"),
        ]
        permissions = [("discard_deadletter", "Can discard dead letters")]

    def __str__(self) -> str:
        return f"dead letter {self.pk} ({self.task})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def resolve(self, resolution: Resolution, by_name: str, by_user: Any = None,
                replay_run: TaskRun | None = None) -> bool:
        """Close an open dead letter; False if someone else resolved it first."""
        now = timezone.now()
        updated = DeadLetter.objects.filter(pk=self.pk, resolved_at__isnull=True).update(
            resolved_at=now, resolution=resolution, resolved_by=by_user,
            resolved_by_name=by_name, replay_run=replay_run,
        )
        if updated:
            self.resolved_at, self.resolution = now, resolution
            self.resolved_by, self.resolved_by_name, self.replay_run = by_user, by_name, replay_run
        return bool(updated)


class WorkerNode(models.Model):
    """One ``taskboard_worker`` process (cluster + dispatcher) on some host."""

    id = models.CharField(max_length=32, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    cluster_pids = models.JSONField(default=dict, help_text="Worker pids per queue.")
    restarts = models.PositiveIntegerField(default=0)
    last_restart_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["last_seen"], name="workernode_seen")]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class ApiToken(models.Model):
    """A bearer token for the JSON API and /metrics. Only a SHA-256 of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="taskboard_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
