"""The ``django.tasks`` backend: ``@task`` functions become tracked ``TaskRun`` rows.

``TaskboardTask`` adds the retry/timeout options that Django 6.1 passes through
``@task(**kwargs)``; unset options fall back to ``TASKS[alias]["OPTIONS"]``.
"""

from __future__ import annotations

import inspect
import json
import math
import types
import typing
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.tasks import TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskError
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from taskboard import registry
from taskboard.exceptions import InvalidTaskArguments
from taskboard.jsonvalues import check_json_value
from taskboard.retry import Backoff, ExceptionTypes, RetryPolicy, as_exception_types

# Refuse argument payloads that would bloat every row read by the dashboard.
MAX_ARGUMENTS_BYTES = 512 * 1024

STATUS_MAP = {
    "queued": TaskResultStatus.READY,
    "scheduled": TaskResultStatus.READY,
    "retrying": TaskResultStatus.READY,
    "running": TaskResultStatus.RUNNING,
    "succeeded": TaskResultStatus.SUCCESSFUL,
    "failed": TaskResultStatus.FAILED,
    "cancelled": TaskResultStatus.FAILED,
}

_OPTION_DEFAULTS: dict[str, Any] = {
    "max_attempts": 3,
    "timeout": None,
    "backoff_base": 1.0,
    "backoff_factor": 2.0,
    "backoff_max": 300.0,
    "jitter": 1.0,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskboardTask(Task):
    # None means "the backend's OPTIONS default".
    max_attempts: int | None = None
    timeout: float | None = None
    backoff_base: float | None = None
    backoff_factor: float | None = None
    backoff_max: float | None = None
    jitter: float | None = None
    retry_on: ExceptionTypes | type[BaseException] = ()
    give_up_on: ExceptionTypes | type[BaseException] = ()

    def option(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            backend = self.get_backend()
            value = backend.options.get(name, _OPTION_DEFAULTS[name])
        return value

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.option("max_attempts"),
            backoff=Backoff(
                base=float(self.option("backoff_base")),
                factor=float(self.option("backoff_factor")),
                max_delay=float(self.option("backoff_max")),
                jitter=float(self.option("jitter")),
            ),
            retry_on=as_exception_types(self.retry_on, "retry_on"),
            give_up_on=as_exception_types(self.give_up_on, "give_up_on"),
        )

    @property
    def effective_timeout(self) -> float | None:
        value = self.option("timeout")
        return None if value is None else float(value)


def validate_arguments(task: Task, args: Any, kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """JSON-normalise the arguments and check they bind to the task's signature."""
    if not isinstance(args, list | tuple):
        raise InvalidTaskArguments("args must be a list")
    if not isinstance(kwargs, dict):
        raise InvalidTaskArguments("kwargs must be an object")
    try:
        check_json_value([args, kwargs], "arguments")
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        encoded = json.dumps([args, kwargs], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTaskArguments(f"arguments must be JSON values: {exc}") from None
    if len(encoded) > MAX_ARGUMENTS_BYTES:
        raise InvalidTaskArguments(
            f"arguments are {len(encoded)} bytes of JSON, over the {MAX_ARGUMENTS_BYTES} limit"
        )
    if any(not isinstance(key, str) for key in kwargs):
        raise InvalidTaskArguments("kwargs keys must be strings")
    try:
        signature = inspect.signature(task.func, eval_str=True)  # readable in error messages
    except Exception:  # noqa: BLE001 - annotations that do not resolve
        signature = inspect.signature(task.func)
    leading = [None] if task.takes_context else []
    try:
        bound = signature.bind(*leading, *args, **kwargs)
    except TypeError as exc:
        raise InvalidTaskArguments(f"arguments do not match {task.name}{signature}: {exc}") from None
    _check_types(task, signature, bound)
    return args, kwargs


# JSON types accepted for a simple annotation. bool is an int in Python but not in JSON.
_ACCEPTED: dict[Any, tuple[type, ...]] = {
    int: (int,), float: (int, float), str: (str,), bool: (bool,), list: (list,),
    dict: (dict,), type(None): (type(None),),
}


def _accepted_types(hint: Any) -> tuple[type, ...] | None:
    if hint in _ACCEPTED:
        return _ACCEPTED[hint]
    origin = typing.get_origin(hint)
    if origin in (list, dict):
        return (origin,)
    if origin in (typing.Union, types.UnionType):
        accepted: tuple[type, ...] = ()
        for member in typing.get_args(hint):
            member_types = _accepted_types(member)
            if member_types is None:
                return None  # a member we cannot check: accept anything
            accepted += member_types
        return accepted
    return None


def _check_types(task: Task, signature: inspect.Signature, bound: inspect.BoundArguments) -> None:
    """Check arguments against simple annotations (int, float, str, bool, list, dict, X | None)."""
    try:
        hints = typing.get_type_hints(task.func)
    except Exception:  # noqa: BLE001 - unresolvable annotations: nothing to check against
        return
    for name, value in bound.arguments.items():
        parameter = signature.parameters[name]
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if task.takes_context and name == "context":
            continue
        accepted = _accepted_types(hints.get(name))
        if accepted is None:
            continue
        if isinstance(value, bool) and bool not in accepted:
            ok = False
        else:
            ok = isinstance(value, accepted)
        if not ok:
            expected = " or ".join(sorted({t.__name__ if t is not type(None) else "null" for t in accepted}))
            raise InvalidTaskArguments(
                f"argument {name!r} must be {expected}, got {type(value).__name__} {value!r:.50}"
            )


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
            registry.register(task)

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        run, _ = self.create_run(task, args, kwargs)
        return self.to_result(run, task)

    def create_run(
        self,
        task: Task,
        args: Any,
        kwargs: Any,
        *,
        queue: str | None = None,
        run_after: datetime | None = None,
        idempotency_key: str | None = None,
        replay_of: Any = None,
    ) -> tuple[Any, bool]:
        """Validate and store a run; push it to the broker once the transaction commits.

        Returns ``(run, created)``; ``created`` is False when ``idempotency_key`` matched an
        existing run of the same task, which is then returned unchanged.
        """
        from taskboard import dispatch
        from taskboard.models import Status, TaskRun

        if queue is not None or run_after is not None:
            task = task.using(queue_name=queue, run_after=run_after)
        self.validate_task(task)
        if not isinstance(task, TaskboardTask):
            raise InvalidTask("taskboard runs need a taskboard task")
        args, kwargs = validate_arguments(task, args, kwargs)
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise InvalidTaskArguments("idempotency_key must be 1 to 200 characters")

        if idempotency_key is not None:
            existing = TaskRun.objects.filter(task=task.module_path,
                                              idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False

        now = timezone.now()
        deferred = task.run_after is not None and task.run_after > now
        policy = task.policy
        run = TaskRun(
            task=task.module_path,
            queue=task.queue_name,
            priority=task.priority,
            status=Status.SCHEDULED if deferred else Status.QUEUED,
            args=args,
            kwargs=kwargs,
            max_attempts=policy.max_attempts,
            backoff=policy.backoff.as_dict(),
            timeout=task.effective_timeout,
            enqueued_at=now,
            run_after=task.run_after,
            # Set for the push that on_commit makes; a run whose push never happens is
            # re-pushed by the dispatcher once this is old enough.
            dispatched_at=None if deferred else now,
            replay_of=replay_of,
            idempotency_key=idempotency_key,
        )
        try:
            with transaction.atomic():
                run.save(force_insert=True)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # A concurrent request with the same key won the race.
            return TaskRun.objects.get(task=task.module_path, idempotency_key=idempotency_key), False
        if not deferred:
            run_id = run.id
            transaction.on_commit(lambda: dispatch.push(run_id, run.queue), robust=True)
        task_enqueued.send(type(self), task_result=self.to_result(run, task))
        return run, True

    def get_result(self, result_id: str) -> TaskResult:
        from taskboard.models import TaskRun

        try:
            run = TaskRun.objects.get(pk=uuid.UUID(str(result_id)))
        except (ValueError, TaskRun.DoesNotExist):
            raise TaskResultDoesNotExist(result_id) from None
        return self.to_result(run)

    def to_result(self, run: Any, task: Task | None = None, attempts: list[Any] | None = None) -> TaskResult:
        """The ``TaskResult`` of a run; pass ``attempts`` (its attempt rows) when already known."""
        from taskboard.models import Outcome

        if task is None:
            task = resolve_task(run.task)
            if task is None:
                raise TaskResultDoesNotExist(f"{run.id}: task {run.task} cannot be imported")
        if attempts is None:
            attempts = list(run.attempt_set.all()) if run.attempts else []
        worker_ids = [a.worker for a in attempts]
        if run.status == "running":
            worker_ids.append(run.worker)  # the attempt in progress has no row yet
        result = TaskResult(
            task=task.using(queue_name=run.queue, run_after=run.run_after)
            if run.run_after else task,
            id=str(run.id),
            status=STATUS_MAP[run.status],
            enqueued_at=run.enqueued_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            last_attempted_at=run.claimed_at,
            args=run.args,
            kwargs=run.kwargs,
            backend=self.alias,
            errors=[
                TaskError(exception_class_path=a.exception, traceback=a.traceback or a.message)
                for a in attempts if a.outcome != Outcome.SUCCEEDED
            ],
            worker_ids=worker_ids,
        )
        object.__setattr__(result, "_return_value", run.result)
        return result


def resolve_task(path: str) -> TaskboardTask | None:
    """The task object for a stored run's path (trusted: only we write it)."""
    task = registry.get(path)
    if task is not None:
        return task
    try:
        candidate = import_string(path)
    except (ImportError, AttributeError, ValueError):
        return None
    return candidate if isinstance(candidate, TaskboardTask) else None
