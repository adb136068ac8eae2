"""Exceptions users and operators meet. ``PermanentError`` is the one tasks raise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.tasks.exceptions import InvalidTask

if TYPE_CHECKING:
    from taskboard.models import TaskRun

__all__ = [
    "AlreadyReplayed",
    "InvalidTaskArguments",
    "InvalidSchedule",
    "LimitExceeded",
    "NotAllowed",
    "OperationError",
    "PermanentError",
    "TaskCancelled",
    "TaskInterrupted",
    "TaskTimedOut",
    "UnknownTask",
    "WorkerLost",
]


class PermanentError(Exception):
    """Raise (or subclass) this in a task for a failure that retrying cannot fix."""


class TaskInterrupted(BaseException):
    """Raised inside a running handler to stop it.

    A ``BaseException`` so that a handler's ``except Exception`` cannot swallow it.
    """


class TaskCancelled(TaskInterrupted):
    """An operator cancelled the run."""


class TaskTimedOut(TaskInterrupted):
    """The attempt ran past the task's timeout."""


class WorkerLost(Exception):
    """Recorded (never raised) for an attempt whose worker stopped heartbeating."""


class InvalidTaskArguments(InvalidTask):
    """Arguments do not bind to the task's signature or are not JSON."""


class LimitExceeded(Exception):
    """``enqueue`` of a task with ``on_limit="reject"`` whose concurrency key already has
    ``concurrency_limit`` open runs (API 429 ``limit_exceeded``); nothing was written."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(f"{key} already has {limit} of {limit} open runs")
        self.key, self.limit = key, limit


class UnknownTask(InvalidTask):
    """No task with that name may be enqueued by name."""


class InvalidSchedule(InvalidTask):
    """A schedule definition that cannot be used (bad name, cron, interval, time zone, task or
    arguments); the message names the field. HTTP 400, ``invalid_schedule``."""


class OperationError(Exception):
    """An operator verb cannot apply to the run in its current state (HTTP 409)."""


class AlreadyReplayed(OperationError):
    """A replay that asked for a run's first replay found an earlier one (``earlier``)."""

    def __init__(self, run: TaskRun, earlier: TaskRun) -> None:
        super().__init__(f"run {str(run.pk)[:8]} was already replayed as {str(earlier.pk)[:8]}")
        self.run, self.earlier = run, earlier


class NotAllowed(Exception):
    """The user lacks the permission for an operator verb (HTTP 403)."""
