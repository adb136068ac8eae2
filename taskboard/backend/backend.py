"""``TaskboardBackend``: the ``django.tasks`` backend; a run is a validated ``TaskRun`` row.

The row is written in the caller's transaction and its run id pushed to the broker only
after commit, so a rolled-back enqueue leaves nothing behind.
"""

from __future__ import annotations

import math
import uuid
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.tasks import TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskError
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone

from taskboard.backend import correlation, registry
from taskboard.backend.arguments import NonJSONArguments, validate_arguments
from taskboard.backend.hooks import check_hook_form, check_hooks
from taskboard.backend.loading import as_taskboard_task, resolve_task, task_of_run
from taskboard.backend.rows import insert_one
from taskboard.backend.task import TaskboardTask
from taskboard.exceptions import InvalidTaskArguments, LimitExceeded
from taskboard.flow.locks import lock_keys
from taskboard.models import OPEN, Batch, Outcome, Status, TaskAttempt, TaskRun, priority_mix
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

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        try:
            run, _ = self.create_run(task, args, kwargs)
        except NonJSONArguments as exc:
            # Django's contract: arguments that are not JSON raise what normalize_json
            # raises (TypeError/ValueError). Operators' paths keep the 400-able wrapper.
            raise exc.error from None
        return self.to_result(run, task)

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

        Round trips: one INSERT (in autocommit, no transaction around it) and the push; a
        transaction only where a check must hold until the write (``on_limit="reject"``, a
        batch join) or an idempotency race must be caught inside the caller's transaction.
        """

        if queue is not None or run_after is not None or priority is not None:
            # .using() validates them (an unknown queue, a priority outside -100…100).
            task = task.using(queue_name=queue, run_after=run_after, priority=priority)
        if registry.get(task.module_path) is not task:
            # The decorated task itself was validated when decorated (and .using() copies when
            # made); a task rebuilt from a stored run (a replay) was not.
            self.validate_task(task)
        # A plain Task routed here with .using(backend=…) runs with the default options.
        options = as_taskboard_task(task)
        args, kwargs = validate_arguments(task, args, kwargs)
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise InvalidTaskArguments("idempotency_key must be 1 to 200 characters")
        hooks = None if callback else options.hook_columns()
        if hooks:
            check_hooks(options)
        if replay_of is not None and correlation_id is None:
            correlation_id = replay_of.correlation_id or None
        correlation_id = correlation.resolve(correlation_id)
        try:
            flow = options.flow_columns(args, kwargs)
        except KeyError as exc:
            raise InvalidTaskArguments(f"{task.module_path}: a key template needs the argument {exc.args[0]}") from None

        if idempotency_key is not None:
            existing = TaskRun.objects.filter(task=task.module_path,
                                              idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False

        now = timezone.now()
        deferred = task.run_after is not None and task.run_after > now
        policy = options.policy
        run = TaskRun(
            task=task.module_path,
            queue=task.queue_name,
            backend=self.alias,
            priority=task.priority,
            status=Status.SCHEDULED if deferred else Status.QUEUED,
            args=args,
            kwargs=kwargs,
            max_attempts=policy.max_attempts,
            backoff=policy.backoff.as_dict(),
            timeout=options.effective_timeout,
            enqueued_at=now,
            run_after=task.run_after,
            # Set for the push that on_commit makes; a run whose push never happens is
            # re-pushed by the dispatcher once this is old enough.
            dispatched_at=None if deferred else now,
            replay_of=replay_of,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            hooks=hooks,
            **flow,
        )
        rejecting = options.on_limit == "reject" and bool(run.concurrency_key)
        joining = replay_of is not None and replay_of.batch_id is not None
        guarded = idempotency_key is not None and transaction.get_connection().in_atomic_block
        try:
            with transaction.atomic() if rejecting or joining or guarded else nullcontext():
                if rejecting:
                    reject_over_limit(run)
                if joining and Batch.objects.replace_child(replay_of):  # type: ignore[arg-type]
                    run.batch_id = replay_of.batch_id  # type: ignore[union-attr]
                insert_run(run)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # A concurrent request with the same key won the race.
            return TaskRun.objects.get(task=task.module_path, idempotency_key=idempotency_key), False
        if not deferred:
            push_after_commit(run)
        task_enqueued.send(type(self), task_result=self.to_result(run, task))
        return run, True

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


def reject_over_limit(run: TaskRun) -> None:
    """``on_limit="reject"``: LimitExceeded when the key already has its limit of open runs.
    Counted under the key's lock (PostgreSQL; SQLite's write transaction is exclusive), so
    two concurrent enqueues cannot both take the last place."""
    lock_keys([f"concurrency:{run.concurrency_key}"])
    limit = run.concurrency_limit or 0
    if TaskRun.objects.filter(concurrency_key=run.concurrency_key, status__in=OPEN).count() >= limit:
        raise LimitExceeded(run.concurrency_key, limit)


def insert_run(run: TaskRun) -> None:
    """INSERT the new run's row with the memoised statement of ``models.sql`` (``save()``
    compiles its SQL anew on every call), leaving the instance as ``save()`` would."""
    insert_one(run)
    run._state.adding = False
    run._state.db = transaction.get_connection().alias
    priority_mix.note((run.priority,))


def push_after_commit(run: TaskRun) -> None:
    """Send a queued run's id to its broker once the caller's transaction commits; a push
    that never happens is repeated by the clock (``dispatched_at`` grows old)."""
    run_id, queue = run.pk, run.queue
    transaction.on_commit(lambda: push.push(run_id, queue), robust=True)
