"""When an alert tells its channels — Prometheus Alertmanager's timing, per alert (an alert is
one group: a task's failure fingerprint, a queue, a breaker):

- a new alert waits ``group_wait`` before its first notification, so a burst (50 dead letters
  within seconds) is told once, with its count;
- after that, a group that grew (``dead_letter``, ``stuck``: the count counts members) is told
  again at most every ``group_interval``; an unchanged one every ``repeat_interval``;
- a resolved notification goes out once, when the alert resolves, if a firing one did;
- while silenced, nothing is sent: no firing, no repeat, no resolved.

Pure: the evaluator asks, ``Alert.claim_notification`` makes the decision stick across hosts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from taskboard.notify.config import AlertsConfig

# Rules whose count counts the members of the group (a rise is news); for the others the
# count is a figure (queued runs, held runs) that moves on its own.
GROWING = frozenset({"dead_letter", "stuck", "schedule_missed"})


class Notifiable(Protocol):
    """What the policy reads of a firing alert: an ``Alert``, or the row the evaluator read
    (it builds no model object for an alert that neither changed nor is due)."""

    @property
    def rule(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def last_notified_at(self) -> datetime | None: ...
    @property
    def notified_count(self) -> int: ...
    @property
    def silenced_until(self) -> datetime | None: ...


def firing_due(alert: Notifiable, now: datetime, config: AlertsConfig) -> bool:
    """Should the firing ``alert`` be told about now?"""
    if alert.silenced_until is not None and alert.silenced_until > now:  # as Alert.is_silenced
        return False
    last = alert.last_notified_at
    if last is None:
        return now >= alert.started_at + timedelta(seconds=config.group_wait)
    if alert.rule in GROWING and alert.count > alert.notified_count:
        return now >= last + timedelta(seconds=config.group_interval)
    return now >= last + timedelta(seconds=config.repeat_interval)


def resolved_due(was_notified: bool, silenced: bool) -> bool:
    """A resolution is told once, to whoever heard it fire, unless it is silenced."""
    return was_notified and not silenced
