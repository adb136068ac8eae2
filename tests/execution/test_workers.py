"""Real ``taskboard_worker`` processes: retries, crashes, cancel, timeout, duplicates, wedges."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from taskboard import operations
from taskboard.demo import fail, flaky, noop, sleep, steps
from taskboard.models import DeadLetter, Outcome, Status, TaskRun
from taskboard.transport import cluster as transport_cluster
from taskboard.transport import push as transport_push
from tests import sample_tasks
from tests.execution.workers import finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]


def test_flaky_succeeds_on_third_attempt_with_backoff_honoured(start_worker):
    start_worker()
    run = finished(flaky.enqueue(fail_times=2).id, timeout=30)
    attempts = list(run.attempt_set.order_by("number"))
    assert run.status == Status.SUCCEEDED and run.result == {"attempts": 3}
    assert [a.outcome for a in attempts] == [Outcome.RETRYABLE, Outcome.RETRYABLE, Outcome.SUCCEEDED]
    for failed_attempt, next_attempt in zip(attempts, attempts[1:], strict=False):
        # Never before its backoff; how late it starts is measured by bench.interrupts.
        assert next_attempt.started_at >= failed_attempt.retry_at


def test_permanent_failure_dead_letters_after_one_attempt(start_worker):
    start_worker()
    run = finished(fail.enqueue(message="card declined").id, timeout=20)
    assert run.status == Status.FAILED and run.attempts == 1
    assert run.attempt_set.get().outcome == Outcome.PERMANENT
    assert DeadLetter.objects.get(run=run).reason == "permanent error: PermanentError: card declined"


def test_killed_worker_resumes_from_checkpoint(start_worker):
    start_worker(workers=1)
    result = steps.enqueue(steps=10, step_seconds=0.5)
    run = wait_for(lambda: TaskRun.objects.filter(pk=result.id, checkpoint__done__gte=3).first(),
                   timeout=20, message="three steps done")
    os.kill(int(run.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    run = finished(result.id, timeout=40)
    assert run.status == Status.SUCCEEDED
    assert run.result["resumed_from"] > 0
    assert run.result["step_runs"] <= 11
    assert Outcome.LOST in run.attempt_set.values_list("outcome", flat=True)


def test_whole_cluster_killed_then_restarted_loses_nothing(start_worker):
    worker = start_worker(workers=2)
    long_run = steps.enqueue(steps=6, step_seconds=0.5)
    ids = [long_run.id] + [sleep.enqueue(seconds=1.5).id for _ in range(4)]
    wait_for(lambda: TaskRun.objects.filter(pk=long_run.id, checkpoint__done__gte=1).exists(),
             timeout=20, message="the long run to make progress")
    ids += [noop.enqueue().id for _ in range(10)]  # queued, some prefetched by the cluster
    worker.kill_everything()
    start_worker(workers=2)
    wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() == len(ids),
             timeout=60, message="every run to succeed after the restart")
    assert TaskRun.objects.get(pk=long_run.id).result["resumed_from"] >= 1


def test_cancel_interrupts_running_sleep_and_worker_goes_on(start_worker):
    start_worker(workers=1)
    result = sleep.enqueue(seconds=60)
    run = wait_for(lambda: TaskRun.objects.filter(pk=result.id, status=Status.RUNNING).first(),
                   timeout=20, message="the sleep to start")
    operations.cancel(result.id)
    finished(result.id, timeout=30)  # well before the 60 s sleep ends; bench.interrupts times it
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.attempt_set.get().outcome == Outcome.CANCELLED
    after = finished(noop.enqueue().id, timeout=15)
    assert after.status == Status.SUCCEEDED and after.worker == run.worker


def test_timeout_interrupts_and_retries(start_worker):
    start_worker()
    run = finished(sample_tasks.sleep_past_timeout.enqueue(seconds=10).id, timeout=30)
    attempts = list(run.attempt_set.order_by("number"))
    assert [a.outcome for a in attempts] == [Outcome.TIMEOUT, Outcome.TIMEOUT]
    assert all(a.exception == "taskboard.exceptions.TaskTimedOut" for a in attempts)
    assert run.status == Status.FAILED


def test_same_message_delivered_twice_executes_once(start_worker):
    with_duplicates = sample_tasks.add.enqueue(1, 2)
    for _ in range(3):
        transport_push.push(with_duplicates.id, "default")
    start_worker()
    run = finished(with_duplicates.id, timeout=20)
    # Every copy must have been delivered (and dropped by the claim) before counting.
    wait_for(broker_drained, timeout=30, interval=0.2, message="the duplicates to be delivered")
    assert run.attempt_set.count() == 1 and TaskRun.objects.get(pk=run.pk).attempts == 1


def broker_drained() -> bool:
    """No message visible in the broker, none waiting in a cluster's prefetch queue, and the
    clusters idle (published by django-q2 every guard cycle)."""
    if transport_cluster.queue_depth("default"):
        return False
    stats = [s for s in transport_cluster.cluster_stats() if s["queue"] in (None, "default")]
    return bool(stats) and all(s["task_q_size"] == 0 and s["status"] == "Idle" for s in stats)


def test_killing_an_idle_worker_does_not_wedge_the_cluster(start_worker):
    worker = start_worker(workers=2)
    pids = worker.wait_ready()
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(1.0)
    ids = [noop.enqueue().id for _ in range(8)]
    wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() == len(ids),
             timeout=45, message="runs to succeed after an idle worker died")


def test_two_workers_share_the_queue_without_running_anything_twice(start_worker, tmp_path: Path):
    hosts = [start_worker(workers=1), start_worker(workers=1)]
    # Runs held until both hosts have claimed one: a host with one worker holds at most
    # 1 + queue_limit + 1 messages, so with 12 the other host must get some.
    gate = tmp_path / "release"
    held = [sample_tasks.wait_for_path.enqueue(str(gate)).id for _ in range(12)]

    def claimed_by_both() -> bool:
        running = set(TaskRun.objects.filter(pk__in=held, status=Status.RUNNING)
                      .values_list("worker", flat=True))
        return all(running & host.node().worker_identities() for host in hosts)

    wait_for(claimed_by_both, timeout=60, interval=0.1, message="each host to claim a run")
    gate.touch()
    ids = held + [sample_tasks.fail_until.enqueue(succeed_on=2).id for _ in range(5)]
    wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() == len(ids),
             timeout=60, message="all runs to succeed on two hosts")
    for run in TaskRun.objects.filter(pk__in=ids):
        numbers = list(run.attempt_set.values_list("number", flat=True))
        assert numbers == list(range(1, run.attempts + 1))
