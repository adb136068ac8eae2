"""The per-process monitor thread: lease, cancel poll, timeout, give-up; and the outbox.

One daemon thread per worker process. While an attempt runs it renews the lease, polls for a
cancel request and watches the deadline. To stop a handler that never checks (blocked in
``sleep`` or I/O) it sends SIGUSR1 to the worker's main thread; the handler raises
``TaskCancelled``/``TaskTimedOut`` there, which interrupts blocking calls (PEP 475 retries a
syscall only when the handler returns). If the handler still has not returned after a grace
period (stuck in C code, or swallowing ``BaseException``), the monitor records the outcome
itself and exits the process; django-q2 respawns the worker. Between attempts it commits the
outbox when no next claim came to carry it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

import structlog
from django.db import close_old_connections, connection

from taskboard.conf import conf
from taskboard.exceptions import TaskCancelled, TaskInterrupted, TaskTimedOut
from taskboard.execution.interrupt import AttemptControl, LeaseLost, kind_of_interrupt
from taskboard.execution.outbox import flush_at_exit, get_outbox
from taskboard.execution.recording import Failure, build_attempt, send_finished_for
from taskboard.flow.release import after_finish, needs_release
from taskboard.models import Status, TaskRun

logger = structlog.get_logger("taskboard.execution.runner")

# Exit status of a worker the monitor had to end; visible in django-q2's log.
EXIT_STUCK = 70


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

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
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
            attempt = build_attempt(control.run, control.number, control.started,
                                    Failure(exc, kind_of_interrupt(exc), ""))
            attempt.message += " (the handler did not stop; its worker process was ended)"
            if control.run.settle_failure(attempt):
                send_finished_for(control.run)
                if needs_release(control.run):
                    after_finish([control.run])
        flush_at_exit(self.outbox)
        logger.error("handler ignored interrupt; ending worker process",
                     run_id=str(control.run.pk), attempt=control.number)
        os._exit(EXIT_STUCK)


_monitor: Monitor | None = None


def get_monitor() -> Monitor:
    """This process's monitor, started (a forked child gets a new one)."""
    global _monitor
    # A forked child must not reuse its parent's monitor (the thread did not survive fork).
    if _monitor is None or _monitor.pid != os.getpid():
        _monitor = Monitor()
    _monitor.ensure_started()
    return _monitor
