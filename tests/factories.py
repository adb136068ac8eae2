"""Row factories: the one place tests make runs, attempts and dead letters.

Two kinds, for two needs:

- ``make_run``, ``make_attempt``, ``make_dead_letter`` and ``make_failed`` write rows directly,
  as the runner would leave them. They are fast and can place rows anywhere in time
  (``ago=``/``enqueued_at=``, ``finished_at=``, ``created_at=``).
- ``enqueue``, ``failed_run`` and ``succeeded_run`` go through the real path (enqueue, then
  ``execute`` in-process), for tests about what that path records.

Every factory takes keyword arguments for the model fields it does not set itself, and needs
the database (``pytest.mark.django_db`` or the ``db`` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from taskboard import operations
from taskboard.execution.runner import execute
from taskboard.models import FINISHED, DeadLetter, Outcome, Status, TaskAttempt, TaskRun, WorkerNode, fingerprint

ECHO = "tests.sample_tasks.echo"
FAIL = "taskboard.demo.fail"
NOOP = "taskboard.demo.noop"
PERMANENT_ERROR = "taskboard.exceptions.PermanentError"
DECLINED = "card declined for order 1042"


def make_run(status: str = Status.QUEUED, *, task: str = ECHO, ago: float = 0,
             enqueued_at: datetime | None = None, **fields: Any) -> TaskRun:
    """A run enqueued ``ago`` seconds ago (or at ``enqueued_at``), with the timestamps,
    attempt count and worker that fit its ``status`` and arguments that fit the default task;
    ``fields`` override any of them."""
    enqueued = enqueued_at or timezone.now() - timedelta(seconds=ago)
    values: dict[str, Any] = {"task": task, "status": status, "enqueued_at": enqueued, "max_attempts": 3,
                              "kwargs": {"value": 1} if task == ECHO else {}}
    if status not in (Status.QUEUED, Status.SCHEDULED):
        started = enqueued + timedelta(seconds=1)
        values.update(started_at=started, claimed_at=started, attempts=1)
    if status == Status.RUNNING:
        values.update(worker="host-a:101", heartbeat_at=timezone.now())
    if status in FINISHED:
        values["finished_at"] = enqueued + timedelta(seconds=3)
    values.update(fields)
    return TaskRun.objects.create(**values)


def make_attempt(run: TaskRun, number: int = 1, outcome: str = Outcome.PERMANENT, *,
                 finished_at: datetime | None = None, seconds: float = 2.0,
                 exception: str = PERMANENT_ERROR, message: str = DECLINED,
                 traceback: str = "Traceback (most recent call last): ...",
                 worker: str = "host-a:101") -> TaskAttempt:
    """Attempt ``number`` of ``run``, ``seconds`` long, finished at ``finished_at`` (now); a
    failed outcome carries the error, its traceback and fingerprint."""
    finished = finished_at or timezone.now()
    failed = outcome != Outcome.SUCCEEDED
    return TaskAttempt.objects.create(
        run=run, task=run.task, number=number, outcome=outcome,
        exception=exception if failed else "", message=message if failed else "",
        traceback=traceback if failed else "",
        fingerprint=fingerprint(run.task, exception, message) if failed else "",
        started_at=finished - timedelta(seconds=seconds), finished_at=finished, worker=worker,
    )


def make_dead_letter(run: TaskRun, *, created_at: datetime | None = None, reason: str | None = None) -> DeadLetter:
    """The open dead letter of ``run``, by default giving its last error as the reason."""
    last = run.attempt_set.order_by("-number").values_list("fingerprint", flat=True).first()
    return DeadLetter.objects.create(run=run, task=run.task, fingerprint=last or "",
                                     reason=reason or f"permanent error: {run.last_error or 'boom'}",
                                     created_at=created_at or timezone.now())


def make_failed(message: str = DECLINED, *, task: str = FAIL, ago: float = 0,
                exception: str = PERMANENT_ERROR, **fields: Any) -> TaskRun:
    """A run that failed for good, as the runner leaves it: one attempt, the last error and an
    open dead letter."""
    fields.setdefault("kwargs", {"message": message})
    run = make_run(Status.FAILED, task=task, ago=ago, last_error=f"{exception.rsplit('.', 1)[-1]}: {message}",
                   **fields)
    make_attempt(run, message=message, exception=exception, finished_at=run.finished_at)
    make_dead_letter(run, created_at=run.finished_at)
    return run


def make_worker(*, seconds_ago: float = 0.0, stopped: bool = False, name: str = "w1") -> WorkerNode:
    """A worker node last seen ``seconds_ago`` (stopped now with ``stopped``)."""
    now = timezone.now()
    return WorkerNode.objects.create(
        id=name, hostname=f"host-{name}", pid=100, queues=["default"],
        last_seen=now - timedelta(seconds=seconds_ago), stopped_at=now if stopped else None,
    )


# --- through the real path ---------------------------------------------------------------------


def enqueue(name: str = NOOP, **kwargs: Any) -> TaskRun:
    """Enqueue task ``name`` with ``kwargs`` as an operator would (validated, not executed)."""
    return operations.enqueue(name, kwargs=kwargs)[0]


def executed(run: TaskRun) -> TaskRun:
    """``run`` after one execution in this process, reloaded."""
    execute(str(run.id))
    run.refresh_from_db()
    return run


def failed_run(message: str = "card declined") -> TaskRun:
    """A run of taskboard.demo.fail executed in-process: failed, with an open dead letter."""
    run = executed(enqueue(FAIL, message=message))
    assert run.status == Status.FAILED
    return run


def succeeded_run() -> TaskRun:
    """A run of taskboard.demo.noop executed in-process: succeeded."""
    run = executed(enqueue(NOOP))
    assert run.status == Status.SUCCEEDED
    return run
