"""Public path of the backend: ``TASKS = {"default": {"BACKEND": "taskboard.backends.TaskboardBackend"}}``.

The code lives in ``taskboard.backend``; this module only re-exports what users configure.
"""

from taskboard.backend.backend import TaskboardBackend, resolve_task
from taskboard.backend.task import TaskboardTask

__all__ = ["TaskboardBackend", "TaskboardTask", "resolve_task"]
