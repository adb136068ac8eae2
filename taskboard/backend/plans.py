"""What enqueueing a task needs that is the same for every run, worked out once per task.

Validating the task (options, retry policy, flow control), reading the backend's ``OPTIONS``,
checking its hooks and adapting its columns for the INSERT used to be redone at every enqueue,
and cost several times the INSERT itself. A ``Plan`` holds the result for one task object. The
backend keeps one per task object (``plan_for``): a ``.using()`` copy is another object and
gets its own, and a new backend (Django builds one when ``TASKS`` changes) starts empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.tasks.base import Task

from taskboard.backend.arguments import Arguments
from taskboard.backend.hooks import check_hooks
from taskboard.backend.loading import as_taskboard_task
from taskboard.backend.rows import RunInsert
from taskboard.backend.task import TaskboardTask
from taskboard.exceptions import InvalidTaskArguments

# Plans kept per backend: bounded for code that enqueues through a fresh .using() copy each time.
PLANS_MAX = 512


@dataclass(slots=True)
class Plan:
    task: Task  # the very object planned for (held, so its id is not reused while cached)
    options: TaskboardTask
    # The task's columns of every run (Python values): name, queue, backend, policy.
    columns: dict[str, Any]
    hooks: dict[str, str] | None
    # on_limit="reject" with a concurrency limit: the enqueue checks the limit under a lock.
    rejecting: bool
    flow: bool  # any flow-control column to fill in per run
    _hooks_checked: bool = False
    # A new run's attributes as TaskRun(**columns) sets them, and the names of those that are
    # mutable (JSON dicts and lists): see backend.pending.PendingRun.instance.
    run_template: tuple[dict[str, Any], tuple[str, ...]] | None = None
    _inserts: dict[str, RunInsert] = field(default_factory=dict)

    def checked_hooks(self) -> dict[str, str] | None:
        """The ``hooks`` column of a run (not a callback's), its tasks checked once."""
        if self.hooks and not self._hooks_checked:
            check_hooks(self.options)
            self._hooks_checked = True
        return self.hooks

    def flow_columns(self, arguments: Arguments) -> dict[str, Any]:
        if not self.flow:
            return {}
        try:
            return self.options.flow_columns(arguments.args, arguments.kwargs)
        except KeyError as exc:
            raise InvalidTaskArguments(
                f"{self.task.module_path}: a key template needs the argument {exc.args[0]}") from None

    def insert(self, own: dict[str, Any], texts: dict[str, str]) -> None:
        """INSERT a run of this task on the default database (see ``rows.RunInsert``)."""
        vendor = connection.vendor
        statement = self._inserts.get(vendor)
        if statement is None:
            statement = self._inserts[vendor] = RunInsert(self.columns)
        statement.insert(own, texts)

    def insert_statement(self, own: dict[str, Any], texts: dict[str, Any]) -> tuple[str, list[Any]]:
        """The same INSERT as ``(sql, params)``, run with other statements (``together``)."""
        vendor = connection.vendor
        statement = self._inserts.get(vendor)
        if statement is None:
            statement = self._inserts[vendor] = RunInsert(self.columns)
        return statement.statement_with(own, texts)


def build(task: Task, alias: str) -> Plan:
    """The plan of a validated ``task`` enqueued through backend ``alias``."""
    options = as_taskboard_task(task)
    policy = options.policy
    columns = {"task": task.module_path, "queue": task.queue_name, "backend": alias, "priority": task.priority,
               "max_attempts": policy.max_attempts, "backoff": policy.backoff.as_dict(),
               "timeout": options.effective_timeout}
    flow = options.concurrency_limit is not None or options.rate_limit is not None or options.breaker is not None
    return Plan(task=task, options=options, columns=columns, hooks=options.hook_columns(),
                rejecting=options.on_limit == "reject" and options.concurrency_limit is not None, flow=flow)
