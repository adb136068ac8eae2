"""taskboard's own lifecycle signals, beside ``django.tasks``' ``task_enqueued``,
``task_started`` and ``task_finished``:

=====================  ======================================================================
``run_retrying``       an attempt failed and a retry is scheduled (``run.run_after``)
``run_dead_lettered``  the run failed for good and has a dead letter (also ``task_finished``)
``run_cancelled``      the run was cancelled, waiting or running (also ``task_finished``)
``run_progress``       the run's progress was written (coalesced: at most one per
                       ``PROGRESS_MIN_INTERVAL`` per run, the last value always)
=====================  ======================================================================

Each is sent with ``sender=TaskRun`` and ``run=<the TaskRun as stored>``, after the outcome
committed, once per outcome (a stale or duplicate outcome matches no row and sends nothing),
wherever the run ended: in its worker, by the clock's lease recovery, after its worker process
died, or by an operator's cancel. ``run_progress`` also has ``percent`` and ``message``.
Receivers run in the process that recorded the outcome and must be quick; an exception in one
is logged, never raised into the worker.
"""

from __future__ import annotations

import structlog
from django.dispatch import Signal

from taskboard.models import Status, TaskRun

logger = structlog.get_logger("taskboard.backend")

run_retrying = Signal()
run_dead_lettered = Signal()
run_cancelled = Signal()
run_progress = Signal()

_BY_STATUS = {Status.RETRYING: run_retrying, Status.FAILED: run_dead_lettered, Status.CANCELLED: run_cancelled}


def _send(signal: Signal, run: TaskRun, **extra: object) -> None:
    for receiver, outcome in signal.send_robust(sender=TaskRun, run=run, **extra):
        if isinstance(outcome, Exception):
            logger.error("lifecycle signal receiver failed", receiver=repr(receiver), error=repr(outcome),
                         run_id=str(run.pk))


def send_outcome(run: TaskRun) -> None:
    """After a failed attempt's outcome committed: the signal of the state it left the run in
    (retrying, failed with a dead letter, or cancelled); nothing for any other state."""
    signal = _BY_STATUS.get(Status(run.status)) if run.status in _BY_STATUS else None
    if signal is not None and signal.has_listeners(TaskRun):
        _send(signal, run)


def send_progress(run: TaskRun, percent: int, message: str) -> None:
    if run_progress.has_listeners(TaskRun):
        _send(run_progress, run, percent=percent, message=message)
