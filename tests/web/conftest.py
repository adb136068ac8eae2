"""Row factories for the dashboard and admin tests.

Runs, attempts and dead letters are written directly (as the runner would leave them), which
keeps the tests fast and lets them place rows anywhere in time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import DeadLetter, Outcome, Status, TaskAttempt, TaskRun, fingerprint

ECHO = "tests.sample_tasks.echo"
FAIL = "taskboard.demo.fail"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def make_run(db: Any) -> Callable[..., TaskRun]:
    def make(status: str = Status.QUEUED, *, task: str = ECHO, ago: float = 0, **fields: Any) -> TaskRun:
        """A run enqueued ``ago`` seconds ago, with timestamps that fit its status."""
        enqueued = timezone.now() - timedelta(seconds=ago)
        defaults: dict[str, Any] = {"task": task, "status": status, "enqueued_at": enqueued,
                                    "max_attempts": 3, "kwargs": {"value": 1}}
        if status not in (Status.QUEUED, Status.SCHEDULED):
            defaults.update(started_at=enqueued + timedelta(seconds=1), claimed_at=enqueued + timedelta(seconds=1),
                            attempts=1)
        if status == Status.RUNNING:
            defaults.update(worker="host-a:101", heartbeat_at=timezone.now())
        if status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
            defaults["finished_at"] = enqueued + timedelta(seconds=3)
        defaults.update(fields)
        return TaskRun.objects.create(**defaults)

    return make


@pytest.fixture
def make_attempt(db: Any) -> Callable[..., TaskAttempt]:
    def make(run: TaskRun, *, number: int = 1, outcome: str = Outcome.PERMANENT,
             exception: str = "taskboard.exceptions.PermanentError", message: str = "card declined for order 1042",
             finished_at: datetime | None = None, traceback: str = "Traceback (most recent call last): ...",
             worker: str = "host-a:101") -> TaskAttempt:
        finished = finished_at or timezone.now()
        failed = outcome != Outcome.SUCCEEDED
        return TaskAttempt.objects.create(
            run=run, task=run.task, number=number, outcome=outcome,
            exception=exception if failed else "", message=message if failed else "",
            traceback=traceback if failed else "",
            fingerprint=fingerprint(run.task, exception, message) if failed else "",
            started_at=finished - timedelta(seconds=2), finished_at=finished, worker=worker,
        )

    return make


@pytest.fixture
def make_failed(make_run: Callable[..., TaskRun], make_attempt: Callable[..., TaskAttempt]) -> Callable[..., TaskRun]:
    """A run that failed for good, as the runner leaves it: attempt, last error, dead letter."""

    def make(message: str = "card declined for order 1042", *, task: str = FAIL, ago: float = 0,
             exception: str = "taskboard.exceptions.PermanentError", **fields: Any) -> TaskRun:
        fields.setdefault("kwargs", {"message": message})
        run = make_run(Status.FAILED, task=task, ago=ago, last_error=f"{exception.rsplit('.', 1)[-1]}: {message}",
                       **fields)
        make_attempt(run, message=message, exception=exception, finished_at=run.finished_at)
        DeadLetter.objects.create(run=run, task=run.task, reason=f"permanent error: {run.last_error}",
                                  created_at=run.finished_at)
        return run

    return make


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    client = Client()
    client.force_login(outsider)
    return client
