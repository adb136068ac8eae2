"""Flow-control rows: pauses, admission locks, rate-window starts and circuit breakers.

``FlowKey`` exists only to be locked: on PostgreSQL every admission of a constrained run
locks one row per key it touches (``SELECT … FOR UPDATE``) before counting, so the count and
the claim it justifies are serialised per key across hosts (see ``taskboard.flow``).
``RateStart`` and ``BreakerCall`` are sliding-window logs, pruned by the clock; ``Breaker``
is a breaker's persisted state and ``BreakerTransition`` its history.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PauseScope(models.TextChoices):
    QUEUE = "queue"
    TASK = "task"


class Pause(models.Model):
    """A paused queue or task: nothing of it starts while this row exists."""

    scope = models.CharField(max_length=8, choices=PauseScope.choices)
    name = models.CharField(max_length=255)
    reason = models.CharField(max_length=500, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "name"], name="pause_scope_name")]
        permissions = [("pause_flow", "Can pause and resume queues and tasks")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.name} paused"

    @property
    def key(self) -> str:
        return f"{self.scope}:{self.name}"


class FlowKey(models.Model):
    """One lockable row per admission key (``concurrency:user:42``, ``breaker:payments`` …)."""

    key = models.CharField(max_length=300, primary_key=True)

    def __str__(self) -> str:
        return self.key


class RateStart(models.Model):
    """A start admitted under a rate key: the sliding window is these rows."""

    key = models.CharField(max_length=255)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="ratestart_key_at"),
                   models.Index(fields=["at"], name="ratestart_at")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.at}"


class BreakerState(models.TextChoices):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker(models.Model):
    """A circuit breaker's persisted state (created on first use of a configured name)."""

    name = models.CharField(max_length=100, primary_key=True)
    state = models.CharField(max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED)
    # When the current state began: calls before it do not count (the window restarts on
    # every transition, as in resilience4j).
    since = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    # When an open breaker lets its first probe through; None while forced open.
    retry_at = models.DateTimeField(null=True, blank=True)
    trips = models.PositiveIntegerField(default=0, help_text="Consecutive trips (open_for grows).")
    probes_started = models.PositiveIntegerField(default=0)
    forced = models.BooleanField(default=False)

    class Meta:
        permissions = [("control_breaker", "Can open and close circuit breakers")]

    def __str__(self) -> str:
        return f"{self.name} [{self.state}]"


class BreakerCall(models.Model):
    """One recorded outcome of a breaker-guarded run (written with the outcome)."""

    breaker = models.CharField(max_length=100)
    at = models.DateTimeField()
    failed = models.BooleanField()

    class Meta:
        indexes = [models.Index(fields=["breaker", "at"], name="breakercall_breaker_at"),
                   models.Index(fields=["at"], name="breakercall_at")]

    def __str__(self) -> str:
        return f"{self.breaker} {'failed' if self.failed else 'ok'} @ {self.at}"


class BreakerTransition(models.Model):
    """History: every state change of a breaker, automatic (actor "") or manual."""

    breaker = models.CharField(max_length=100)
    at = models.DateTimeField(default=timezone.now)
    from_state = models.CharField(max_length=10, choices=BreakerState.choices)
    to_state = models.CharField(max_length=10, choices=BreakerState.choices)
    reason = models.CharField(max_length=500, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["breaker", "-at"], name="breakertransition_recent")]

    def __str__(self) -> str:
        return f"{self.breaker}: {self.from_state} → {self.to_state}"
