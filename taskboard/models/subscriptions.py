"""Webhook subscriptions to run lifecycle events, and the messages that carry the events.

A ``WebhookSubscription`` names a URL, the event types it wants (none listed = all) and
optionally one task. Its secret signs every message (Standard Webhooks); it is stored because
every delivery is signed with it, and shown once, when the subscription is created.

A ``WebhookMessage`` is what one delivery run sends: the events one process buffered for one
subscription over about a second. The delivery run names it by id (``taskboard.notify.deliver``
with channel ``subscription``), so a retry resends the same events and nothing else can be
sent under the subscription's signature.
"""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.utils import timezone

EVENT_TYPES = ("run.enqueued", "run.started", "run.progress", "run.succeeded", "run.retrying", "run.failed",
               "run.cancelled", "run.dead_lettered")


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscriptionQuerySet(models.QuerySet["WebhookSubscription"]):
    def active(self) -> WebhookSubscriptionQuerySet:
        return self.filter(active=True)


class WebhookSubscription(models.Model):
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, editable=False)
    events = models.JSONField(default=list, blank=True, help_text="Event types; empty for all.")
    task = models.CharField(max_length=255, blank=True, default="", help_text="Only this task's runs; blank for all.")
    description = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True, default="")

    objects = WebhookSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_webhooks", "Can add and remove webhook subscriptions")]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"

    def wants(self, event: str, task: str) -> bool:
        return (not self.events or event in self.events) and (not self.task or self.task == task)


class WebhookMessage(models.Model):
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="messages")
    events = models.JSONField(help_text="The events this message carries, oldest first.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], name="webhookmessage_created")]

    def __str__(self) -> str:
        return f"{len(self.events)} events for subscription {self.subscription_id}"
