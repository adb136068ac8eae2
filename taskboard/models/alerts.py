"""Alerts: what the clock's rules found wrong, whom it told, and who silenced it.

``Alert`` is one occurrence of a rule firing for one group (``key``: a task and failure
fingerprint, a queue, a breaker…): it fires, may be silenced for a while, and resolves once;
a later recurrence is a new row. At most one alert per (rule, key) fires at a time (a partial
unique constraint), so two evaluators can never open the same alert twice.

``Notification`` is what an alert told the channels (the alert JSON as of that moment); each
channel's delivery is a run of ``taskboard.notify.deliver`` that names the notification by id,
so a delivery can be retried or replayed but never forged with other content.

``AlertRule`` rows are the admin's overrides of the rule settings (``TASKBOARD_ALERTS``), for a
whole rule or one queue/task/breaker. ``AlertLease`` is the lease that lets one clock at a time
evaluate (see ``acquire``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone


class AlertState(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"


class RuleName(models.TextChoices):
    DEAD_LETTER = "dead_letter"
    FAILURE_RATE = "failure_rate"
    QUEUE_WAIT = "queue_wait"
    NO_WORKERS = "no_workers"
    BREAKER_OPEN = "breaker_open"
    STUCK = "stuck"
    SCHEDULE_MISSED = "schedule_missed"


class NotificationEvent(models.TextChoices):
    FIRING = "alert.firing"
    RESOLVED = "alert.resolved"


def not_silenced(now: datetime) -> Q:
    return Q(silenced_until__isnull=True) | Q(silenced_until__lte=now)


class AlertQuerySet(models.QuerySet["Alert"]):
    def firing(self) -> AlertQuerySet:
        return self.filter(state=AlertState.FIRING)

    def resolved(self) -> AlertQuerySet:
        return self.filter(state=AlertState.RESOLVED)

    def silenced(self, now: datetime) -> AlertQuerySet:
        return self.filter(silenced_until__gt=now)

    def latest_of(self, rule: str, key: str) -> Alert | None:
        return self.filter(rule=rule, key=key).order_by("-started_at", "-id").first()


class Alert(models.Model):
    rule = models.CharField(max_length=32)
    key = models.CharField(max_length=300, help_text="The group: a task and fingerprint, a queue, a breaker…")
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.FIRING)
    summary = models.CharField(max_length=500)
    count = models.PositiveIntegerField(default=0, help_text="How many (dead letters, queued runs…) now.")
    link = models.CharField(max_length=500, blank=True, default="", help_text="Dashboard path.")
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The notification policy's memory: when the last notification went out and the count
    # it carried (a group that grew since is notified again after the group interval).
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notified_count = models.PositiveIntegerField(default=0)
    notifications = models.PositiveIntegerField(default=0)
    silenced_until = models.DateTimeField(null=True, blank=True)
    silence_reason = models.CharField(max_length=500, blank=True, default="")
    silenced_by = models.CharField(max_length=150, blank=True, default="")

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="alert_list"),
            models.Index(fields=["state", "-started_at", "-id"], name="alert_state_list"),
            models.Index(fields=["rule", "key", "-started_at"], name="alert_group"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["rule", "key"], condition=Q(state="firing"), name="alert_one_firing"),
        ]
        permissions = [("silence_alert", "Can silence alerts")]

    def __str__(self) -> str:
        return f"{self.rule} {self.key} [{self.state}]"

    @property
    def is_firing(self) -> bool:
        return self.state == AlertState.FIRING

    def is_silenced(self, now: datetime | None = None) -> bool:
        return self.silenced_until is not None and self.silenced_until > (now or timezone.now())

    @classmethod
    def open(cls, rule: str, key: str, summary: str, count: int, link: str, now: datetime) -> Alert | None:
        """A new firing alert, keeping a silence still running on the group's previous alert
        (a silence mutes the group, not one row); None if one is firing already."""
        previous = cls.objects.latest_of(rule, key)
        alert = cls(rule=rule, key=key[:300], summary=summary[:500], count=count, link=link[:500],
                    started_at=now, updated_at=now)
        if previous is not None and previous.is_silenced(now):
            alert.silenced_until = previous.silenced_until
            alert.silence_reason, alert.silenced_by = previous.silence_reason, previous.silenced_by
        try:
            with transaction.atomic():
                alert.save(force_insert=True)
        except IntegrityError:  # another evaluator opened it first
            return None
        return alert

    def silence(self, until: datetime, reason: str, by: str) -> None:
        """Nothing is sent for this alert (and its group's recurrences) until ``until``."""
        Alert.objects.filter(pk=self.pk).update(silenced_until=until, silence_reason=reason[:500],
                                                silenced_by=by[:150])
        self.silenced_until, self.silence_reason, self.silenced_by = until, reason[:500], by[:150]

    def resolve(self, now: datetime) -> bool:
        """The condition cleared: firing → resolved, once."""
        done = Alert.objects.filter(pk=self.pk, state=AlertState.FIRING).update(
            state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
        if done:
            self.state, self.resolved_at, self.updated_at = AlertState.RESOLVED, now, now
        return bool(done)

    def claim_notification(self, now: datetime) -> bool:
        """Record that a notification goes out now; False if another evaluator already sent
        the one this alert was due, or the alert was silenced meanwhile (so it is sent once)."""
        done = (Alert.objects.filter(pk=self.pk, last_notified_at=self.last_notified_at)
                .filter(not_silenced(now))
                .update(last_notified_at=now, notified_count=self.count, notifications=F("notifications") + 1))
        if done:
            self.last_notified_at, self.notified_count = now, self.count
            self.notifications += 1
        return bool(done)


class Notification(models.Model):
    """One message about an alert; its deliveries are runs that name it by id."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notification_set")
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    payload = models.JSONField(help_text="The alert's JSON when the notification was decided.")
    channels = models.JSONField(default=list, blank=True, help_text="Channels a delivery run was enqueued for.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["alert", "-created_at"], name="notification_alert")]

    def __str__(self) -> str:
        return f"{self.event} of alert {self.alert_id}"


class AlertRule(models.Model):
    """An override of one rule's settings, for the whole rule (scope "") or one queue, task or
    breaker. Empty fields inherit ``TASKBOARD_ALERTS`` and the defaults."""

    rule = models.CharField(max_length=32, choices=RuleName.choices)
    scope = models.CharField(max_length=255, blank=True, default="",
                             help_text="A queue (queue_wait, no_workers), task (dead_letter, failure_rate, "
                                       "stuck), breaker or schedule name; blank for the whole rule.")
    enabled = models.BooleanField(null=True, blank=True, help_text="Blank: as configured.")
    threshold = models.FloatField(null=True, blank=True,
                                  help_text="failure_rate: percent; queue_wait: SLO seconds; stuck, "
                                            "schedule_missed: seconds.")
    min_count = models.PositiveIntegerField(null=True, blank=True,
                                            help_text="dead_letter: dead letters; failure_rate: finished runs.")
    window = models.FloatField(null=True, blank=True, help_text="Seconds looked back (whole rule only).")
    note = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["rule", "scope"]
        constraints = [models.UniqueConstraint(fields=["rule", "scope"], name="alertrule_rule_scope")]

    def __str__(self) -> str:
        return f"{self.rule}:{self.scope}" if self.scope else self.rule

    def values(self) -> dict[str, object]:
        return {"enabled": self.enabled, "threshold": self.threshold, "min_count": self.min_count,
                "window": self.window}


class AlertLease(models.Model):
    """The evaluator's lease: one row per job name, held by one clock until ``expires_at``."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"

    @classmethod
    def acquire(cls, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Hold (or keep holding) the lease ``name`` for ``seconds``; False while another holds it.

        The take-over is one conditional UPDATE (``holder = me OR expired``): PostgreSQL
        re-checks the condition on the row it locks, and SQLite runs one writer at a time, so
        of two clocks racing for an expired lease exactly one matches. A plain read first keeps
        non-holders from taking SQLite's write lock every few seconds; the holder renews with
        one UPDATE ``WHERE holder = me``.
        """
        until = now + timedelta(seconds=seconds)
        if holder in _held and cls.objects.filter(name=name, holder=holder).update(expires_at=until):
            return True  # still ours: renewed in one statement
        _held.discard(holder)
        row = cls.objects.filter(name=name).values_list("holder", "expires_at").first()
        if row is None:
            try:
                with transaction.atomic():
                    cls.objects.create(name=name, holder=holder, expires_at=until, acquired_at=now)
            except IntegrityError:
                return False
            _held.add(holder)
            return True
        current, expires = row
        if current != holder and expires is not None and expires >= now:
            return False
        changes: dict[str, object] = {"holder": holder, "expires_at": until}
        if current != holder:
            changes["acquired_at"] = now
        free = Q(holder=holder) | Q(expires_at__lt=now) | Q(expires_at__isnull=True)
        if not cls.objects.filter(free, name=name).update(**changes):
            return False
        _held.add(holder)
        return True

    @classmethod
    def release(cls, name: str, holder: str) -> None:
        """Give the lease up (a clock stopping), so another takes over at its next tick."""
        _held.discard(holder)
        cls.objects.filter(name=name, holder=holder).update(expires_at=None, holder="")


# Holders (in this process) that held their lease at their last attempt: they renew it with one
# UPDATE; a holder that lost it meanwhile matches no row and goes through the read again.
_held: set[str] = set()
