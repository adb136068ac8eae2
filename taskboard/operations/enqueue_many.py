"""Bulk enqueue of an allowlisted task by name (``POST /api/runs/bulk/``, ``taskboard_enqueue
--many``): all or nothing, with an optional new batch. One audit event (``run.enqueue``,
``count`` = the number of runs) for the whole call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from django.db import transaction

from taskboard.backend import registry
from taskboard.backend.bulk import Enqueued
from taskboard.backend.bulk import enqueue_many as enqueue_runs
from taskboard.exceptions import UnknownTask
from taskboard.operations import audit
from taskboard.operations.permissions import PERM_ENQUEUE, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")


def enqueue_many(name: str, items: Iterable[Mapping[str, Any]], *, queue: str | None = None,
                 priority: int | None = None, batch: Mapping[str, Any] | None = None,
                 correlation_id: str | None = None, user: Actor = None) -> Enqueued:
    """One run of task ``name`` per item (``{"args"?, "kwargs"?}``); ``batch`` (``{"name"?,
    "on_complete"?, "on_success"?}``) makes them a new batch. Task and callback names come
    from outside: they must be allowlisted (never imported by name)."""
    require(user, PERM_ENQUEUE)
    task = registry.get(name)
    if task is None:
        raise UnknownTask(f"unknown task {name!r}; known tasks: {', '.join(registry.names())}")
    for option in ("on_complete", "on_success"):
        callback = (batch or {}).get(option)
        if isinstance(callback, str) and registry.get(callback) is None:
            raise UnknownTask(f"batch {option}: unknown task {callback!r}; known tasks: {', '.join(registry.names())}")
    with transaction.atomic():
        done = enqueue_runs(task, items, queue=queue, priority=priority,
                            batch=dict(batch) if batch is not None else None, correlation_id=correlation_id)
        if done.ids:
            audit.record("run.enqueue", user=user, targets=done.ids, runs=done.ids, count=len(done))
    logger.info("runs enqueued", task=name, count=len(done), by=actor_name(user),
                batch=str(done.batch.pk) if done.batch else None)
    return done
