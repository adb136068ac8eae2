"""``enqueue_many``: many runs of one task in one transaction, all or nothing.

Every item is validated first, by the same rules as a single enqueue (arguments JSON, bound
to the signature, typed; flow-control keys resolved per item): one bad item raises
``InvalidItem`` naming its index and nothing is written. Then one transaction writes the rows
with one statement (``bulk_rows``: ``COPY`` on PostgreSQL, ``executemany`` on SQLite) and — for
a new batch — the ``Batch`` row, or for an existing one the conditional UPDATE that adds the
children (refused once the batch has finished). After the commit each ``CHUNK`` of runs is
pushed with one broker round trip (one multi-row INSERT into the ORM broker's table, one
``RPUSH`` of many messages on Redis); a rollback around the call discards rows and pushes alike.

``on_limit="reject"`` is honoured for the whole call: under the keys' locks (the same as a
single enqueue's), a key whose open runs plus this call's runs would exceed its limit refuses
the call (``LimitExceeded``, naming the first item over the limit), nothing written.
Idempotency keys and ``run_after`` are for single enqueues.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.tasks.base import Task
from django.tasks.exceptions import InvalidTask
from django.tasks.signals import log_task_enqueued, task_enqueued
from django.utils import timezone

from taskboard.backend import correlation
from taskboard.backend.arguments import Arguments, validated_arguments
from taskboard.backend.backend import TaskboardBackend
from taskboard.backend.bulk_rows import RunRows, new_run_ids
from taskboard.backend.hooks import callback_task
from taskboard.backend.plans import Plan
from taskboard.exceptions import InvalidTaskArguments, LimitExceeded, OperationError
from taskboard.flow.locks import lock_keys
from taskboard.models import OPEN, Batch, Status, TaskRun
from taskboard.models.batches import BatchClosed
from taskboard.transport import push

# Run ids per broker push (one round trip each).
CHUNK = 500
NAME_MAX = 200
_ITEM_KEYS = frozenset(("args", "kwargs"))
_NO_FLOW: dict[str, Any] = {}  # the flow columns of a task without flow control (read only)


@dataclass(frozen=True, slots=True)
class Call:
    """One item: the arguments of one run (``call(*args, **kwargs)`` builds it)."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def call(*args: Any, **kwargs: Any) -> Call:
    return Call(args, kwargs)


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """A new batch: its name and the callback tasks (dotted names) of its completion."""

    name: str = ""
    on_complete: str | None = None
    on_success: str | None = None


@dataclass
class Enqueued:
    """What ``enqueue_many`` wrote: the new runs' ids in item order, and their batch."""

    ids: list[str]
    batch: Batch | None

    def __len__(self) -> int:
        return len(self.ids)

    def runs(self) -> list[TaskRun]:
        """The runs as they are now, in item order (one query)."""
        found = TaskRun.objects.in_bulk([uuid.UUID(run_id) for run_id in self.ids])
        return [found[uuid.UUID(run_id)] for run_id in self.ids if uuid.UUID(run_id) in found]


class InvalidItem(InvalidTaskArguments):
    """Item ``index`` cannot be enqueued; nothing was written."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"item {index}: {message}")
        self.index = index


class ItemOverLimit(LimitExceeded):
    def __init__(self, index: int, key: str, limit: int, open_runs: int) -> None:
        super().__init__(key, limit)
        self.args = (f"item {index}: {key} already has {open_runs} of {limit} open runs; "
                     f"this call would add more than the {limit - open_runs} left",)
        self.index = index


type BatchArg = Batch | uuid.UUID | str | BatchSpec | Mapping[str, Any] | None


def enqueue_many(task: Task, items: Iterable[Call | Mapping[str, Any]], *, queue: str | None = None,
                 priority: int | None = None, batch: BatchArg = None,
                 correlation_id: str | None = None) -> Enqueued:
    """Enqueue one run of ``task`` per item, all or nothing (see the module docstring).

    ``items``: ``call(*args, **kwargs)`` values or ``{"args"?: [...], "kwargs"?: {...}}``.
    ``batch``: None; a new batch (``BatchSpec`` or ``{"name"?, "on_complete"?,
    "on_success"?}``); or an open batch to add the runs to (a ``Batch``, or its id) — from
    inside a task of that batch, ``context.batch``. ``correlation_id``: see
    ``backend.correlation``; the runs of a batch share the batch's.
    """
    if queue is not None or priority is not None:
        task = task.using(queue_name=queue, priority=priority)  # validates both
    backend = task.get_backend()
    if not isinstance(backend, TaskboardBackend):
        raise InvalidTask(f"{task.module_path} does not use the taskboard backend")
    plan = backend.plan_for(task)  # validated, and its columns worked out, once per task
    calls = [_validated(task, plan, index, item) for index, item in enumerate(items)]
    hooks = plan.checked_hooks()
    spec = _batch_spec(batch)
    existing = _existing_batch(batch) if spec is None and batch is not None else None
    if spec is not None and not calls:
        raise InvalidTaskArguments("a batch needs at least one item")
    given = correlation.check(correlation_id) if correlation_id is not None else None
    batch_correlation = existing.correlation_id if existing is not None else ""
    # A new batch with no correlation id of its own gets its id as one: its children, its
    # callbacks and whatever they enqueue are then found together.
    batch_id = uuid.uuid4()
    run_correlation = correlation.resolve(given, batch_correlation) or (str(batch_id) if spec else "")

    now = timezone.now()
    rows = RunRows({**plan.columns, "status": Status.QUEUED, "enqueued_at": now, "dispatched_at": now,
                    "hooks": hooks, "correlation_id": run_correlation})
    ids = new_run_ids(len(calls))
    for run_id, (arguments, flow) in zip(ids, calls, strict=True):
        rows.add(run_id, arguments, flow)
    with transaction.atomic():
        if plan.rejecting:
            _reject_over_limit(calls)
        new_batch = None
        if spec is not None:
            new_batch = Batch.objects.create(id=batch_id, name=spec.name, on_complete=spec.on_complete or "",
                                             on_success=spec.on_success or "", correlation_id=run_correlation,
                                             total=len(ids), open=len(ids), created_at=now)
        elif existing is not None and ids:
            try:
                Batch.objects.add_children(existing.pk, len(ids))
            except BatchClosed as exc:
                raise OperationError(str(exc)) from None
        target = new_batch or existing
        if target is not None:
            rows.set_shared("batch_id", target.pk)
        rows.insert()
        queue = task.queue_name
        for start in range(0, len(ids), CHUNK):
            transaction.on_commit(partial(push.push_many, ids[start:start + CHUNK], queue), robust=True)
    if _enqueued_observed(type(backend)):
        for run_id, (arguments, _) in zip(ids, calls, strict=True):
            task_enqueued.send(type(backend), task_result=backend.ready_result(
                task, run_id, arguments.args, arguments.kwargs, now))
    return Enqueued(ids=ids, batch=target)


def _enqueued_observed(sender: type) -> bool:
    """Whether sending ``task_enqueued`` for each run would do anything. Django's own receiver
    only writes a DEBUG line to the ``django.tasks`` logger: with no other receiver and that
    level off, building a ``TaskResult`` per run for it was a fifth of an ``enqueue_many``."""
    try:
        sync, asynchronous = task_enqueued._live_receivers(sender)
    except (AttributeError, TypeError, ValueError):  # another Django: send, as the contract says
        return True
    if asynchronous or any(receiver is not log_task_enqueued for receiver in sync):
        return True
    return bool(sync) and logging.getLogger("django.tasks").isEnabledFor(logging.DEBUG)


def _validated(task: Task, plan: Plan, index: int, item: Any) -> tuple[Arguments, dict[str, Any]]:
    """``(arguments, flow columns)`` of item ``index``; ``InvalidItem`` saying what is wrong."""
    if isinstance(item, Call):
        args, kwargs = list(item.args), dict(item.kwargs)
    elif type(item) is dict or isinstance(item, Mapping):  # (an ABC's isinstance is slow)
        if len(item) > 2 or not _ITEM_KEYS.issuperset(item):
            unknown = sorted(str(key) for key in item if key not in _ITEM_KEYS)
            raise InvalidItem(index, f"unknown field {unknown[0]!r}; an item has only 'args' and 'kwargs'")
        given_args, given_kwargs = item.get("args"), item.get("kwargs")
        args = [] if given_args is None else given_args
        kwargs = {} if given_kwargs is None else given_kwargs
    else:
        raise InvalidItem(index, "an item is {'args'?: [...], 'kwargs'?: {...}} or taskboard.bulk.call(...), "
                                 f"not {type(item).__name__}")
    try:
        arguments = validated_arguments(task, args, kwargs)
        flow = plan.options.flow_columns(arguments.args, arguments.kwargs) if plan.flow else _NO_FLOW
    except InvalidTask as exc:
        raise InvalidItem(index, str(exc)) from None
    except KeyError as exc:
        raise InvalidItem(index, f"a key template needs the argument {exc.args[0]}") from None
    return arguments, flow


def _batch_spec(batch: BatchArg) -> BatchSpec | None:
    """The new batch asked for, checked; None when ``batch`` names none to create."""
    if isinstance(batch, Mapping):
        unknown = sorted(str(key) for key in batch if key not in ("name", "on_complete", "on_success"))
        if unknown:
            raise InvalidTaskArguments(f"batch: unknown field {unknown[0]!r}")
        batch = BatchSpec(name=batch.get("name") or "", on_complete=batch.get("on_complete"),
                          on_success=batch.get("on_success"))
    if not isinstance(batch, BatchSpec):
        return None
    if not isinstance(batch.name, str) or len(batch.name) > NAME_MAX or not batch.name.isprintable():
        raise InvalidTaskArguments(f"batch name must be printable text of at most {NAME_MAX} characters")
    for option in ("on_complete", "on_success"):
        name = getattr(batch, option)
        if name is not None:
            if not isinstance(name, str) or not name:
                raise InvalidTaskArguments(f"batch {option} must be a task name")
            try:
                callback_task(name, "batch_id", trusted=True)
            except InvalidTask as exc:
                raise InvalidTaskArguments(f"batch {option}: {exc}") from None
    return batch


def _existing_batch(batch: BatchArg) -> Batch:
    if isinstance(batch, Batch):
        batch_id: Any = batch.pk
    else:
        try:
            batch_id = uuid.UUID(str(batch))
        except ValueError:
            raise InvalidTaskArguments(f"batch {str(batch)[:60]!r} is not a batch id") from None
    found = Batch.objects.filter(pk=batch_id).first()
    if found is None:
        raise InvalidTaskArguments(f"no batch {batch_id}")
    return found


def _reject_over_limit(calls: list[tuple[Arguments, dict[str, Any]]]) -> None:
    """``on_limit="reject"`` for a whole call, under the keys' locks."""
    by_key: dict[str, list[int]] = {}
    limits: dict[str, int] = {}
    for index, (_, flow) in enumerate(calls):
        key = flow.get("concurrency_key")
        if key:
            by_key.setdefault(key, []).append(index)
            limits[key] = flow.get("concurrency_limit") or 0
    if not by_key:
        return
    lock_keys(f"concurrency:{key}" for key in by_key)
    for key, indexes in sorted(by_key.items()):
        limit = limits[key]
        open_runs = TaskRun.objects.filter(concurrency_key=key, status__in=OPEN).count()
        if open_runs + len(indexes) > limit:
            first_over = indexes[max(0, limit - open_runs)]
            raise ItemOverLimit(first_over, key, limit, open_runs)
