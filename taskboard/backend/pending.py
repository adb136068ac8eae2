"""A run validated and ready to be written: what ``create_run`` does, in two steps.

``TaskboardBackend.prepare_run`` does all the checking (task options, queue, priority,
arguments, hooks, flow keys) and reads nothing; ``PendingRun`` then writes the run. A caller
that writes more in the same transaction (``operations.enqueue``: the audit event) validates
first and only then takes SQLite's write lock, so a request that fails validation never queues
for it, and the lock is held only for the statements themselves.

``statements`` / ``written`` are the plain case's write as statements, run with the caller's
own as one transaction by ``backend.together.run_together``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models.base import ModelState
from django.tasks import TaskResult
from django.tasks.signals import task_enqueued
from django.utils import timezone

from taskboard.backend.arguments import Arguments
from taskboard.backend.plans import Plan
from taskboard.models import Status, TaskRun, priority_mix
from taskboard.models.sql import Statement
from taskboard.transport import push

if TYPE_CHECKING:
    from taskboard.backend.backend import TaskboardBackend

_ENQUEUED_AT = TaskRun._meta.get_field("enqueued_at")


def own_columns(plan: Plan, arguments: Arguments, flow: dict[str, Any], *, hooks: dict[str, str] | None,
                correlation_id: str, now: datetime, replaces: TaskRun | None = None,
                idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
    """The columns of a new run that are its own (the task's are ``plan.columns``), and
    whether it waits for its ``run_after`` (then it is not pushed)."""
    task = plan.task
    deferred = task.run_after is not None and task.run_after > now
    own: dict[str, Any] = {"id": uuid.uuid4(), "args": arguments.args, "kwargs": arguments.kwargs,
                           "enqueued_at": now}
    if deferred:
        own["status"] = Status.SCHEDULED  # (queued is the column's default)
    else:
        # Set for the push that follows the commit; a run whose push never happens is
        # re-pushed by the dispatcher once this is old enough.
        own["dispatched_at"] = now
    if task.run_after is not None:
        own["run_after"] = task.run_after
    if correlation_id:
        own["correlation_id"] = correlation_id
    if hooks:
        own["hooks"] = hooks
    if replaces is not None:
        own["replay_of_id"] = replaces.pk
    if idempotency_key is not None:
        own["idempotency_key"] = idempotency_key
    own.update(flow)
    return own, deferred


def announce(backend: TaskboardBackend, plan: Plan, own: dict[str, Any], arguments: Arguments,
             *, deferred: bool, pushed: bool) -> TaskResult:
    """What follows a run's INSERT in this process: the push after commit (unless ``pushed``
    already went in the transaction), the priority note, ``task_enqueued``; the run's result."""
    task = plan.task
    priority_mix.note((task.priority,))  # this process's claims must see it at once
    if not deferred and not pushed:
        transaction.on_commit(partial(push.push, own["id"], task.queue_name), robust=True)
    result = backend.ready_result(task, own["id"], arguments.args, arguments.kwargs, own["enqueued_at"])
    task_enqueued.send(type(backend), task_result=result)
    return result


@dataclass(slots=True)
class PendingRun:
    backend: TaskboardBackend
    plan: Plan
    arguments: Arguments
    flow: dict[str, Any]
    hooks: dict[str, str] | None
    correlation_id: str
    replay_of: TaskRun | None
    idempotency_key: str | None
    _own: dict[str, Any] | None = None
    prepared_now: Any = None  # set by statements(): its time, adapted for the database
    _deferred: bool = False
    _pushed: bool = False

    @property
    def plain(self) -> bool:
        """Written by one INSERT (and its message) with nothing to check or catch first: no
        idempotency key (a look-up and a race), no ``on_limit="reject"`` (a count under a
        lock), not a replay (one of a batch child takes its place in the batch)."""
        return (self.idempotency_key is None and self.replay_of is None
                and not (self.plan.rejecting and bool(self.flow.get("concurrency_key"))))

    def create(self) -> tuple[TaskRun, bool]:
        """Write the run (see ``TaskboardBackend.create_run``)."""
        task = self.plan.task
        key = self.idempotency_key
        if key is not None:
            existing = TaskRun.objects.filter(task=task.module_path, idempotency_key=key).first()
            if existing is not None:
                return existing, False
        try:
            own, _ = self.backend._write(self.plan, self.arguments, self.flow, hooks=self.hooks,
                                         correlation_id=self.correlation_id, replaces=self.replay_of,
                                         idempotency_key=key)
        except IntegrityError:
            if key is None:
                raise
            # A concurrent request with the same key won the race.
            return TaskRun.objects.get(task=task.module_path, idempotency_key=key), False
        return self.instance(own), True

    def statements(self) -> list[Statement]:
        """A ``plain`` run's INSERT and, when its queue's broker is a table of the same
        database (the ORM broker on SQLite), its message: both commit with the caller's
        other statements or not at all, one write transaction instead of two."""
        now = timezone.now()
        own, deferred = own_columns(self.plan, self.arguments, self.flow, hooks=self.hooks,
                                    correlation_id=self.correlation_id, now=now)
        self._own, self._deferred = own, deferred
        # The time as the database stores it, adapted once for every column that takes it.
        self.prepared_now = _ENQUEUED_AT.get_db_prep_save(now, connection)
        texts = {"args": self.arguments.args_json, "kwargs": self.arguments.kwargs_json,
                 "enqueued_at": self.prepared_now}
        if "dispatched_at" in own:
            texts["dispatched_at"] = self.prepared_now
        statements = [self.plan.insert_statement(own, texts)]
        if not deferred:
            message = push.message_statement(own["id"], self.plan.task.queue_name, now=now, lock=self.prepared_now)
            if message is not None:
                statements.append(message)
                self._pushed = True
        return statements

    @property
    def run_id(self) -> uuid.UUID:
        assert self._own is not None, "statements() first"
        run_id: uuid.UUID = self._own["id"]
        return run_id

    def written(self) -> TaskRun:
        """After ``statements`` were executed: the push (after commit, unless the message
        was among them), ``task_enqueued``; the run."""
        assert self._own is not None, "statements() first"
        announce(self.backend, self.plan, self._own, self.arguments, deferred=self._deferred, pushed=self._pushed)
        return self.instance(self._own)

    def instance(self, own: dict[str, Any]) -> TaskRun:
        """The new run as a model instance, built from what was written (no read).

        Copied from a template instance of the plan's task (``Model.__init__`` over ~45
        fields cost about a tenth of a single enqueue); the template's mutable values
        (JSON dicts and lists) are copied, as the caller may change its instance."""
        plan, hooks = self.plan, self.hooks
        if plan.run_template is None:
            made = TaskRun(**plan.columns).__dict__
            mutable = tuple(name for name, value in made.items() if isinstance(value, dict | list))
            if any(isinstance(item, dict | list) for name in mutable
                   for item in (made[name].values() if isinstance(made[name], dict) else made[name])):
                raise TypeError(f"{plan.task.module_path}: nested JSON in a task-wide column")  # copied flat
            plan.run_template = made, mutable
        template, mutable = plan.run_template
        run = TaskRun.__new__(TaskRun)
        values = run.__dict__
        values.update(template)
        values.update(own)
        for name in mutable:
            if name not in own:  # backoff, and empty JSON defaults: flat
                values[name] = template[name].copy()
        if hooks:
            values["hooks"] = dict(hooks)
        state = values["_state"] = ModelState()
        state.adding = False
        state.db = transaction.get_connection().alias
        if self.replay_of is not None:
            run.replay_of = self.replay_of
        return run
