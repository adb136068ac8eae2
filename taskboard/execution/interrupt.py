"""Stopping a running handler: the per-attempt ``AttemptControl`` and what an interrupt means.

``AttemptControl`` is shared between the task's thread and the monitor thread: the monitor
sets ``interrupt`` (cancel, timeout, lease lost) and either signals the main thread (see
``monitor``) or waits for the task's cooperative calls (``raise_if_cancelled()``,
``progress()``, ``save_checkpoint()``) to raise it at a safe point. ``kind_of_interrupt``
maps the exception to the attempt outcome it is recorded as.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from taskboard.backend.signals import send_progress
from taskboard.conf import conf
from taskboard.exceptions import TaskCancelled, TaskInterrupted, TaskTimedOut
from taskboard.models import Outcome, TaskRun


class LeaseLost(TaskInterrupted):
    """The dispatcher declared this attempt lost (its lease expired) while it still ran."""


def kind_of_interrupt(exc: TaskInterrupted) -> Outcome:
    if isinstance(exc, TaskTimedOut):
        return Outcome.TIMEOUT
    if isinstance(exc, TaskCancelled):
        return Outcome.CANCELLED
    return Outcome.LOST


@dataclass(eq=False)
class AttemptControl:
    run: TaskRun
    number: int
    deadline: float | None  # time.monotonic() value, or None for no timeout
    started: float = field(default_factory=time.monotonic)
    # Set by the monitor thread; raised in the task's thread.
    interrupt: TaskInterrupted | None = None
    interrupted_at: float | None = None
    # True while the task function runs (signals may raise only then).
    armed: bool = False
    # Depth of shielded sections (our own DB writes) that a signal must not tear.
    shield: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending_progress: tuple[int, str] | None = None
    progress_written_at: float = 0.0

    def request_interrupt(self, exc: TaskInterrupted) -> bool:
        """Record the interrupt; True if it is the first one."""
        with self.lock:
            if self.interrupt is not None:
                return False
            self.interrupt = exc
            self.interrupted_at = time.monotonic()
            return True

    def raise_pending(self) -> None:
        if self.interrupt is not None and self.armed:
            raise self.interrupt

    @contextmanager
    def shielded(self) -> Iterator[None]:
        self.shield += 1
        try:
            yield
        finally:
            self.shield -= 1
        self.raise_pending()

    def flush_progress(self, force: bool = False) -> None:
        """Write the newest progress if the coalescing interval has passed (or ``force``)."""
        with self.lock:
            pending = self.pending_progress
            now = time.monotonic()
            if pending is None or (
                not force and now - self.progress_written_at < conf.PROGRESS_MIN_INTERVAL
            ):
                return
            self.pending_progress = None
            self.progress_written_at = now
        if self.run.save_progress(self.number, *pending):
            send_progress(self.run, *pending)  # run_progress, as coalesced as the write
