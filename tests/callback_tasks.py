"""Tasks for the bulk, batch, hook and correlation tests (importable by worker subprocesses).

django-stubs types ``@task()`` with Django's own keywords only; taskboard's options pass through
``**kwargs`` at run time, hence the ``call-overload`` ignores.

``die_after_success`` ends its worker process with SIGKILL right after its outcome committed
(from the ``task_finished`` receiver below, which runs after the commit): the crash between
an outcome and everything that follows it.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from django.dispatch import receiver
from django.tasks import task
from django.tasks.signals import task_finished

from taskboard.bulk import enqueue_many
from taskboard.exceptions import PermanentError
from taskboard.models import TaskRun

HERE = "tests.callback_tasks"


@task
def batch_done(batch_id: str) -> str:
    """A batch callback: returns the batch id it was called with."""
    return batch_id


@task
def run_done(run_id: str) -> str:
    """A hook: returns the id of the run that set it off."""
    return run_id


@task(takes_context=True, max_attempts=1)  # type: ignore[call-overload]
def child(context: Any, n: int, fail: bool = False, seconds: float = 0.0) -> int:
    """A batch child; with ``fail`` it fails permanently unless it is a replay (so
    replay-failed makes it succeed)."""
    if seconds:
        time.sleep(seconds)
    if fail and TaskRun.objects.filter(pk=context.run_id, replay_of__isnull=True).exists():
        raise PermanentError(f"child {n} failed")
    return n


@task(takes_context=True)
def spawner(context: Any, n: int) -> int:
    """Adds ``n`` children to its own batch."""
    enqueue_many(child, [{"kwargs": {"n": i}} for i in range(n)], batch=context.batch)
    return n


@task(takes_context=True)
def enqueue_add(context: Any) -> str:
    """Enqueues another run (it inherits this run's correlation id); returns its id."""
    from tests.sample_tasks import add

    return add.enqueue(1, 2).id


@task(on_success=f"{HERE}.run_done", on_failure=f"{HERE}.run_done",  # type: ignore[call-overload]
      on_dead_letter=f"{HERE}.batch_done_as_hook")
def hooked(fail: bool = False) -> str:
    if fail:
        raise PermanentError("hooked run failed")
    return "ok"


@task
def batch_done_as_hook(run_id: str) -> str:
    return run_id


@task(on_success=f"{HERE}.run_done")  # type: ignore[call-overload]
def die_after_success(token: str) -> str:
    return token


@task(takes_context=True, on_success=f"{HERE}.run_done", max_attempts=3,  # type: ignore[call-overload]
      backoff_base=0.0, backoff_max=0.0, jitter=0.0)
def die_during_first_attempt(context: Any) -> int:
    """kill -9 of its own worker process during attempt 1, before any outcome."""
    if context.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return context.attempt


@receiver(task_finished)
def _kill_after_outcome(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if task_result.task.module_path == f"{HERE}.die_after_success" and os.environ.get("TASKBOARD_TEST_DIE_AFTER"):
        os.kill(os.getpid(), signal.SIGKILL)
