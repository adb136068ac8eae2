"""``Schedule`` (recurring work: cron or every N seconds) and ``ScheduleFire`` (one row per fire
time that fired, unique per schedule and time).

Exactly once per fire time, with any number of clock hosts: ``Schedule.fire`` inserts the
``ScheduleFire`` row and creates the run in one savepoint, and the UNIQUE constraint on
``(schedule, fire_at)`` lets only one transaction ever commit a given fire time — a second
host's insert fails (IntegrityError) and its run is rolled back with it. The clock also
locks a due schedule's row while firing it (``lock_due``), so hosts rarely even try; the
constraint, not the lock, is the guarantee (a lock can be lost, a committed row cannot).
``next_run_at`` is advanced in the same transaction, so a crash before the commit leaves the
fire time due and another tick fires it.

When a schedule fires, what its timing means (cron, DST, misfire) is ``taskboard.schedules``'
business; the rows here only store and move its state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils.timezone import now as utcnow

from taskboard.models.nodes import process_identity

if TYPE_CHECKING:
    from taskboard.models.runs import TaskRun

NAME_MAX = 100
# How many of its latest runs a schedule remembers (its status strip; the first is the one
# the overlap policy looks at).
RECENT_RUNS = 12


class MisfirePolicy(models.TextChoices):
    SKIP = "skip", "skip missed fire times"
    RUN_ONCE = "run_once", "run once for the missed fire times"


class OverlapPolicy(models.TextChoices):
    ALLOW = "allow", "allow overlapping runs"
    SKIP = "skip", "skip while the previous run is open"


class ScheduleSource(models.TextChoices):
    SETTINGS = "settings", "TASKBOARD_SCHEDULES"
    RUNTIME = "runtime", "added at run time"


class FireOutcome(models.TextChoices):
    ENQUEUED = "enqueued"
    SKIPPED = "skipped"  # overlap policy: the previous run was still open
    FAILED = "failed"  # the run could not be created (task gone, arguments no longer bind…)


class ScheduleQuerySet(models.QuerySet["Schedule"]):
    def active(self) -> ScheduleQuerySet:
        return self.filter(paused=False, next_run_at__isnull=False)

    def due(self, now: datetime) -> ScheduleQuerySet:
        """Not paused, and the next fire time has come."""
        return self.filter(paused=False, next_run_at__lte=now)

    def overdue(self, now: datetime, seconds: float) -> ScheduleQuerySet:
        """Due for more than ``seconds``: no clock is firing them (no worker running, or it is
        stuck). What a "schedule missed" alert looks at."""
        return self.due(now - timedelta(seconds=seconds))

    def next_fire_at(self) -> datetime | None:
        """The earliest next fire time of any active schedule (one indexed read)."""
        return self.active().order_by("next_run_at").values_list("next_run_at", flat=True).first()

    def lock_due(self, pk: int, now: datetime) -> Schedule | None:
        """The schedule if it is still due, locked until the transaction ends; None if it is
        not due any more or another host is firing it right now (PostgreSQL: ``FOR UPDATE
        SKIP LOCKED``; SQLite's write transaction is exclusive already)."""
        qs = self.due(now).filter(pk=pk)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        return qs.first()

    def from_settings(self) -> ScheduleQuerySet:
        return self.filter(source=ScheduleSource.SETTINGS)


class Schedule(models.Model):
    name = models.CharField(max_length=NAME_MAX, unique=True)
    task = models.CharField(max_length=255, help_text="Dotted path of the task it enqueues.")
    cron = models.CharField(max_length=200, blank=True, default="", help_text="5 fields, in the time zone.")
    every = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds between fire times.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=64, blank=True, default="", help_text="Empty: the task's queue.")
    priority = models.SmallIntegerField(null=True, blank=True, help_text="Empty: the task's priority.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name the cron is read in.")
    misfire = models.CharField(max_length=16, choices=MisfirePolicy.choices, default=MisfirePolicy.SKIP)
    overlap = models.CharField(max_length=16, choices=OverlapPolicy.choices, default=OverlapPolicy.ALLOW)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=150, blank=True, default="")
    # Stored in UTC; null when the expression has no fire time left.
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    recent_runs = models.JSONField(default=list, blank=True, help_text="Ids of its latest runs, newest first.")
    source = models.CharField(max_length=16, choices=ScheduleSource.choices, default=ScheduleSource.RUNTIME)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=utcnow)
    updated_at = models.DateTimeField(default=utcnow)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            # the clock's one read per tick: the earliest next fire time of an active schedule
            models.Index(fields=["next_run_at"], name="schedule_due", condition=Q(paused=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(cron="", every__isnull=False, every__gte=1)
                           | (~Q(cron="") & Q(every__isnull=True))),
                name="schedule_cron_xor_every",
            ),
        ]
        permissions = [("manage_schedule", "Can add, pause, resume, run and remove schedules")]

    def __str__(self) -> str:
        return self.name

    @property
    def last_run_id(self) -> str | None:
        return self.recent_runs[0] if self.recent_runs else None

    # --- transitions ------------------------------------------------------------------------

    def pause(self, by: str) -> bool:
        """Stop firing; False if it was paused already."""
        now = utcnow()
        done = Schedule.objects.filter(pk=self.pk, paused=False).update(
            paused=True, paused_at=now, paused_by=by[:150], updated_at=now)
        if done:
            self.paused, self.paused_at, self.paused_by, self.updated_at = True, now, by[:150], now
        return bool(done)

    def resume(self, next_run_at: datetime | None) -> bool:
        """Fire again from ``next_run_at`` (what was due while paused is not made up for);
        False if it was not paused."""
        now = utcnow()
        done = Schedule.objects.filter(pk=self.pk, paused=True).update(
            paused=False, paused_at=None, paused_by="", next_run_at=next_run_at, updated_at=now)
        if done:
            self.paused, self.paused_at, self.paused_by = False, None, ""
            self.next_run_at, self.updated_at = next_run_at, now
        return bool(done)

    def fire(self, fire_at: datetime, now: datetime, enqueue: Callable[[], TaskRun],
             note: str = "") -> ScheduleFire | None:
        """Fire time ``fire_at``: create its run with ``enqueue`` and record the fire, both or
        neither. None when that fire time was already fired (by another host): the unique
        constraint refused the row and the run was rolled back with it."""
        try:
            with transaction.atomic():
                run = enqueue()
                return ScheduleFire.objects.create(schedule=self, fire_at=fire_at, fired_at=now, run=run,
                                                   fired_by=process_identity(), outcome=FireOutcome.ENQUEUED,
                                                   note=note[:300])
        except IntegrityError:
            return None

    def record_fire(self, fire_at: datetime, now: datetime, outcome: FireOutcome, note: str) -> ScheduleFire | None:
        """Fire time ``fire_at`` passed without a run (``skipped`` or ``failed``, ``note``
        says why); None when it was already fired."""
        try:
            with transaction.atomic():
                return ScheduleFire.objects.create(schedule=self, fire_at=fire_at, fired_at=now, outcome=outcome,
                                                   fired_by=process_identity(), note=note[:300])
        except IntegrityError:
            return None

    def advance(self, next_run_at: datetime | None, *, fired_at: datetime | None = None,
                runs: Sequence[str] = ()) -> None:
        """Move on to ``next_run_at``; remember when it last fired and the runs it created
        (oldest first)."""
        changes: dict[str, object] = {"next_run_at": next_run_at}
        if fired_at is not None:
            changes["last_fired_at"] = fired_at
        if runs:
            changes["recent_runs"] = [*reversed(runs), *self.recent_runs][:RECENT_RUNS]
        Schedule.objects.filter(pk=self.pk).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)

    def remember_run(self, run_id: str) -> None:
        """A run created by hand ("run now") counts as its latest run."""
        self.recent_runs = [run_id, *self.recent_runs][:RECENT_RUNS]
        Schedule.objects.filter(pk=self.pk).update(recent_runs=self.recent_runs)

    def redefine(self, fields: dict[str, object], next_run_at: datetime | None, source: str) -> None:
        """Take a new definition (the settings changed); ``paused`` is kept."""
        changes = {**fields, "next_run_at": next_run_at, "source": source, "updated_at": utcnow()}
        Schedule.objects.filter(pk=self.pk).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)


class ScheduleFire(models.Model):
    """A fire time of a schedule that has been dealt with: its run, or why there is none."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="fires")
    fire_at = models.DateTimeField(help_text="The fire time (UTC).")
    fired_at = models.DateTimeField(default=utcnow, help_text="When a clock fired it.")
    fired_by = models.CharField(max_length=200, blank=True, default="", help_text="host:pid of that clock.")
    outcome = models.CharField(max_length=16, choices=FireOutcome.choices, default=FireOutcome.ENQUEUED)
    run = models.ForeignKey("taskboard.TaskRun", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-fire_at"]
        constraints = [
            # The exactly-once guarantee: one row per schedule and fire time, whichever host.
            models.UniqueConstraint(fields=["schedule", "fire_at"], name="schedule_fire_once"),
        ]
        indexes = [models.Index(fields=["fire_at"], name="schedule_fire_at")]  # retention

    def __str__(self) -> str:
        return f"{self.schedule_id} @ {self.fire_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

    @property
    def lateness(self) -> timedelta:
        return self.fired_at - self.fire_at
