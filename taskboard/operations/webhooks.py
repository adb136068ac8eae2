"""Add and remove webhook subscriptions to run lifecycle events (``run.enqueued`` …
``run.dead_lettered``): an http(s) URL, the event types (none = all) and optionally one task.
The signing secret is generated here and returned once, with the new subscription; the audit
event names the URL, never the secret. Needs ``taskboard.manage_webhooks``."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import structlog
from django.db import transaction

from taskboard.models import EVENT_TYPES, WebhookSubscription
from taskboard.models.subscriptions import new_secret
from taskboard.operations import audit
from taskboard.operations.inputs import BadInput, check_text
from taskboard.operations.lookups import UnknownName
from taskboard.operations.permissions import PERM_WEBHOOKS, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

URL_MAX, DESCRIPTION_MAX = 500, 200


def check_url(url: str) -> str:
    check_text(url, "url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadInput(f"url {url[:60]!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > URL_MAX:
        raise BadInput(f"url must be an http:// or https:// URL with a host, at most {URL_MAX} characters")
    return url


def check_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise BadInput(f"unknown event type {unknown[0]!r}; use {', '.join(EVENT_TYPES)}")
    return chosen


def check_task(task: str) -> str:
    """"" (every task) or a task that may be enqueued by name."""
    check_text(task, "task")
    if task:
        from taskboard.backend import registry

        if registry.get(task) is None:
            raise BadInput(f"unknown task {task!r}")
    return task


def add_webhook(url: str, *, events: Iterable[str] = (), task: str = "", description: str = "",
                user: Actor = None) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url``; returns the subscription and its secret (shown this once)."""
    require(user, PERM_WEBHOOKS)
    check_url(url)
    chosen = check_events(events)
    check_task(task)
    check_text(description, "description")
    if len(description) > DESCRIPTION_MAX:
        raise BadInput(f"description is longer than {DESCRIPTION_MAX} characters")
    secret = new_secret()
    with transaction.atomic():
        sub = WebhookSubscription.objects.create(url=url, secret=secret, events=chosen, task=task,
                                                 description=description, created_by=actor_name(user)[:150])
        audit.record("webhook.add", user=user, targets=[sub.pk, url], count=1)
    logger.info("webhook subscription added", subscription=sub.pk, events=chosen or "all", task=task or "all")
    return sub, secret


def remove_webhook(subscription_id: int, *, user: Actor = None) -> None:
    """Unsubscribe; deliveries still pending for it are skipped, not failed."""
    require(user, PERM_WEBHOOKS)
    with transaction.atomic():
        sub = WebhookSubscription.objects.filter(pk=subscription_id).first()
        if sub is None:
            raise UnknownName(f"no webhook subscription with id {subscription_id}")
        url = sub.url
        sub.delete()
        audit.record("webhook.remove", user=user, targets=[subscription_id, url], count=1)
    logger.info("webhook subscription removed", subscription=subscription_id)
