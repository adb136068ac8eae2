"""``TaskboardBackend``: the ``django.tasks`` backend; a run is a validated ``TaskRun`` row.

The row is written in the caller's transaction and its run id pushed to the broker only
after commit, so a rolled-back enqueue leaves nothing behind.
"""

from __future__ import annotations

import math
import uuid
from contextlib import nullcontext
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.tasks import TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskError
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.utils import timezone

from taskboard.backend import correlation, plans, registry
from taskboard.backend.arguments import Arguments, NonJSONArguments, validated_arguments
from taskboard.backend.hooks import check_hook_form
from taskboard.backend.loading import resolve_task, task_of_run
from taskboard.backend.pending import PendingRun, announce, own_columns
from taskboard.backend.plans import Plan
from taskboard.backend.task import TaskboardTask
from taskboard.exceptions import InvalidTaskArguments, LimitExceeded
from taskboard.flow.locks import lock_keys
from taskboard.models import OPEN, Batch, Outcome, TaskAttempt, TaskRun
from taskboard.transport import push

STATUS_MAP = {
    "queued": TaskResultStatus.READY,
    "scheduled": TaskResultStatus.READY,
    "retrying": TaskResultStatus.READY,
    "held": TaskResultStatus.READY,
    "running": TaskResultStatus.RUNNING,
    "succeeded": TaskResultStatus.SUCCESSFUL,
    "failed": TaskResultStatus.FAILED,
    "cancelled": TaskResultStatus.FAILED,
}


class TaskboardBackend(BaseTaskBackend):
    task_class = TaskboardTask

    # Runs are rows with a run_after column; the dispatcher pushes them when due.
    supports_defer = True
    # Workers call async functions through Task.call(), which bridges with async_to_sync.
    supports_async_task = True
    # Results are rows, readable from any process.
    supports_get_result = True
    # Priority is stored and shown, and orders the dispatcher's batches; the brokers
    # themselves are FIFO, so it is best effort.
    supports_priority = True

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        if isinstance(task, TaskboardTask):
            try:
                task.policy  # noqa: B018 - builds and validates the policy
                timeout = task.effective_timeout
            except (TypeError, ValueError) as exc:
                raise InvalidTask(f"{task.module_path}: {exc}") from None
            if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
                raise InvalidTask(f"{task.module_path}: timeout must be a positive number")
            try:
                task.validate_flow_options()
                check_hook_form(task)
            except ValueError as exc:
                raise InvalidTask(f"{task.module_path}: {exc}") from None
            registry.register(task)

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self._plans: dict[int, Plan] = {}

    def plan_for(self, task: Task) -> Plan:
        """What enqueueing ``task`` (this very object) needs, validated and prepared once."""
        plan = self._plans.get(id(task))
        if plan is not None and plan.task is task:
            return plan
        if registry.get(task.module_path) is not task:
            # The decorated task itself was validated when decorated (and .using() copies when
            # made); a task rebuilt from a stored run (a replay) was not.
            self.validate_task(task)
        plan = plans.build(task, self.alias)
        if len(self._plans) >= plans.PLANS_MAX:
            self._plans.clear()
        self._plans[id(task)] = plan
        return plan

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        plan = self.plan_for(task)
        try:
            arguments = validated_arguments(task, args, kwargs)
        except NonJSONArguments as exc:
            # Django's contract: arguments that are not JSON raise what normalize_json
            # raises (TypeError/ValueError). Operators' paths keep the 400-able wrapper.
            raise exc.error from None
        _, result = self._write(plan, arguments, plan.flow_columns(arguments), hooks=plan.checked_hooks(),
                                correlation_id=correlation.resolve(None))
        return result

    def prepare_run(
        self,
        task: Task,
        args: Any,
        kwargs: Any,
        *,
        queue: str | None = None,
        run_after: datetime | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
        replay_of: TaskRun | None = None,
        correlation_id: str | None = None,
        callback: bool = False,
    ) -> PendingRun:
        """Validate a run (see ``create_run``), reading and writing nothing: the run to write."""
        if queue is not None or run_after is not None or priority is not None:
            # .using() validates them (an unknown queue, a priority outside -100…100).
            task = task.using(queue_name=queue, run_after=run_after, priority=priority)
        plan = self.plan_for(task)
        arguments = validated_arguments(task, args, kwargs)
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise InvalidTaskArguments("idempotency_key must be 1 to 200 characters")
        hooks = None if callback else plan.checked_hooks()
        if replay_of is not None and correlation_id is None:
            correlation_id = replay_of.correlation_id or None
        correlation_id = correlation.resolve(correlation_id)
        return PendingRun(self, plan, arguments, plan.flow_columns(arguments), hooks, correlation_id, replay_of,
                          idempotency_key)

    def create_run(
        self,
        task: Task,
        args: Any,
        kwargs: Any,
        *,
        queue: str | None = None,
        run_after: datetime | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
        replay_of: TaskRun | None = None,
        correlation_id: str | None = None,
        callback: bool = False,
    ) -> tuple[TaskRun, bool]:
        """Validate and store a run; push it to the broker once the transaction commits.

        Returns ``(run, created)``; ``created`` is False when ``idempotency_key`` matched an
        existing run of the same task, which is then returned unchanged. ``correlation_id``:
        see ``backend.correlation`` (a replay keeps its original's). A replay of a batch child
        takes that child's place in its batch (``Batch.objects.replace_child``). A
        ``callback`` run (a hook or batch callback) gets no hooks of its own.
        """
        return self.prepare_run(task, args, kwargs, queue=queue, run_after=run_after, priority=priority,
                                idempotency_key=idempotency_key, replay_of=replay_of,
                                correlation_id=correlation_id, callback=callback).create()

    def _write(self, plan: Plan, arguments: Arguments, flow: dict[str, Any], *, hooks: dict[str, str] | None,
               correlation_id: str, replaces: TaskRun | None = None,
               idempotency_key: str | None = None) -> tuple[dict[str, Any], TaskResult]:
        """INSERT the run, push it after commit, send ``task_enqueued``: the columns of the
        run that are its own (the task's are ``plan.columns``), and its ``TaskResult``.

        Round trips: the INSERT (in autocommit, no transaction around it) and the push; a
        transaction only where a check must hold until the write (``on_limit="reject"``, a
        batch join) or an idempotency race must be caught inside the caller's transaction.
        """
        own, deferred = own_columns(plan, arguments, flow, hooks=hooks, correlation_id=correlation_id,
                                    now=timezone.now(), replaces=replaces, idempotency_key=idempotency_key)
        texts = {"args": arguments.args_json, "kwargs": arguments.kwargs_json}
        rejecting = plan.rejecting and bool(flow.get("concurrency_key"))
        joining = replaces is not None and replaces.batch_id is not None
        guarded = idempotency_key is not None and transaction.get_connection().in_atomic_block
        with transaction.atomic() if rejecting or joining or guarded else nullcontext():
            if rejecting:
                reject_over_limit(flow["concurrency_key"], flow.get("concurrency_limit") or 0)
            if joining and Batch.objects.replace_child(replaces):  # type: ignore[arg-type]
                own["batch_id"] = replaces.batch_id  # type: ignore[union-attr]
            plan.insert(own, texts)
        return own, announce(self, plan, own, arguments, deferred=deferred, pushed=False)

    def get_result(self, result_id: str) -> TaskResult:
        try:
            run = TaskRun.objects.get(pk=uuid.UUID(str(result_id)))
        except (ValueError, TaskRun.DoesNotExist):
            raise TaskResultDoesNotExist(result_id) from None
        return self.to_result(run)

    def ready_result(self, task: Task, run_id: uuid.UUID | str, args: list[Any], kwargs: dict[str, Any],
                     enqueued_at: datetime) -> TaskResult:
        """The ``TaskResult`` of a run just enqueued, built without its row (bulk enqueue)."""
        result: TaskResult[Any, Any] = TaskResult(
            task=task, id=str(run_id), status=TaskResultStatus.READY, enqueued_at=enqueued_at, started_at=None,
            finished_at=None, last_attempted_at=None, args=args, kwargs=kwargs, backend=self.alias, errors=[],
            worker_ids=[],
        )
        object.__setattr__(result, "_return_value", None)
        return result

    def to_result(self, run: TaskRun, task: Task | None = None,
                  attempts: list[TaskAttempt] | None = None) -> TaskResult:
        """The ``TaskResult`` of a run, equal to the one ``enqueue`` returned while nothing
        happened to it; pass ``attempts`` (its attempt rows) when already known."""
        if task is None:
            task = resolve_task(run.task)
            if task is None:
                raise TaskResultDoesNotExist(f"{run.id}: task {run.task} cannot be imported")
        if attempts is None:
            attempts = list(run.attempt_set.all()) if run.attempts else []
        worker_ids = [a.worker for a in attempts]
        if run.status == "running":
            worker_ids.append(run.worker)  # the attempt in progress has no row yet
        result: TaskResult[Any, Any] = TaskResult(
            task=task_of_run(task, run),
            id=str(run.id),
            status=STATUS_MAP[run.status],
            enqueued_at=run.enqueued_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            last_attempted_at=run.claimed_at,
            args=run.args,
            kwargs=run.kwargs,
            backend=run.backend,
            errors=[
                TaskError(exception_class_path=a.exception, traceback=a.traceback or a.message)
                for a in attempts if a.outcome != Outcome.SUCCEEDED
            ],
            worker_ids=worker_ids,
        )
        object.__setattr__(result, "_return_value", run.result)
        return result


def reject_over_limit(key: str, limit: int) -> None:
    """``on_limit="reject"``: LimitExceeded when the key already has its limit of open runs.
    Counted under the key's lock (PostgreSQL; SQLite's write transaction is exclusive), so
    two concurrent enqueues cannot both take the last place."""
    lock_keys([f"concurrency:{key}"])
    if TaskRun.objects.filter(concurrency_key=key, status__in=OPEN).count() >= limit:
        raise LimitExceeded(key, limit)


def push_after_commit(run: TaskRun) -> None:
    """Send a queued run's id to its broker once the caller's transaction commits; a push
    that never happens is repeated by the clock (``dispatched_at`` grows old)."""
    transaction.on_commit(partial(push.push, run.pk, run.queue), robust=True)
