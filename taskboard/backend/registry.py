"""Which tasks may be enqueued by name (API, dashboard, CLI).

Every ``@task`` that uses the taskboard backend registers itself here when its module is
imported (the backend's ``validate_task`` runs at decoration). ``apps.ready`` imports the
``tasks`` module of every installed app, so the allowlist is exactly the taskboard tasks of
installed apps. A name from a request is only ever looked up here, never imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskboard.backend.task import TaskboardTask

_tasks: dict[str, TaskboardTask] = {}


def register(task: TaskboardTask) -> None:
    # .using() re-validates a modified copy; keep the task as decorated.
    _tasks.setdefault(task.module_path, task)


def get(name: str) -> TaskboardTask | None:
    return _tasks.get(name)


def names() -> list[str]:
    return sorted(_tasks)
