"""``task_finished``: sent once for every run that reaches a final state, wherever it ends.

In the worker that ran the attempt (``send_finished``, inside the ``except`` block for a
failure so Django's log receiver finds the traceback), and for runs that end elsewhere
(``send_finished_for``): declared lost by the clock, settled after their worker process died,
failed by a monitor that gave up on a stuck handler, or cancelled by an operator before they
started. A run waiting for a retry has not finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from django.tasks import TaskResultStatus
from django.tasks.base import Task
from django.tasks.signals import task_finished

from taskboard.backend import signals
from taskboard.backend.loading import backend_of_run, resolve_task
from taskboard.models import FINISHED, TaskAttempt, TaskRun

if TYPE_CHECKING:
    from taskboard.backend.backend import TaskboardBackend

logger = structlog.get_logger("taskboard.backend")


def send_finished(backend: TaskboardBackend, run: TaskRun, task: Task, attempts: list[TaskAttempt]) -> None:
    result = backend.to_result(run, task, attempts)
    if result.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
        task_finished.send(type(backend), task_result=result)


def send_finished_for(run: TaskRun) -> None:
    """``task_finished`` for a run that ended outside its worker's call; nothing unless it is
    finished. A run whose task or backend no longer loads is only logged: a ``TaskResult``
    needs both. taskboard's lifecycle signal of the outcome (``signals``) goes first, also
    for a run left retrying."""
    signals.send_outcome(run)
    if run.status not in FINISHED:
        return
    try:
        backend = backend_of_run(run)
    except LookupError as exc:
        logger.warning("task_finished not sent", run_id=str(run.pk), reason=str(exc))
        return
    task = resolve_task(run.task)
    if task is None:
        logger.warning("task_finished not sent", run_id=str(run.pk), reason=f"task {run.task} cannot be imported")
        return
    send_finished(backend, run, task, list(run.attempt_set.all()))
