"""A cluster dies with its supervisor, and a dead django-q2 worker's run is settled at once.

Two holes in django-q2 (see the django-q2 notes) that only the cluster process can close:

* **Orphaned clusters.** The supervisor's death reaches the cluster's main process as one
  SIGTERM (``PR_SET_PDEATHSIG``). django-q2's stop then waits, with no limit, for workers
  that may never take their STOP pill (stuck behind the queue lock a dead worker held), and
  the orphaned cluster lives forever. ``watch_parent`` notices the parent is gone, asks for a
  stop, and after a bounded wait SIGKILLs the cluster's whole process group.
* **Hard worker deaths.** A worker process that dies in ``os._exit`` or on a signal writes
  nothing; its run would stay ``running`` for a full lease per attempt. django-q2's guard
  (the sentinel) notices the death within a guard cycle and reincarnates the worker:
  ``install_death_hook`` wraps that to settle the run the worker was executing as a ``lost``
  attempt that says how the process ended, then retry or dead-letter per its policy.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from django.utils import timezone
from django_q import cluster as q_cluster

from taskboard.models import Status, TaskRun
from taskboard.models.nodes import process_identity

logger = structlog.get_logger("taskboard.transport.guard")


def describe_exit(pid: int, exitcode: int | None) -> str:
    """How worker process ``pid`` ended, from its multiprocessing exit code."""
    if exitcode is None:
        return f"worker process {pid} ended"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process {pid} was killed by signal {name}"
    return f"worker process {pid} exited with status {exitcode}"


type Settled = Callable[[TaskRun], None]

# What to do with each run a dead worker's settlement changed (``task_finished``, which
# execution sends: transport may not import it); given to ``install_death_hook``.
_on_settled: Settled | None = None


def settle_dead_worker(pid: int, message: str, on_settled: Settled | None = None) -> int:
    """Record a ``lost`` attempt for every run worker process ``pid`` (of this host) was
    executing, and retry or dead-letter it per its policy; the number of runs settled.

    Only a run still ``running`` in the same attempt is changed (``settle_failure`` checks
    both), so a run the worker finished, or the clock already declared lost, is left alone.
    ``on_settled`` is called with each run changed.
    """
    now = timezone.now()
    settled = 0
    for run in TaskRun.objects.filter(status=Status.RUNNING, worker=process_identity(pid)):
        if run.declare_dead(message, now):
            settled += 1
            logger.warning("worker process died; attempt recorded lost", run_id=str(run.pk),
                           attempt=run.attempts, reason=message, next=run.status)
            if on_settled is not None:
                on_settled(run)
    return settled


def _report(pid: int | None, message_for: Callable[[int], str]) -> None:
    if pid is None:
        return
    try:
        settle_dead_worker(pid, message_for(pid), _on_settled)
    except Exception:  # the guard loop must go on; the lease recovers the run later
        logger.exception("could not settle the run of a dead worker", pid=pid)


_original_reincarnate = q_cluster.Sentinel.reincarnate


def _reincarnate(sentinel: Any, process: Any) -> None:
    is_worker = process in sentinel.pool
    was_alive = is_worker and process.is_alive()  # alive: the guard's timeout kill follows
    if is_worker and not was_alive:
        _report(process.pid, lambda pid: describe_exit(pid, process.exitcode))
    _original_reincarnate(sentinel, process)
    if was_alive:
        process.join(timeout=2)
        _report(process.pid, lambda pid: f"worker process {pid} was ended by django-q2's "
                                          f"timeout guard ({describe_exit(pid, process.exitcode)})")


def install_death_hook(on_settled: Settled | None = None) -> None:
    """Wrap django-q2's ``Sentinel.reincarnate`` (in this process, before the cluster starts:
    the sentinel is forked from it and inherits the class as patched). ``on_settled`` is
    called with each run a dead worker's settlement changed."""
    global _on_settled
    _on_settled = on_settled
    q_cluster.Sentinel.reincarnate = _reincarnate


def watch_parent(stop_event: Callable[[], Any], sentinel_alive: Callable[[], bool],
                 grace: float) -> threading.Thread:
    """Start a daemon thread that ends this cluster when its parent process goes away.

    ``stop_event()`` returns django-q2's cluster stop event (set to ask for a graceful stop;
    None before the cluster started or once it stopped). After up to ``grace`` seconds of
    waiting for the sentinel, the whole process group is SIGKILLed, also when the stop hung.
    """
    parent = os.getppid()

    def loop() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        logger.error("supervisor gone; stopping this cluster", parent=parent, grace=grace)
        event = stop_event()
        if event is not None:
            event.set()
        deadline = time.monotonic() + grace
        while sentinel_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        _kill_own_group()

    thread = threading.Thread(target=loop, name="taskboard-parent-watch", daemon=True)
    thread.start()
    return thread


def _kill_own_group() -> None:
    # The supervisor starts each cluster as the leader of its own process group: everything
    # django-q2 forked is in it. Not a leader (started by hand from a shell): the group is the
    # shell's, so only this process goes, and its daemon children with it where they can.
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)
