"""One small table: what the bare view inserts a row into per request."""

from __future__ import annotations

import uuid

from django.db import models


class BareRow(models.Model):
    # A UUID key and a JSON column, like a run's, so the insert is not cheaper by construction.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    task = models.CharField(max_length=255)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.task} {self.id}"
