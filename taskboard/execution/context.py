"""What a running task sees: ``TaskboardContext`` (``django.tasks``' ``TaskContext`` plus
checkpoint, progress and cooperative cancellation).

Its cooperative calls raise a pending interrupt at a safe point; the interrupt itself lives
in ``interrupt.AttemptControl``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.tasks import TaskContext

from taskboard.backend.jsonvalues import to_json
from taskboard.execution.interrupt import AttemptControl
from taskboard.models import Batch


# Frozen like Django's TaskContext at runtime; django-stubs declares that one non-frozen.
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskboardContext(TaskContext):  # type: ignore[misc]
    run_id: str
    checkpoint: Any
    control: AttemptControl = field(repr=False)
    log: Any = field(repr=False)

    @property
    def correlation_id(self) -> str:
        """What the runs this task enqueues inherit: its run's correlation id, or its run id."""
        return self.control.run.correlation_id or self.run_id

    @property
    def batch(self) -> Batch | None:
        """The batch this run belongs to, or None. ``taskboard.bulk.enqueue_many(task, items,
        batch=context.batch)`` adds children to it (the batch cannot complete meanwhile: this
        run is one of its open children)."""
        run = self.control.run
        return Batch.objects.filter(pk=run.batch_id).first() if run.batch_id is not None else None

    def raise_if_cancelled(self) -> None:
        """Raise ``TaskCancelled`` (or ``TaskTimedOut``) if the run must stop now."""
        self.control.raise_pending()

    def save_checkpoint(self, value: Any) -> None:
        """Persist JSON state; a later attempt (after a crash or retry) starts from it."""
        self.raise_if_cancelled()
        try:
            value, _ = to_json(value, "checkpoint")
        except (TypeError, ValueError) as exc:
            raise TypeError(f"checkpoint must be a JSON value: {exc}") from None
        with self.control.shielded():
            self.control.run.save_checkpoint(self.control.number, value)
        object.__setattr__(self, "checkpoint", value)

    def progress(self, percent: float, message: str = "") -> None:
        """Report progress (0–100). Writes are coalesced; the newest value always lands."""
        self.raise_if_cancelled()
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise TypeError("progress percent must be a number")
        if not math.isfinite(percent):
            raise ValueError("progress percent must be finite")
        value = max(0, min(100, round(percent)))
        control = self.control
        with control.lock:
            control.pending_progress = (value, str(message)[:255])
        with control.shielded():
            control.flush_progress()
