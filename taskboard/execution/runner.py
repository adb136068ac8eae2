"""``execute(run_id)``: the only function django-q2 ever calls.

claim → call the task under the process's ``monitor`` → record the attempt → succeed (through
the ``outbox`` when a cluster delivered the message), retry or dead-letter. A failed attempt
ends in ``TaskRun.settle_failure`` at once, inside the ``except`` block that caught it;
``task_finished`` is sent once the outcome is committed. Nothing a task does (not even
failing to import) escapes ``execute``.
"""

from __future__ import annotations

import time
import traceback as tb
from typing import Any

import structlog
from django.db import InterfaceError, OperationalError, connection
from django.tasks import TaskResult
from django.tasks.base import Task
from django.tasks.signals import task_started
from django.utils import timezone

from taskboard.backend import correlation, signals
from taskboard.backend.backend import TaskboardBackend
from taskboard.backend.loading import as_taskboard_task, import_task
from taskboard.backend.task import TaskboardTask
from taskboard.conf import conf
from taskboard.exceptions import PermanentError, TaskInterrupted
from taskboard.execution.context import TaskboardContext
from taskboard.execution.interrupt import AttemptControl, LeaseLost, kind_of_interrupt
from taskboard.execution.monitor import get_monitor
from taskboard.execution.outbox import Pending, get_outbox, settle, statements_of
from taskboard.execution.recording import Failure, build_attempt, json_result, send_finished
from taskboard.flow import admission, handoff
from taskboard.flow.release import after_finish, needs_release
from taskboard.models import Outcome, Status, TaskAttempt, TaskRun
from taskboard.models import sql as rowsql
from taskboard.models.nodes import process_identity
from taskboard.transport import cluster as transport_cluster

logger = structlog.get_logger("taskboard.execution.runner")


# How many released runs one message may start in a row (see ``execute``).
HANDOFF_MAX = 20


def execute(run_id: str) -> None:
    """Run one attempt of a run, if it is still claimable. Never raises for task errors.

    In a cluster worker, a run that held a concurrency slot hands the slot on: the release
    after its outcome claims the key's next held run for this process (``flow.handoff``), or
    releases one of the same queue, and this process runs that one next, at once, instead of
    waiting for the broker to deliver its message (the ORM broker polls). A bounded number in
    a row, so one message cannot keep a worker forever; the last one hands nothing on.
    """
    in_cluster = transport_cluster.delivered_by_cluster(run_id)
    rounds = HANDOFF_MAX if in_cluster else 1
    # A handed-on run came with no message of its own: its outcome is not deferred.
    handed = _execute_message(run_id, defer_success=in_cluster, hand_on=in_cluster and rounds > 1)
    for left in range(rounds - 2, -1, -1):
        if handed is None:
            return
        hand_on = left > 0
        if isinstance(handed, TaskRun):
            handed = _execute_run(handed, defer_success=False, hand_on=hand_on)
        else:
            handed = _execute_message(handed, defer_success=False, hand_on=hand_on)


Handed = TaskRun | str | None


def _execute_message(run_id: str, *, defer_success: bool, hand_on: bool) -> Handed:
    """One claim and attempt; with ``hand_on``, returns what its outcome handed on."""
    outbox = get_outbox()
    waiting = outbox.take()
    try:
        run, counts = _claim(run_id, statements_of(waiting))
    except Exception:
        outbox.restore(waiting)
        raise
    settle(waiting, counts)
    if run is None:
        # Not claimable by the hot path: a constrained or paused run (admission claims or
        # holds it), or a message whose run is gone (it stands for another queued run).
        run = admission.claim_or_hold(run_id, process_identity(), conf.LEASE_SECONDS)
    if run is None:
        logger.debug("message dropped: nothing claimable", run_id=str(run_id))
        return None
    return _execute_run(run, defer_success=defer_success, hand_on=hand_on)


def _execute_run(run: TaskRun, *, defer_success: bool, hand_on: bool) -> Handed:
    """The attempt of a run this process claimed; with ``hand_on``, returns the run its
    outcome claimed for this process (``flow.handoff``), else the id of a run it released
    into the same queue, else None."""
    number = run.attempts
    with structlog.contextvars.bound_contextvars(run_id=str(run.pk), task=run.task, attempt=number,
                                                 correlation_id=run.correlation_id or str(run.pk)):
        # A run holding a flow slot commits at once: waiting for the group commit would keep
        # the slot (and the held run behind it) idle for up to OUTCOME_BATCH_SECONDS. So does
        # a run with effects (hooks, a batch): they commit with its outcome, in one ORM
        # transaction (models.outcomes), not on the raw group-committed path.
        holds_slot = needs_release(run)
        if not (hand_on and holds_slot):
            _execute_claimed(run, number, defer=defer_success and conf.OUTCOME_BATCH_SECONDS > 0
                             and not holds_slot and not run.has_effects)
            return None
        with handoff.handing_off(process_identity(), conf.LEASE_SECONDS, run.queue) as handed:
            try:
                _execute_claimed(run, number)
            except Exception:
                if handed.claimed is None:
                    raise
                # Only a signal receiver can raise after the outcome committed; the run it
                # handed on is this process's already: start it, not leave it to its lease.
                logger.exception("error after the outcome; starting the run it handed on")
    if handed.claimed is not None:
        return handed.claimed
    return next((str(pk) for pk, queue in handed.released if queue == run.queue), None)


def _claim(run_id: str, riders: list[rowsql.Statement]) -> tuple[TaskRun | None, list[int]]:
    try:
        return TaskRun.objects.claim_with(run_id, process_identity(), conf.LEASE_SECONDS, riders)
    except (InterfaceError, OperationalError):
        # Workers skip Django's per-task connection health check (a query per task);
        # a connection the server dropped fails here once and is replaced.
        if not connection.get_autocommit():
            raise
        connection.close()
        return TaskRun.objects.claim_with(run_id, process_identity(), conf.LEASE_SECONDS, riders)


def _execute_claimed(run: TaskRun, number: int, *, defer: bool = False) -> None:
    started = time.monotonic()
    try:
        task, backend = import_task(run)
    except Exception as exc:  # noqa: BLE001 - any import failure, not only ImportError
        # Retrying cannot fix a module that does not import: fail now, with its traceback,
        # instead of leaving the run claimed until its lease runs out.
        error = PermanentError(f"task {run.task} cannot be imported by the worker: "
                               f"{type(exc).__name__}: {exc}")
        failure = Failure(error, Outcome.PERMANENT, tb.format_exc())
        if run.settle_failure(build_attempt(run, number, started, failure)) and needs_release(run):
            after_finish([run])
        logger.error("task not importable; dead-lettered", error=error.args[0][:200])
        return

    runnable = as_taskboard_task(task)
    # Earlier attempts' rows (for TaskResult.errors); a first attempt has none to read.
    prior = list(run.attempt_set.all()) if number > 1 else []
    result = backend.to_result(run, task, prior)
    deadline = started + run.timeout if run.timeout else None
    control = AttemptControl(run=run, number=number, deadline=deadline, started=started)
    monitor = get_monitor()
    monitor.active = control
    task_started.send(type(backend), task_result=result)
    logger.debug("attempt started", queue=run.queue)
    returned = False
    try:
        try:
            value = _call(runnable, run, control, result)
        finally:
            control.armed = False
            monitor.active = None
        returned = True
        value = json_result(value)
    # A failure is recorded, and task_finished sent, inside the except block: Django's
    # FAILED log line takes its traceback from sys.exc_info().
    except TaskInterrupted as exc:
        # The signal may have torn a database call in the task: start clean.
        connection.close()
        _record_failure(run, number, started, Failure(exc, kind_of_interrupt(exc), tb.format_exc()),
                        backend, task, prior)
        return
    except BaseException as exc:  # noqa: BLE001 - a worker records every failure
        # Once the handler returned, only its value can fail (not JSON): the same call would
        # return it again, so that is permanent whatever the retry policy says.
        permanent = returned or isinstance(exc, PermanentError)
        kind = Outcome.PERMANENT if permanent else runnable.policy.classify(exc)
        _record_failure(run, number, started, Failure(exc, kind, tb.format_exc()), backend, task, prior)
        return

    control.flush_progress(force=True)
    attempt = TaskAttempt(
        run=run, task=run.task, number=number, outcome=Outcome.SUCCEEDED,
        started_at=run.claimed_at or timezone.now(), finished_at=timezone.now(), worker=run.worker,
    )
    pending = Pending(run=run, attempt=attempt, result=value,
                      statements=run.success_statements(attempt, value),
                      backend=backend, task=task, prior=prior,
                      duration=time.monotonic() - started)
    if defer:
        if monitor.outbox.add(pending):
            monitor.wake.set()
    else:
        settle([pending], run.commit_success(attempt, value, pending.statements))


def _record_failure(run: TaskRun, number: int, started: float, failure: Failure,
                    backend: TaskboardBackend, task: Task, prior: list[TaskAttempt]) -> None:
    if isinstance(failure.error, LeaseLost):
        # Whoever declared the attempt lost recorded it; the run is not ours any more.
        logger.warning("attempt abandoned: lease lost")
        return
    attempt = build_attempt(run, number, started, failure)
    if run.settle_failure(attempt):
        if needs_release(run):
            after_finish([run])
        logger.warning("attempt failed", kind=failure.kind, error=attempt.message[:200],
                       next=run.status, run_after=run.run_after and run.run_after.isoformat())
        signals.send_outcome(run)  # run_retrying / run_dead_lettered / run_cancelled
        if run.status != Status.RETRYING:
            send_finished(backend, run, task, [*prior, attempt])
    else:
        logger.warning("failure discarded: the run is no longer this worker's")


def _call(task: TaskboardTask, run: TaskRun, control: AttemptControl, result: TaskResult) -> Any:
    context = None
    if task.takes_context:
        context = TaskboardContext(task_result=result, run_id=str(run.pk),
                                   checkpoint=run.checkpoint, control=control, log=logger.bind())
    control.armed = True
    # What the task enqueues inherits this run's correlation id (backend.correlation).
    with correlation.running(run.correlation_id, str(run.pk)):
        # An interrupt that arrived before arming (e.g. a timeout of 0) is raised now.
        control.raise_pending()
        if context is not None:
            return task.call(context, *run.args, **run.kwargs)
        return task.call(*run.args, **run.kwargs)
