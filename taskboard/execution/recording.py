"""How an attempt is written down: its row, its outcome, and ``task_finished``.

``Failure`` is what a failed call produced; ``build_attempt`` turns it into the ``TaskAttempt``
row that ``TaskRun.settle_failure`` stores. ``task_finished`` is sent through
``backend.finished``: ``send_finished`` for a run that ended in the worker,
``send_finished_for`` for one that ended elsewhere (lease recovery, a dead worker process,
the monitor giving up on a stuck handler).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from taskboard.backend.finished import send_finished, send_finished_for
from taskboard.backend.jsonvalues import to_json
from taskboard.models import Outcome, TaskAttempt, TaskRun, fingerprint

# Where the runner, the outbox, the monitor and the clock take them from.
__all__ = ["Failure", "build_attempt", "exception_path", "json_result", "send_finished", "send_finished_for"]


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
    """The handler's return value as plain JSON; ``TypeError``/``ValueError`` otherwise (the
    runner records that as a permanent failure under the real exception class)."""
    try:
        value, _ = to_json(value, "result")
    except TypeError as exc:
        raise TypeError(f"the task returned a value that is not JSON: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"the task returned a value that is not JSON: {exc}") from exc
    return value
