"""``WorkerNode``: one ``taskboard_worker`` supervisor, its heartbeat and its clusters."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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

