"""Exceptions users and operators meet. ``PermanentError`` is the one tasks raise."""

from __future__ import annotations

from django.tasks.exceptions import InvalidTask

__all__ = [
    "InvalidTaskArguments",
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


class UnknownTask(InvalidTask):
    """No task with that name may be enqueued by name."""


class OperationError(Exception):
    """An operator verb cannot apply to the run in its current state (HTTP 409)."""


class NotAllowed(Exception):
    """The user lacks the permission for an operator verb (HTTP 403)."""
