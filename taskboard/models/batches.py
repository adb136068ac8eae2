"""``Batch``: a group of runs with aggregate state (see ``taskboard.schedules.batches``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Batch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return self.name or str(self.id)
