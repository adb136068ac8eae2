"""Batches and hooks on real ``taskboard_worker`` hosts (SQLite + ORM broker, or PostgreSQL +
Redis with DATABASE_URL/TASKBOARD_BROKER_URL): callbacks exactly once with two hosts finishing
children at once, through failures and replays, cancel, and worker processes killed -9."""

from __future__ import annotations

import pytest

from taskboard import operations
from taskboard.bulk import call, enqueue_many
from taskboard.models import Batch, Outcome, Status, TaskAttempt, TaskRun
from tests import callback_tasks as tasks
from tests.execution.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]

BATCH_DONE = f"{tasks.HERE}.batch_done"
RUN_DONE = f"{tasks.HERE}.run_done"


def finished_batch(batch: Batch, timeout: float = 240) -> Batch:
    return wait_for(lambda: Batch.objects.filter(pk=batch.pk, finished_at__isnull=False).first(),
                    timeout, interval=0.2, message=f"batch {batch.pk} to finish")


def callbacks(batch: Batch) -> list[TaskRun]:
    return list(TaskRun.objects.filter(task=BATCH_DONE, kwargs={"batch_id": str(batch.pk)}))


def succeeded_once(runs: list[TaskRun]) -> bool:
    return len(runs) == 1 and runs[0].status == Status.SUCCEEDED


def test_200_children_on_two_hosts_call_back_exactly_once_through_failures_and_replay(start_worker):
    hosts = [start_worker(workers=2), start_worker(workers=2)]
    failing = set(range(7, 200, 20))  # 10 children fail permanently unless replayed
    done = enqueue_many(tasks.child, [call(n=i, fail=i in failing) for i in range(200)],
                        batch={"name": "fan-out", "on_complete": BATCH_DONE, "on_success": BATCH_DONE})
    batch = done.batch
    assert batch is not None
    batch = finished_batch(batch)
    assert (batch.total, batch.succeeded, batch.failed, batch.open) == (200, 190, 10, 0)
    # Both hosts recorded outcomes: they finished children side by side.
    workers = TaskRun.objects.filter(batch=batch).values_list("worker", flat=True)
    pids = {int(worker.rsplit(":", 1)[1]) for worker in workers}
    for host in hosts:
        node = host.node()
        assert node is not None and pids & set((node.cluster_pids or {}).get("default", []))
    wait_for(lambda: succeeded_once(callbacks(batch)), 60, interval=0.2, message="on_complete to run")
    assert batch.on_success_run is None

    operations.replay_failed(batch.pk)
    batch = finished_batch(batch)
    assert (batch.total, batch.succeeded, batch.failed) == (200, 200, 0)
    wait_for(lambda: len(callbacks(batch)) == 2 and all(r.status == Status.SUCCEEDED for r in callbacks(batch)),
             60, interval=0.2, message="on_success to run")
    runs = {run.pk: run for run in callbacks(batch)}
    assert set(runs) == {batch.on_complete_run, batch.on_success_run}  # one each, ever
    assert {run.attempts for run in runs.values()} == {1}
    assert TaskRun.objects.filter(batch=batch, replay_of__isnull=False, status=Status.SUCCEEDED).count() == 10


def test_cancel_stops_the_rest_of_a_batch(start_worker):
    start_worker(workers=2)
    done = enqueue_many(tasks.child, [call(n=i, seconds=0.3) for i in range(40)], batch={"on_complete": BATCH_DONE})
    batch = done.batch
    assert batch is not None
    wait_for(lambda: TaskRun.objects.filter(batch=batch, status=Status.SUCCEEDED).count() >= 2, 60,
             message="a few children to finish")
    operations.cancel_batch(batch.pk)
    batch = finished_batch(batch, timeout=60)
    statuses = list(TaskRun.objects.filter(batch=batch).values_list("status", flat=True))
    assert set(statuses) <= {Status.SUCCEEDED, Status.CANCELLED}
    assert statuses.count(Status.CANCELLED) >= 30 and batch.cancelled == statuses.count(Status.CANCELLED)
    # Children that were running when the batch was cancelled were interrupted, not finished.
    interrupted = TaskAttempt.objects.filter(run__batch=batch, outcome=Outcome.CANCELLED).count()
    assert batch.cancelled - interrupted == TaskRun.objects.filter(batch=batch, attempts=0).count()
    wait_for(lambda: succeeded_once(callbacks(batch)), 60, message="on_complete to run once")


def test_a_hook_runs_once_when_the_worker_is_killed_right_after_the_outcome(start_worker):
    start_worker(workers=2, extra_env={"TASKBOARD_TEST_DIE_AFTER": "1"})
    ids = [tasks.die_after_success.enqueue(token=f"t{i}").id for i in range(6)]
    # Each success commits with its hook, then the worker process is killed -9 (from
    # task_finished, after the commit); the cluster replaces it and runs the hooks.
    hooks = wait_for(lambda: (lambda runs: runs if len(runs) == 6 and all(r.status == Status.SUCCEEDED for r in runs)
                              else None)(list(TaskRun.objects.filter(task=RUN_DONE))),
                     120, interval=0.2, message="every hook to run")
    assert sorted(hook.kwargs["run_id"] for hook in hooks) == sorted(ids)
    assert set(TaskRun.objects.filter(pk__in=ids).values_list("status", "attempts")) == {(Status.SUCCEEDED, 1)}


def test_a_hook_runs_once_when_the_worker_is_killed_before_the_outcome(start_worker):
    start_worker(workers=2)
    run_id = tasks.die_during_first_attempt.enqueue().id
    run = wait_for(lambda: TaskRun.objects.filter(pk=run_id, status=Status.SUCCEEDED).first(), 120,
                   message="the run to succeed after its lost attempt")
    assert run.attempts == 2
    assert [a.outcome for a in run.attempt_set.order_by("number")] == [Outcome.LOST, Outcome.SUCCEEDED]
    hook = wait_for(lambda: TaskRun.objects.filter(task=RUN_DONE, status=Status.SUCCEEDED).first(), 60,
                    message="the hook to run")
    assert hook.kwargs == {"run_id": run_id} and TaskRun.objects.filter(task=RUN_DONE).count() == 1


def test_correlation_passes_through_workers(start_worker):
    from taskboard import correlation

    start_worker(workers=2)
    with correlation("deploy-77"):
        parent = tasks.enqueue_add.enqueue()
    parent_run = wait_for(lambda: TaskRun.objects.filter(pk=parent.id, status=Status.SUCCEEDED).first(), 60,
                          message="the parent to run")
    child = wait_for(lambda: TaskRun.objects.filter(pk=parent_run.result, status=Status.SUCCEEDED).first(), 60,
                     message="the child to run")
    assert child.correlation_id == "deploy-77"
