"""The vocabularies of a run's life: statuses, the sets they form, attempt outcomes.

``Outcome`` is both what an attempt row stores and how the runner classifies a failure
(``retryable``/``permanent``/``timeout``/``cancelled``/``lost``): one enum, so the API's
``errors[].kind`` and the stored column cannot drift apart.
"""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    RETRYING = "retrying"
    # Waiting for admission (a slot, a rate window, a closed breaker, a resumed queue/task);
    # it consumes no attempt and has no broker message until it is released to queued.
    HELD = "held"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


WAITING = (Status.SCHEDULED, Status.RETRYING)
OPEN = (Status.QUEUED, Status.SCHEDULED, Status.RUNNING, Status.RETRYING, Status.HELD)
FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
REPLAYABLE = (Status.FAILED, Status.CANCELLED)


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    LOST = "lost"


ERROR_OUTCOMES = [o.value for o in Outcome if o != Outcome.SUCCEEDED]

# Outcomes that may be retried when attempts remain. A cancel is an operator's decision and
# is never undone by a retry; a permanent error would fail the same way again.
RETRYABLE_OUTCOMES = frozenset({Outcome.RETRYABLE, Outcome.TIMEOUT, Outcome.LOST})


def should_retry(outcome: str, attempt: int, max_attempts: int) -> bool:
    return outcome in RETRYABLE_OUTCOMES and attempt < max_attempts


class HoldReason(models.TextChoices):
    NONE = ""
    CONCURRENCY = "concurrency"
    RATE = "rate"
    BREAKER = "breaker"
    PAUSED = "paused"
