"""Fixtures and helpers for the JSON API, /metrics and command tests.

Test modules take the fixtures with ``from tests.web.api.api_fixtures import *`` and import the
helpers by name; the fixtures build on the user fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard import operations
from taskboard.execution.runner import execute
from taskboard.models import DeadLetter, Outcome, Status, TaskAttempt, TaskRun, WorkerNode
from taskboard.operations import tokens

JSON = "application/json"

# What ``from tests.web.api.api_fixtures import *`` brings in: the fixtures only (helpers are
# imported by name). Star-importing keeps pytest able to find them without unused names.
__all__ = ["operator_api", "outsider_api", "viewer_api"]


def bearer_client(key: str, **defaults: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", **defaults)


def token_for(user: User) -> str:
    return tokens.create_token(user, "test")[1]


@pytest.fixture
def operator_api(operator: User) -> Client:
    """Bearer-token client of a staff user with every taskboard permission."""
    return bearer_client(token_for(operator))


@pytest.fixture
def viewer_api(viewer: User) -> Client:
    """Bearer-token client of read-only staff."""
    return bearer_client(token_for(viewer))


@pytest.fixture
def outsider_api(outsider: User) -> Client:
    """Bearer-token client of a non-staff user (who holds the permissions nonetheless)."""
    return bearer_client(token_for(outsider))


def post_json(client: Client, url: str, body: Any = None, **extra: Any) -> Any:
    return client.post(url, body if body is not None else {}, content_type=JSON, **extra)


def enqueue(name: str = "taskboard.demo.noop", **kwargs: Any) -> TaskRun:
    return operations.enqueue(name, kwargs=kwargs)[0]


def failed_run(message: str = "card declined") -> TaskRun:
    """A run of taskboard.demo.fail executed in-process: failed, with an open dead letter."""
    run = enqueue("taskboard.demo.fail", message=message)
    execute(str(run.id))
    run.refresh_from_db()
    assert run.status == Status.FAILED
    return run


def succeeded_run() -> TaskRun:
    run = enqueue("taskboard.demo.noop")
    execute(str(run.id))
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    return run


def make_run(task: str = "taskboard.demo.noop", status: str = Status.QUEUED, *,
             enqueued_at: datetime | None = None, queue: str = "default", **fields: Any) -> TaskRun:
    """A run row written directly, for states that are slow to reach by executing."""
    now = timezone.now()
    return TaskRun.objects.create(task=task, status=status, queue=queue,
                                  enqueued_at=enqueued_at or now, **fields)


def make_attempt(run: TaskRun, number: int, outcome: str, *, finished_at: datetime | None = None,
                 seconds: float = 1.0, exception: str = "builtins.ConnectionError",
                 message: str = "reset") -> TaskAttempt:
    finished_at = finished_at or timezone.now()
    return TaskAttempt.objects.create(
        run=run, task=run.task, number=number, outcome=outcome,
        exception="" if outcome == Outcome.SUCCEEDED else exception,
        message="" if outcome == Outcome.SUCCEEDED else message,
        started_at=finished_at - timedelta(seconds=seconds), finished_at=finished_at,
    )


def make_dead_letter(run: TaskRun, *, created_at: datetime | None = None) -> DeadLetter:
    return DeadLetter.objects.create(run=run, task=run.task, reason="permanent error: boom",
                                     created_at=created_at or timezone.now())


def make_worker(*, seconds_ago: float = 0.0, stopped: bool = False, name: str = "w1") -> WorkerNode:
    now = timezone.now()
    return WorkerNode.objects.create(
        id=name, hostname=f"host-{name}", pid=100, queues=["default"],
        last_seen=now - timedelta(seconds=seconds_ago), stopped_at=now if stopped else None,
    )
