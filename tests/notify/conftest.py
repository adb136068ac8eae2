"""Fixtures of the notify tests: a clean failure-rate tally, channel settings pointed at real
receivers, and helpers that evaluate at chosen moments and run delivery runs in-process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from taskboard.execution.runner import execute
from taskboard.models import Status, TaskRun
from taskboard.models import alerts as alert_models
from taskboard.notify import evaluate, tally
from taskboard.notify.config import new_webhook_secret
from tests.notify.receivers import SmtpServer, WebhookReceiver

SECRET = new_webhook_secret()
DELIVER = "taskboard.notify.deliver"


@pytest.fixture(autouse=True)
def fresh_tally() -> Iterator[None]:
    """No failure-rate window, and no lease this process believes it holds, from an earlier test."""
    tally.reset()
    alert_models._held.clear()
    yield
    tally.reset()
    alert_models._held.clear()


@pytest.fixture
def no_channels(settings: Any) -> Any:
    settings.TASKBOARD_ALERT_WEBHOOK_URL = ""
    settings.TASKBOARD_WEBHOOK_SECRET = ""
    settings.TASKBOARD_ALERT_EMAILS = []
    settings.TASKBOARD_ALERT_URLS = []
    settings.ADMINS = []
    return settings


@pytest.fixture
def receiver(no_channels: Any) -> Iterator[WebhookReceiver]:
    """A real HTTP receiver that verifies signatures; the webhook channel points at it."""
    server = WebhookReceiver(SECRET).start()
    no_channels.TASKBOARD_ALERT_WEBHOOK_URL = server.url
    no_channels.TASKBOARD_WEBHOOK_SECRET = SECRET
    yield server
    server.stop()


@pytest.fixture
def smtp(no_channels: Any) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd); Django's SMTP backend and the e-mail channel use it."""
    server = SmtpServer().start()
    no_channels.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                       "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5}}}
    no_channels.TASKBOARD_ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    yield server
    server.stop()


def at(now: datetime, **timing: Any) -> evaluate.Evaluation:
    """One evaluation at ``now`` (as the clock's lease holder)."""
    return evaluate.evaluate(now=now, holder="test-host:1")


def deliveries(status: str | None = None) -> list[TaskRun]:
    qs = TaskRun.objects.filter(task=DELIVER).order_by("enqueued_at")
    return list(qs.filter(status=status) if status else qs)


def run_deliveries() -> list[TaskRun]:
    """Execute every queued delivery run in this process (the runner a worker uses)."""
    runs = deliveries(Status.QUEUED)
    for run in runs:
        execute(str(run.pk))
    return [TaskRun.objects.get(pk=run.pk) for run in runs]


def now() -> datetime:
    return timezone.now()
