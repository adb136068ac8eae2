"""Enqueue an allowlisted task by name (API, dashboard and ``taskboard_enqueue``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog

from taskboard.backend import registry
from taskboard.exceptions import UnknownTask
from taskboard.models import TaskRun
from taskboard.operations.lookups import backend_of
from taskboard.operations.permissions import PERM_ENQUEUE, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def enqueue(name: str, args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None, *,
            queue: str | None = None, run_after: datetime | None = None, priority: int | None = None,
            idempotency_key: str | None = None, user: Actor = None) -> tuple[TaskRun, bool]:
    """Enqueue an allowlisted task by name; ``queue``, ``run_after`` and ``priority`` override
    the task's (None keeps them). Returns ``(run, created)``."""
    require(user, PERM_ENQUEUE)
    task = registry.get(name)
    if task is None:
        raise UnknownTask(f"unknown task {name!r}; known tasks: {', '.join(registry.names())}")
    run, created = backend_of(task).create_run(
        task, list(args), kwargs if kwargs is not None else {},
        queue=queue, run_after=run_after, priority=priority, idempotency_key=idempotency_key,
    )
    if created:
        logger.info("run enqueued", run_id=str(run.pk), task=name, by=actor_name(user))
    return run, created
