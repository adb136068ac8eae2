"""Every delivery is a taskboard run: ``taskboard.notify.deliver(channel, notification)`` —
an alert notification to a channel (``webhook``, ``email``, ``apprise:…``), or, with channel
``subscription``, a ``WebhookMessage`` of run events to its subscriber (``lifecycle``).

``send(alert, event, now)`` (called inside the evaluator's transaction) stores a
``Notification`` — the alert JSON as of now — and enqueues one delivery run per configured
channel in the same transaction, so the decision to notify and its deliveries commit together.
A delivery run names its notification by id and rebuilds the message from that row: retries
send the same message with the same ``webhook-id`` (receivers deduplicate), and enqueueing the
task by hand can only resend a real notification, never forge a signed one.

Deliveries retry with exponential backoff (``delivery_attempts``, ``delivery_backoff_max`` of
``TASKBOARD_ALERTS``) and dead-letter when the channel stays down, so a broken channel shows up
like any failing task: on the Failures page, as a ``dead_letter`` alert, in ``/metrics``.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Func, IntegerField, TextField
from django.db.models.functions import Cast
from django.tasks import task

from taskboard.backend.task import TaskboardTask
from taskboard.conf import configured_queues
from taskboard.exceptions import PermanentError
from taskboard.models import Alert, DeadLetter, Notification, NotificationEvent, WebhookMessage
from taskboard.notify import channels as outbound
from taskboard.notify.config import AlertsConfig, alerts_config, channels
from taskboard.readmodels.alerts import UNITS, absolute, alert_json
from taskboard.readmodels.representations import iso


def _deliver(context: Any, channel: str, notification: int) -> dict[str, Any]:
    if channel == "subscription":
        return _deliver_events(notification)
    note = Notification.objects.filter(pk=notification).first()
    if note is None:
        raise PermanentError(f"notification {notification} does not exist (pruned?)")
    configured = channels()
    timeout = alerts_config().delivery_timeout
    body = outbound.body_bytes(note.event, iso(note.created_at) or "", note.payload)
    if channel == "webhook":
        if not configured.webhook_url:
            raise PermanentError("the webhook channel is not configured any more")
        status = outbound.post_signed(configured.webhook_url, configured.webhook_secret, message_id(note),
                                      body, timeout)
        return {"channel": channel, "notification": note.pk, "status": status}
    title, text = message_text(note)
    if channel == "email":
        if not configured.emails:
            raise PermanentError("the email channel is not configured any more")
        outbound.send_email(list(configured.emails), title, text)
    elif channel.startswith("apprise:"):
        url = configured.apprise_url(channel)
        if url is None:
            raise PermanentError(f"{channel} is not among TASKBOARD_ALERT_URLS any more")
        outbound.send_apprise(url, title, text, firing=note.event == NotificationEvent.FIRING)
    else:
        raise PermanentError(f"unknown channel {channel!r}")
    return {"channel": channel, "notification": note.pk}


def _deliver_events(message_id: int) -> dict[str, Any]:
    """A webhook subscription's message: ``{"type": "run.events", "timestamp", "data":
    {"subscription", "events": [{"type", "timestamp", "data"}…]}}``, signed with its secret.

    The events are sent as the database returns their JSON text, not decoded and encoded
    again (most of a delivery's CPU when they were): one read, their count included."""
    row = (WebhookMessage.objects.filter(pk=message_id)
           .values_list("subscription_id", "subscription__url", "subscription__secret", "subscription__active",
                        "created_at", Cast("events", TextField()), JSONArrayLength("events")).first())
    if row is None or not row[3]:
        # Removed (or switched off) since: nobody to tell, and nothing went wrong.
        return {"channel": "subscription", "message": message_id, "skipped": "subscription removed"}
    sub, url, secret, _, created_at, events, count = row
    body = outbound.events_body(iso(created_at) or "", sub, events)
    status = outbound.post_signed(url, secret, f"msg_sub_{message_id}", body, alerts_config().delivery_timeout)
    return {"channel": "subscription", "message": message_id, "events": count, "status": status}


class JSONArrayLength(Func):
    """The length of a JSON array column, in the database (its text is not decoded here)."""

    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="json_array_length", **extra)


# The contract names the task ``taskboard.notify.deliver`` (a task's name is its module path):
# it is defined here and the package exposes it lazily, so that ``taskboard.notify.config``
# stays importable by settings.py before Django is configured.
_deliver.__module__, _deliver.__name__, _deliver.__qualname__ = "taskboard.notify", "deliver", "deliver"
BACKOFF_BASE = 5.0  # seconds before the second attempt (at most; full jitter), doubling after
deliver = task(takes_context=True, max_attempts=6, backoff_base=BACKOFF_BASE, backoff_max=600.0,  # type: ignore[call-overload]
               timeout=120)(_deliver)


def message_id(note: Notification) -> str:
    """``webhook-id``: one per notification, the same on every retry."""
    return f"msg_alert_{note.pk}"


def message_text(note: Notification) -> tuple[str, str]:
    """Title and plain text of a notification (e-mail, chat): summary, count, link."""
    data = note.payload
    firing = note.event == NotificationEvent.FIRING
    title = f"[{'FIRING' if firing else 'RESOLVED'}] {data['rule']}: {data['summary']}"
    lines = [data["summary"], "",
             f"Count: {data['count']} {UNITS.get(data['rule'], '')}".rstrip(),
             f"Started: {data['started_at']}"]
    if data.get("resolved_at"):
        lines.append(f"Resolved: {data['resolved_at']}")
    lines += [f"Open: {data['link']}", "", f"Silence or see every alert: {absolute('/dashboard/alerts/')}"]
    return " ".join(title.split())[:200], "\n".join(lines)


FAILING_SAMPLE = 100  # dead letters looked at to find the channels a delivery group failed on


@functools.cache
def _variant(attempts: int, backoff_max: float, queue: str) -> TaskboardTask:
    # The retry policy of a delivery comes from the settings; a run stores its own policy, so
    # the worker retries it as it was enqueued.
    variant: TaskboardTask = dataclasses.replace(deliver, max_attempts=attempts, backoff_max=backoff_max,
                                                 backoff_base=min(BACKOFF_BASE, backoff_max), queue_name=queue)
    return variant


def delivery_task(config: AlertsConfig) -> TaskboardTask:
    queues = configured_queues()
    queue = config.queue or ("default" if "default" in queues else queues[0])
    return _variant(config.delivery_attempts, config.delivery_backoff_max, queue)


def failing_channels(alert: Alert) -> set[str]:
    """For an alert about failed deliveries: the channels they failed on. Telling a broken
    channel that it is broken fails again and grows the alert's group (a loop); the other
    channels, the dashboard and ``/healthz`` tell it instead."""
    task, _, fingerprint = alert.key.partition(" ")
    if alert.rule != "dead_letter" or task != deliver.module_path:
        return set()
    kwargs = (DeadLetter.objects.unresolved().filter(task=task, fingerprint=fingerprint)
              .values_list("run__kwargs", flat=True)[:FAILING_SAMPLE])
    return {str(k.get("channel")) for k in kwargs if isinstance(k, dict)}


def send(alert: Alert, event: NotificationEvent, now: datetime, config: AlertsConfig) -> Notification:
    """Store the notification and enqueue its deliveries; call inside the deciding transaction."""
    skip = failing_channels(alert)
    names = [name for name in channels().names() if name not in skip]
    note = Notification.objects.create(alert=alert, event=event, payload=alert_json(alert), channels=names,
                                       created_at=now)
    if names:
        runner = delivery_task(config)
        with transaction.atomic():
            for name in names:
                runner.enqueue(channel=name, notification=note.pk)
    return note
