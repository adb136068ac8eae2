"""What a running task sees: ``TaskboardContext`` and the per-attempt control block.

``AttemptControl`` is shared between the task's thread and the runner's monitor thread: the
monitor sets ``interrupt`` (cancel, timeout, lease lost) and the task's cooperative calls
(``raise_if_cancelled()``, ``progress()``, ``save_checkpoint()``) raise it at a safe point.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.tasks import TaskContext
from django.utils.json import normalize_json

from taskboard.conf import conf
from taskboard.exceptions import TaskInterrupted
from taskboard.models import TaskRun


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
        self.run.save_progress(self.number, *pending)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskboardContext(TaskContext):
    run_id: str
    checkpoint: Any
    control: AttemptControl = field(repr=False)
    log: Any = field(repr=False)

    def raise_if_cancelled(self) -> None:
        """Raise ``TaskCancelled`` (or ``TaskTimedOut``) if the run must stop now."""
        self.control.raise_pending()

    def save_checkpoint(self, value: Any) -> None:
        """Persist JSON state; a later attempt (after a crash or retry) starts from it."""
        self.raise_if_cancelled()
        try:
            value = normalize_json(value)
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"checkpoint must be a JSON value: {exc}") from None
        with self.control.shielded():
            self.control.run.save_checkpoint(self.control.number, value)
        object.__setattr__(self, "checkpoint", value)

    def progress(self, percent: float, message: str = "") -> None:
        """Report progress (0–100). Writes are coalesced; the newest value always lands."""
        self.raise_if_cancelled()
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise TypeError("progress percent must be a number")
        if not math.isfinite(percent):
            raise ValueError("progress percent must be finite")
        value = max(0, min(100, round(percent)))
        control = self.control
        with control.lock:
            control.pending_progress = (value, str(message)[:255])
        with control.shielded():
            control.flush_progress()
