"""Checking callbacks: per-task hooks (``on_success``, ``on_failure``, ``on_dead_letter``) and
batch callbacks (``on_complete``, ``on_success``) name tasks that must exist, use taskboard's
backend and accept the one keyword argument they are called with (``run_id`` / ``batch_id``).

A hook is checked in three steps, as early as each can be: its form (a dotted path) when the
task is decorated; whether it names a usable task when the tasks modules are loaded (the
``taskboard.E001`` system check, run by ``manage.py check``, ``migrate`` and every
``taskboard_worker`` start); and, for a task from a module imported later, at its first
enqueue (``InvalidTask`` then, nothing written). A batch's callbacks are checked when the
batch is created.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.tasks.base import Task
from django.tasks.exceptions import InvalidTask

from taskboard.backend import registry
from taskboard.backend.arguments import validate_arguments
from taskboard.backend.loading import load_task
from taskboard.backend.task import TaskboardTask
from taskboard.models.outcomes import HOOK_OPTIONS

# Hooks (a task and its hook names) that passed the full check in this process.
_checked: set[tuple[str | None, ...]] = set()


def check_hook_form(task: TaskboardTask) -> None:
    """ValueError unless every hook option is unset or a dotted task path."""
    for option in HOOK_OPTIONS:
        value = getattr(task, option)
        if value is None:
            continue
        if not isinstance(value, str) or "." not in value.strip(".") or len(value) > 255 or value != value.strip():
            raise ValueError(f"{option} must be the dotted path of a task, e.g. 'billing.tasks.notify', "
                             f"not {value!r}")


def callback_task(name: str, argument: str, *, trusted: bool) -> Task:
    """The task ``name`` names, checked as a callback called with ``argument=<id>``;
    ``InvalidTask`` saying what is wrong. Untrusted names (from a request) are only looked
    up in the registry, never imported."""
    task: Task | None = registry.get(name)
    if task is None and trusted:
        try:
            task = load_task(name)
        except Exception as exc:  # noqa: BLE001 - whatever importing it raised
            raise InvalidTask(f"callback task {name!r} cannot be loaded: {type(exc).__name__}: {exc}") from None
    if task is None:
        raise InvalidTask(f"callback task {name!r} is not a known task; known tasks: "
                          f"{', '.join(registry.names()) or 'none'}")
    from taskboard.backend.backend import TaskboardBackend

    if not isinstance(task.get_backend(), TaskboardBackend):
        raise InvalidTask(f"callback task {name!r} does not use the taskboard backend")
    try:
        validate_arguments(task, [], {argument: "00000000000000000000000000000000"})
    except InvalidTask as exc:
        raise InvalidTask(f"callback task {name!r} must accept {argument}=<id>: {exc}") from None
    return task


def check_hooks(task: TaskboardTask) -> None:
    """Each hook of ``task`` names a usable callback (once per task and process)."""
    key = (task.module_path, *(getattr(task, option) for option in HOOK_OPTIONS))
    if key in _checked:
        return
    for option in HOOK_OPTIONS:
        name = getattr(task, option)
        if name is not None:
            try:
                callback_task(name, "run_id", trusted=True)
            except InvalidTask as exc:
                raise InvalidTask(f"{task.module_path}: {option}: {exc}") from None
    _checked.add(key)


@checks.register()
def registered_hooks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``taskboard.E001``: a registered task's hook names no usable task."""
    errors: list[checks.CheckMessage] = []
    for name in registry.names():
        task = registry.get(name)
        if task is None:
            continue
        try:
            check_hooks(task)
        except InvalidTask as exc:
            errors.append(checks.Error(str(exc), obj=name, id="taskboard.E001",
                                       hint="Name a @task function (its dotted path) that accepts run_id."))
    return errors
