"""``execute(run_id)``: the only function django-q2 ever calls.

claim → call the task under a monitor → record the attempt → succeed, retry or dead-letter.

The monitor is one daemon thread per worker process. While an attempt runs it renews the
lease, polls for a cancel request and watches the deadline. To stop a handler that never
checks (blocked in ``sleep`` or I/O) it sends SIGUSR1 to the worker's main thread; the
handler raises ``TaskCancelled``/``TaskTimedOut`` there, which interrupts blocking calls
(PEP 475 retries a syscall only when the handler returns). If the handler still has not
returned after a grace period (stuck in C code, or swallowing ``BaseException``), the monitor
records the outcome itself and exits the process; django-q2 respawns the worker.

Group commit: in a cluster worker, a success is not written on its own. It waits in the
process's ``Outbox`` (at most ``OUTCOME_BATCH_SECONDS``) and commits in the same transaction
as the next message's claim, one round trip on PostgreSQL; when no message follows, the
monitor thread commits it. A worker process killed inside that window leaves the run
``running`` until its lease expires, like a crash during the call: the attempt is recorded
``lost`` and retried. ``task_finished`` is sent once the outcome is committed (from the
monitor thread when it did the commit). Failures are written at once.
"""

from __future__ import annotations

import json
import multiprocessing.util
import os
import signal
import socket
import threading
import time
import traceback as tb
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json

from taskboard.backends import TaskboardBackend, TaskboardTask, resolve_task
from taskboard.conf import conf
from taskboard.exceptions import PermanentError, TaskCancelled, TaskInterrupted, TaskTimedOut
from taskboard.execution.context import AttemptControl, TaskboardContext
from taskboard.models import Outcome, Status, TaskAttempt, TaskRun, fingerprint
from taskboard.models import sql as rowsql
from taskboard.transport import cluster as transport_cluster

logger = structlog.get_logger("taskboard.execution.runner")

# Exit status of a worker the monitor had to kill; visible in django-q2's log.
EXIT_STUCK = 70


class LeaseLost(TaskInterrupted):
    """The dispatcher declared this attempt lost (its lease expired) while it still ran."""


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def exception_path(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


@dataclass
class Pending:
    """A success waiting in the outbox: its statements and what to do once committed."""

    run: TaskRun
    attempt: TaskAttempt
    result: Any
    statements: list[rowsql.Statement]
    backend: TaskboardBackend
    task: TaskboardTask
    prior: list[TaskAttempt] = field(default_factory=list)
    duration: float = 0.0


class Outbox:
    """Successes of this worker process not yet committed (see the module docstring)."""

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
    for item in items:
        position += len(item.statements)
        applied = bool(counts[position - 1])
        with structlog.contextvars.bound_contextvars(run_id=str(item.run.pk), task=item.run.task,
                                                     attempt=item.attempt.number):
            if applied:
                item.run._succeeded(item.attempt, item.result)
                logger.debug("attempt succeeded", duration=round(item.duration, 3))
                _send_finished(item.backend, item.run, item.task, [*item.prior, item.attempt])
            else:
                logger.warning("result discarded: the run is no longer this worker's")


_outbox: Outbox | None = None
_outbox_pid: int | None = None


def get_outbox() -> Outbox:
    global _outbox, _outbox_pid
    if _outbox is None or _outbox_pid != os.getpid():
        _outbox, _outbox_pid = Outbox(), os.getpid()
        # A worker process that exits normally (django-q2's stop or recycle) commits what
        # waits: multiprocessing runs its finalizers as the process ends.
        multiprocessing.util.Finalize(_outbox, _flush_at_exit, args=(_outbox,), exitpriority=10)
    return _outbox


def _flush_at_exit(outbox: Outbox) -> None:
    try:
        outbox.flush()
    except Exception:
        logger.exception("could not commit waiting outcomes at exit")


class Monitor:
    """Per-process watcher of the attempt in progress, and committer of the outbox."""

    TICK = 0.1

    def __init__(self) -> None:
        self.active: AttemptControl | None = None
        self.main_thread_id = threading.main_thread().ident
        self.can_signal = False
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self.wake = threading.Event()
        self.outbox = get_outbox()  # this process's; the monitor commits what waits there

    def ensure_started(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        # Signals reach only the main thread; elsewhere (e.g. a test thread) interruption
        # is cooperative only.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGUSR1, self._on_signal)
            self.can_signal = True
        self.thread = threading.Thread(target=self._loop, name="taskboard-monitor", daemon=True)
        self.thread.start()

    def _on_signal(self, signum: int, frame: Any) -> None:
        control = self.active
        if control is not None and control.armed and control.shield == 0:
            control.raise_pending()

    def _loop(self) -> None:
        next_poll = next_beat = 0.0
        watched: AttemptControl | None = None
        flushed_at: float | None = None
        while True:
            due = self.outbox.due
            wait = self.TICK if due is None else min(self.TICK, max(0.0, due - time.monotonic()))
            self.wake.wait(wait)
            self.wake.clear()
            if self.outbox.due is not None and time.monotonic() >= self.outbox.due:
                try:
                    self.outbox.flush()
                    flushed_at = time.monotonic()
                except Exception:
                    logger.exception("could not commit waiting outcomes; retrying in 1 s")
                    connection.close()
                    time.sleep(1.0)
            control = self.active
            if control is None:
                # Between attempts hold no connection: idle workers should not pin database
                # sessions (and a test database must be droppable). After committing the
                # outbox keep it a moment: under a trickle of runs it is used again soon.
                if watched is not None or (flushed_at is not None and time.monotonic() - flushed_at > 1.0):
                    watched = flushed_at = None
                    connection.close()
                continue
            if control is not watched:
                watched = control
                next_poll = control.started + conf.CANCEL_POLL_SECONDS
                next_beat = control.started + conf.HEARTBEAT_SECONDS
            try:
                next_poll, next_beat = self._check(control, next_poll, next_beat)
            except Exception:
                logger.exception("monitor check failed", run_id=str(control.run.pk))
                close_old_connections()
                connection.close()

    def _check(self, control: AttemptControl, next_poll: float, next_beat: float) -> tuple[float, float]:
        now = time.monotonic()
        if control.interrupt is not None:
            if now - (control.interrupted_at or now) > conf.INTERRUPT_GRACE_SECONDS:
                self._give_up(control)
            return next_poll, next_beat
        if control.deadline is not None and now >= control.deadline:
            self.interrupt(control, TaskTimedOut(
                f"attempt {control.number} exceeded its timeout of "
                f"{control.run.timeout:g}s"
            ))
            return next_poll, next_beat
        if now >= next_poll:
            next_poll = now + conf.CANCEL_POLL_SECONDS
            row = (TaskRun.objects.filter(pk=control.run.pk)
                   .values("status", "attempts", "cancel_requested", "cancel_requested_by")
                   .first())
            if row is None or row["status"] != Status.RUNNING or row["attempts"] != control.number:
                self.interrupt(control, LeaseLost("the run was taken over (lease expired)"))
            elif row["cancel_requested"]:
                who = row["cancel_requested_by"] or "an operator"
                self.interrupt(control, TaskCancelled(f"cancelled by {who}"))
        if now >= next_beat:
            next_beat = now + conf.HEARTBEAT_SECONDS
            if not control.run.renew_lease(control.number, conf.LEASE_SECONDS):
                self.interrupt(control, LeaseLost("the run was taken over (lease expired)"))
        control.flush_progress()
        return next_poll, next_beat

    def interrupt(self, control: AttemptControl, exc: TaskInterrupted) -> None:
        if not control.request_interrupt(exc):
            return
        logger.info("interrupting attempt", run_id=str(control.run.pk), reason=str(exc))
        if self.can_signal and control.armed and control.shield == 0:
            assert self.main_thread_id is not None
            signal.pthread_kill(self.main_thread_id, signal.SIGUSR1)

    def _give_up(self, control: AttemptControl) -> None:
        """The handler ignored the interrupt: record the outcome here and end the process."""
        exc = control.interrupt
        assert exc is not None
        if not isinstance(exc, LeaseLost):
            attempt = build_attempt(control.run, control.number, control.started, exc,
                                    _kind_of_interrupt(exc), "")
            attempt.message += " (the handler did not stop; its worker process was ended)"
            control.run.settle_failure(attempt)
        _flush_at_exit(self.outbox)
        logger.error("handler ignored interrupt; ending worker process",
                     run_id=str(control.run.pk), attempt=control.number)
        os._exit(EXIT_STUCK)


_monitor: Monitor | None = None


def get_monitor() -> Monitor:
    global _monitor
    # A forked child must not reuse its parent's monitor (the thread did not survive fork).
    if _monitor is None or _monitor.pid != os.getpid():
        _monitor = Monitor()
    _monitor.ensure_started()
    return _monitor


def _kind_of_interrupt(exc: TaskInterrupted) -> Outcome:
    if isinstance(exc, TaskTimedOut):
        return Outcome.TIMEOUT
    if isinstance(exc, TaskCancelled):
        return Outcome.CANCELLED
    return Outcome.LOST


def build_attempt(run: TaskRun, number: int, started: float, exc: BaseException,
                  kind: Outcome, trace: str) -> TaskAttempt:
    now = timezone.now()
    path = exception_path(exc)
    message = str(exc)[:4000]
    return TaskAttempt(
        run=run, task=run.task, number=number, outcome=kind,
        exception=path, message=message, traceback=trace[-20000:],
        fingerprint=fingerprint(run.task, path, message),
        started_at=now - timedelta(seconds=time.monotonic() - started),
        finished_at=now, worker=run.worker,
    )


def execute(run_id: str) -> None:
    """Run one attempt of a run, if it is still claimable. Never raises for task errors."""
    in_cluster = transport_cluster.delivered_by_cluster(run_id)
    outbox = get_outbox()
    waiting = outbox.take()
    try:
        run, counts = _claim(run_id, statements_of(waiting))
    except Exception:
        outbox.restore(waiting)
        raise
    settle(waiting, counts)
    if run is None:
        logger.debug("message dropped: run not claimable", run_id=str(run_id))
        return
    number = run.attempts
    with structlog.contextvars.bound_contextvars(run_id=str(run.pk), task=run.task,
                                                 attempt=number):
        _execute_claimed(run, number, defer=in_cluster and conf.OUTCOME_BATCH_SECONDS > 0)


def _claim(run_id: str, riders: list[rowsql.Statement]) -> tuple[TaskRun | None, list[int]]:
    try:
        return TaskRun.objects.claim_with(run_id, worker_identity(), conf.LEASE_SECONDS, riders)
    except (InterfaceError, OperationalError):
        # Workers skip Django's per-task connection health check (a query per task);
        # a connection the server dropped fails here once and is replaced.
        if not connection.get_autocommit():
            raise
        connection.close()
        return TaskRun.objects.claim_with(run_id, worker_identity(), conf.LEASE_SECONDS, riders)


def _execute_claimed(run: TaskRun, number: int, *, defer: bool = False) -> None:
    log = logger.bind()
    started = time.monotonic()
    task = resolve_task(run.task)
    if task is None:
        exc = PermanentError(f"task {run.task} cannot be imported by the worker")
        run.settle_failure(build_attempt(run, number, started, exc, Outcome.PERMANENT, ""))
        log.error("task not importable; dead-lettered")
        return

    backend: TaskboardBackend = task.get_backend()  # type: ignore[assignment]
    # Earlier attempts' rows (for TaskResult.errors); a first attempt has none to read.
    prior = list(run.attempt_set.all()) if number > 1 else []
    result = backend.to_result(run, task, prior)
    deadline = started + run.timeout if run.timeout else None
    control = AttemptControl(run=run, number=number, deadline=deadline, started=started)
    monitor = get_monitor()
    monitor.active = control
    task_started.send(type(backend), task_result=result)
    log.debug("attempt started", queue=run.queue)
    try:
        value = _call(task, run, control, result, log)
        outcome: Any = ("ok", _json_result(value))
    except TaskInterrupted as exc:
        outcome = ("error", exc, _kind_of_interrupt(exc), tb.format_exc())
        # The signal may have torn a database call in the task: start clean.
        connection.close()
    except BaseException as exc:  # noqa: BLE001 - a worker records every failure
        kind = task.policy.classify(exc) if not isinstance(exc, PermanentError) else Outcome.PERMANENT
        outcome = ("error", exc, kind, tb.format_exc())
    finally:
        control.armed = False
        monitor.active = None

    if outcome[0] == "ok":
        control.flush_progress(force=True)
        attempt = TaskAttempt(
            run=run, task=run.task, number=number, outcome=Outcome.SUCCEEDED,
            started_at=run.claimed_at, finished_at=timezone.now(), worker=run.worker,
        )
        pending = Pending(run=run, attempt=attempt, result=outcome[1],
                          statements=run.success_statements(attempt, outcome[1]),
                          backend=backend, task=task, prior=prior,
                          duration=time.monotonic() - started)
        if defer:
            if monitor.outbox.add(pending):
                monitor.wake.set()
        else:
            settle([pending], [count for count, _ in rowsql.run(pending.statements)])
        return

    _, exc, kind, trace = outcome
    if isinstance(exc, LeaseLost):
        log.warning("attempt abandoned: lease lost")
        return
    attempt = build_attempt(run, number, started, exc, kind, trace)
    if run.settle_failure(attempt):
        log.warning("attempt failed", kind=kind, error=attempt.message[:200],
                    next=run.status, run_after=run.run_after and run.run_after.isoformat())
        if run.status != Status.RETRYING:
            _send_finished(backend, run, task, [*prior, attempt])
    else:
        log.warning("failure discarded: the run is no longer this worker's")


def _call(task: TaskboardTask, run: TaskRun, control: AttemptControl, result: Any, log: Any) -> Any:
    context = None
    if task.takes_context:
        context = TaskboardContext(task_result=result, run_id=str(run.pk),
                                   checkpoint=run.checkpoint, control=control, log=log)
    control.armed = True
    # An interrupt that arrived before arming (e.g. a timeout of 0) is raised now.
    control.raise_pending()
    if context is not None:
        return task.call(context, *run.args, **run.kwargs)
    return task.call(*run.args, **run.kwargs)


def _json_result(value: Any) -> Any:
    try:
        value = normalize_json(value)
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"the task returned a value that is not JSON: {exc}") from exc
    return value


def _send_finished(backend: TaskboardBackend, run: TaskRun, task: TaskboardTask,
                   attempts: list[TaskAttempt]) -> None:
    result = backend.to_result(run, task, attempts)
    if result.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
        task_finished.send(type(backend), task_result=result)
