"""The bench app: a completion marker written by django-q2's monitor process.

When ``BENCH_MARK_FILE`` is set, every message the cluster's monitor finishes (after the
result is saved and the message acknowledged: django-q2's own notion of "done") appends one
line ``<unix time> <message id> <message name> <success>`` to that file. The same receiver
serves all three contenders, so their drain rates are measured at the same point.
One ``os.write`` of ~80 bytes per task (a few microseconds) next to ~1–10 ms of work.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.apps import AppConfig

_fd: int | None = None
_fd_pid: int | None = None


def _mark(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    global _fd, _fd_pid
    if _fd is None or _fd_pid != os.getpid():
        _fd = os.open(os.environ["BENCH_MARK_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _fd_pid = os.getpid()
    line = f"{time.time():.6f} {task.get('id')} {task.get('name')} {int(bool(task.get('success')))}\n"
    os.write(_fd, line.encode())


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"
    verbose_name = "taskboard benchmark"

    def ready(self) -> None:
        if os.environ.get("BENCH_MARK_FILE"):
            from django_q.signals import post_execute

            post_execute.connect(_mark, dispatch_uid="bench-mark")
