"""From a stored run back to its ``Task``: the decorated task, rebuilt as it was enqueued.

A run stores its task's dotted path and what ``.using()`` chose (priority, queue, run_after,
backend alias). ``task_of_run`` rebuilds that task *without* re-validating it: validation
answers "may this be enqueued now?", and a run whose queue was removed from ``QUEUES`` since
must still be readable (``get_result``), executable and shown. Plain ``django.tasks`` Tasks
(decorated for another backend, routed here per call) are accepted; ``as_taskboard_task``
gives them the backend's default options.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any

from django.tasks import task_backends
from django.tasks.base import Task
from django.utils.module_loading import import_string

from taskboard.backend import registry
from taskboard.backend.task import TaskboardTask

if TYPE_CHECKING:
    from taskboard.backend.backend import TaskboardBackend
    from taskboard.models import TaskRun


def _rebuilt[T: Task](cls: type[T], source: Task, changes: dict[str, Any]) -> T:
    # A frozen dataclass built field by field: no __post_init__, so no validation and no
    # registration (dataclasses.replace and .using() would do both).
    # A field the source lacks (a TaskboardTask option on a plain Task) takes its default;
    # every such option has a plain one.
    task = object.__new__(cls)
    for f in fields(cls):
        value = changes[f.name] if f.name in changes else getattr(source, f.name, f.default)
        if value is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} has no default to rebuild {source!r} with")
        object.__setattr__(task, f.name, value)
    return task


def as_taskboard_task(task: Task) -> TaskboardTask:
    """``task`` with taskboard's options: itself, or a plain Task with every option unset
    (so the backend's ``OPTIONS`` and the defaults apply)."""
    if isinstance(task, TaskboardTask):
        return task
    return _rebuilt(TaskboardTask, task, {})


def load_task(path: str) -> Task:
    """The task object a stored run names (trusted: only taskboard writes the path).

    Raises what importing its module raises, whatever that is (a module may fail at import
    with any exception), and ``LookupError`` when the path names no task.
    """
    task = registry.get(path)
    if task is not None:
        return task
    candidate = import_string(path)
    if not isinstance(candidate, Task):
        raise LookupError(f"{path} is not a django.tasks task")
    return candidate


def task_of_run(task: Task, run: TaskRun) -> Task:
    """``task`` as ``run`` was enqueued: its priority, queue, run_after and backend alias."""
    changes = {"priority": run.priority, "queue_name": run.queue, "run_after": run.run_after,
               "backend": run.backend}
    if all(getattr(task, name) == value for name, value in changes.items()):
        return task
    return _rebuilt(type(task), task, changes)


def on_backend(task: Task, alias: str) -> Task:
    """``task`` routed to backend ``alias`` (unvalidated, like ``task_of_run``)."""
    return task if task.backend == alias else _rebuilt(type(task), task, {"backend": alias})


def backend_of_run(run: TaskRun) -> TaskboardBackend:
    """The backend a run was enqueued through; ``LookupError`` if it is not configured (or
    not taskboard's) any more."""
    from taskboard.backend.backend import TaskboardBackend

    try:
        backend = task_backends[run.backend]
    except Exception as exc:  # InvalidTaskBackend, or an import error of its BACKEND path
        raise LookupError(f"task backend {run.backend!r} is not configured: {exc}") from None
    if not isinstance(backend, TaskboardBackend):
        raise LookupError(f"task backend {run.backend!r} is not taskboard's")
    return backend


def import_task(run: TaskRun) -> tuple[Task, TaskboardBackend]:
    """What a worker needs to execute ``run``: its task as enqueued, and its backend.

    Raises (anything) when the task cannot be loaded; the worker fails the run for good.
    """
    return task_of_run(load_task(run.task), run), backend_of_run(run)


def resolve_task(path: str) -> Task | None:
    """``load_task``, or None when the task cannot be loaded for any reason."""
    try:
        return load_task(path)
    except Exception:  # a read path (results, dashboard) shows the run without its task
        return None
