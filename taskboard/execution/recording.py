"""How an attempt is written down: its row, its outcome, and ``task_finished``.

``Success``/``Failure`` are what calling a handler produced; ``build_attempt`` turns a failure
into the ``TaskAttempt`` row that ``TaskRun.settle_failure`` stores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished
from django.utils import timezone

from taskboard.backend.backend import TaskboardBackend
from taskboard.backend.jsonvalues import to_json
from taskboard.backend.task import TaskboardTask
from taskboard.exceptions import PermanentError
from taskboard.models import Outcome, TaskAttempt, TaskRun, fingerprint


@dataclass(frozen=True, slots=True)
class Success:
    """The handler returned ``value`` (already checked to be JSON)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Failure:
    """The handler raised ``error``, classified as ``kind``; ``trace`` is its traceback."""

    error: BaseException
    kind: Outcome
    trace: str


def exception_path(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def build_attempt(run: TaskRun, number: int, started: float, failure: Failure) -> TaskAttempt:
    """The row of a failed attempt that began at ``started`` (a ``time.monotonic()`` value)."""
    now = timezone.now()
    path = exception_path(failure.error)
    message = str(failure.error)[:4000]
    return TaskAttempt(
        run=run, task=run.task, number=number, outcome=failure.kind,
        exception=path, message=message, traceback=failure.trace[-20000:],
        fingerprint=fingerprint(run.task, path, message),
        started_at=now - timedelta(seconds=time.monotonic() - started),
        finished_at=now, worker=run.worker,
    )


def json_result(value: Any) -> Any:
    try:
        value, _ = to_json(value, "result")
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"the task returned a value that is not JSON: {exc}") from exc
    return value


def send_finished(backend: TaskboardBackend, run: TaskRun, task: TaskboardTask,
                  attempts: list[TaskAttempt]) -> None:
    result = backend.to_result(run, task, attempts)
    if result.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
        task_finished.send(type(backend), task_result=result)
