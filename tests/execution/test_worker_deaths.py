"""Hard deaths: a django-q2 worker process that exits or is killed, a supervisor killed -9."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from taskboard import operations
from taskboard.models import Outcome, Status, TaskRun
from tests import sample_tasks
from tests.execution.workers import WorkerProcess, finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]

# A lease far longer than any wait below: only the cluster noticing the death can settle
# the run in time, never the clock's lease recovery.
LONG_LEASE = {"TASKBOARD_LEASE_SECONDS": "600", "TASKBOARD_REDISPATCH_AFTER": "600"}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_worker_process_that_exits_hard_is_recorded_at_once(start_worker):
    start_worker(workers=1, extra_env=LONG_LEASE)
    run = finished(sample_tasks.exit_process.enqueue(3).id, timeout=60)
    attempt = run.attempt_set.get()
    assert (run.status, attempt.outcome) == (Status.FAILED, Outcome.LOST)
    assert "exited with status 3" in attempt.message
    assert attempt.worker == run.worker


def test_a_worker_process_killed_by_a_signal_is_recorded_at_once(start_worker, tmp_path):
    start_worker(workers=1, extra_env=LONG_LEASE)
    result = sample_tasks.wait_for_path.enqueue(str(tmp_path / "never"))
    running = wait_for(lambda: TaskRun.objects.filter(pk=result.id, status=Status.RUNNING).first(),
                       timeout=30, message="the run to start")
    os.kill(int(running.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    attempt = wait_for(lambda: running.attempt_set.filter(number=1).first(), timeout=60,
                       message="the killed attempt to be recorded")
    assert attempt.outcome == Outcome.LOST
    assert "killed by signal SIGKILL" in attempt.message
    assert TaskRun.objects.get(pk=result.id).status in (Status.RETRYING, Status.QUEUED,
                                                        Status.RUNNING)  # retried per policy
    operations.cancel(result.id)


def test_clusters_die_with_a_killed_supervisor_even_when_wedged(start_worker):
    worker: WorkerProcess = start_worker(workers=2)
    first = worker.wait_ready()
    # An idle django-q2 worker killed takes the task queue's lock with it: a graceful stop
    # of that cluster would wait forever for workers that can no longer read their STOP.
    os.kill(first[0], signal.SIGKILL)

    def replaced() -> list[int] | None:
        node = worker.node()
        pids = (node.cluster_pids or {}).get("default", []) if node else []
        return pids if len(pids) == 2 and first[0] not in pids else None

    wait_for(replaced, timeout=30, interval=0.2, message="the dead worker to be reincarnated")
    worker.remember_tree()
    cluster_pids = sorted(p.pid for p in worker.tree() if p.pid != worker.process.pid)
    assert len(cluster_pids) >= 5  # main, sentinel, pusher, monitor, workers

    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)
    wait_for(lambda: all(gone(pid) for pid in cluster_pids), timeout=30, interval=0.2,
             message=f"every process of the cluster ({cluster_pids}) to exit")
