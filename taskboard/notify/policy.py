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

from taskboard.models import Alert
from taskboard.notify.config import AlertsConfig

# Rules whose count counts the members of the group (a rise is news); for the others the
# count is a figure (queued runs, held runs) that moves on its own.
GROWING = frozenset({"dead_letter", "stuck", "schedule_missed"})


def firing_due(alert: Alert, now: datetime, config: AlertsConfig) -> bool:
    """Should the firing ``alert`` be told about now?"""
    if alert.is_silenced(now):
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
