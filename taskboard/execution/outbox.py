"""Group commit of successes in a cluster worker process.

A success is not written on its own. It waits in the process's ``Outbox`` (at most
``OUTCOME_BATCH_SECONDS``) and commits in the same transaction as the next message's claim,
one round trip on PostgreSQL; when no message follows, the monitor thread commits it. A
worker process killed inside that window leaves the run ``running`` until the cluster notices
the death or its lease expires, like a crash during the call: the attempt is recorded
``lost`` and retried. ``task_finished`` is sent once the outcome is committed. Failures never
wait here: they are written at once.
"""

from __future__ import annotations

import multiprocessing.util
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.tasks.base import Task

from taskboard.backend.backend import TaskboardBackend
from taskboard.conf import conf
from taskboard.execution.recording import send_finished
from taskboard.flow.release import after_finish, needs_release
from taskboard.models import TaskAttempt, TaskRun
from taskboard.models import sql as rowsql

logger = structlog.get_logger("taskboard.execution.runner")


@dataclass
class Pending:
    """A success waiting in the outbox: its statements and what to do once committed."""

    run: TaskRun
    attempt: TaskAttempt
    result: Any
    statements: list[rowsql.Statement]
    backend: TaskboardBackend
    task: Task
    prior: list[TaskAttempt] = field(default_factory=list)
    duration: float = 0.0


class Outbox:
    """Successes of this worker process not yet committed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[Pending] = []
        self.due: float | None = None  # monotonic time by which the oldest must be written

    def add(self, item: Pending) -> bool:
        """Queue ``item``; True when it is the first (the committer must be woken)."""
        with self.lock:
            self.items.append(item)
            if self.due is None:
                self.due = time.monotonic() + conf.OUTCOME_BATCH_SECONDS
                return True
            return False

    def take(self) -> list[Pending]:
        with self.lock:
            items, self.items, self.due = self.items, [], None
            return items

    def restore(self, items: list[Pending]) -> None:
        """Put back items whose transaction failed; they are retried at once."""
        if items:
            with self.lock:
                self.items[:0] = items
                self.due = time.monotonic()

    def flush(self) -> None:
        """Commit everything waiting, on this thread's connection."""
        items = self.take()
        if not items:
            return
        try:
            counts = [count for count, _ in rowsql.run(statements_of(items))]
        except Exception:
            self.restore(items)
            raise
        settle(items, counts)


def statements_of(items: Sequence[Pending]) -> list[rowsql.Statement]:
    return [st for item in items for st in item.statements]


def settle(items: Sequence[Pending], counts: Sequence[int]) -> None:
    """After the commit: update the instances, log, and send ``task_finished``."""
    position = 0
    finished = []
    for item in items:
        position += len(item.statements)
        applied = bool(counts[position - 1])
        with structlog.contextvars.bound_contextvars(run_id=str(item.run.pk), task=item.run.task,
                                                     attempt=item.attempt.number,
                                                     correlation_id=item.run.correlation_id or str(item.run.pk)):
            if applied:
                item.run._succeeded(item.attempt, item.result)
                if needs_release(item.run):
                    finished.append(item.run)
                logger.debug("attempt succeeded", duration=round(item.duration, 3))
                send_finished(item.backend, item.run, item.task, [*item.prior, item.attempt])
            else:
                logger.warning("result discarded: the run is no longer this worker's")
    if finished:
        # The slots these runs held are free: start the next held runs now, not at the
        # clock's next tick.
        after_finish(finished)


_outbox: Outbox | None = None
_outbox_pid: int | None = None


def get_outbox() -> Outbox:
    """This process's outbox (a forked child gets a new one)."""
    global _outbox, _outbox_pid
    if _outbox is None or _outbox_pid != os.getpid():
        _outbox, _outbox_pid = Outbox(), os.getpid()
        # A worker process that exits normally (django-q2's stop or recycle) commits what
        # waits: multiprocessing runs its finalizers as the process ends.
        multiprocessing.util.Finalize(_outbox, flush_at_exit, args=(_outbox,), exitpriority=10)
    return _outbox


def flush_at_exit(outbox: Outbox) -> None:
    try:
        outbox.flush()
    except Exception:
        logger.exception("could not commit waiting outcomes at exit")
