"""``TaskAttempt``: one row per finished attempt of a run (outcome, error, traceback)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q

from taskboard.models.choices import Outcome

# A failure: an attempt that neither succeeded nor was cancelled by an operator (a cancel is a
# decision, not an error). The failure groups filter with exactly this condition
# (``readmodels.failures.FAILED_ATTEMPT``), so the partial index below can answer them.
FAILED = ~Q(outcome=Outcome.SUCCEEDED) & ~Q(outcome=Outcome.CANCELLED)
FAILED_OUTCOMES = frozenset(Outcome) - {Outcome.SUCCEEDED, Outcome.CANCELLED}


class TaskAttempt(models.Model):
    # No index of its own: the unique (run, number) index leads with the run and answers every
    # lookup by run, and one index fewer is one B-tree page fewer written per attempt.
    run = models.ForeignKey("taskboard.TaskRun", on_delete=models.CASCADE, related_name="attempt_set",
                            db_index=False)
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
            models.Index(fields=["finished_at", "fingerprint"], condition=FAILED, name="attempt_failures"),
        ]

    def __str__(self) -> str:
        return f"{self.task} attempt {self.number}: {self.outcome}"

    @property
    def duration(self) -> timedelta:
        return self.finished_at - self.started_at

    @property
    def is_error(self) -> bool:
        """A failure (``FAILED``): neither succeeded nor cancelled by an operator.

        A run's JSON ``errors`` still lists every attempt that did not succeed, cancels
        included (CONTRACT.md: ``kind`` may be ``cancelled``)."""
        return self.outcome in FAILED_OUTCOMES

    @property
    def summary(self) -> str:
        """``ExceptionClass: message``, as the run's ``last_error`` shows it."""
        return f"{self.exception.rsplit('.', 1)[-1]}: {self.message}"[:500]
