"""``AuditEvent``: one row per operator action, written in the same transaction as the action
(see ``taskboard.operations.audit``). Never updated; pruned only by age."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Via(models.TextChoices):
    UI = "ui", "dashboard"
    API = "api", "API"
    CLI = "cli", "command"
    ADMIN = "admin", "admin"
    SYSTEM = "system", "system"


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    via = models.CharField(max_length=8, choices=Via.choices)
    verb = models.CharField(max_length=64)
    # What the action named: run ids, a queue, a breaker, a schedule… (capped; ``count`` is
    # the true number) — or, for a bulk action chosen by filter, the filter itself.
    targets = models.JSONField(default=list, blank=True)
    filter = models.JSONField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_list"),
            models.Index(fields=["actor", "-at"], name="audit_actor"),
            models.Index(fields=["verb", "-at"], name="audit_verb"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} ({self.via}) {self.verb} ×{self.count}"


class AuditRun(models.Model):
    """Which runs an event touched, so a run's timeline and ``/api/audit/?run=`` find it by
    index (``targets`` is JSON and capped)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="runs")
    run_id = models.UUIDField()

    class Meta:
        indexes = [models.Index(fields=["run_id"], name="audit_run")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.run_id}"
