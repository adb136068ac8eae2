"""``DeadLetter``: a failed run waiting for an operator to replay or discard it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from taskboard.models.runs import TaskRun


class Resolution(models.TextChoices):
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetterQuerySet(models.QuerySet["DeadLetter"]):
    def unresolved(self) -> DeadLetterQuerySet:
        return self.filter(resolved_at__isnull=True)


class DeadLetter(models.Model):
    run = models.OneToOneField("taskboard.TaskRun", on_delete=models.CASCADE, related_name="dead_letter")
    task = models.CharField(max_length=255)
    # The failure fingerprint of the attempt that failed the run (``fingerprints``): with the
    # task, the group the dead_letter alert counts, read from an index alone.
    fingerprint = models.CharField(max_length=16, blank=True, default="")
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
        "taskboard.TaskRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
            # alerts: open dead letters of the last days grouped by task and fingerprint
            models.Index(fields=["created_at", "task", "fingerprint"], condition=Q(resolved_at__isnull=True),
                         name="dlq_open_groups"),
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

