"""The outcome seam (models.outcomes): hooks and batch counts set off exactly once, in the
transaction of the outcome, by every way a run ends; never by a stale or duplicate outcome."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from taskboard import operations
from taskboard.bulk import call, enqueue_many
from taskboard.exceptions import OperationError
from taskboard.execution.runner import execute
from taskboard.models import Batch, DeadLetter, Outcome, Status, TaskAttempt, TaskRun
from taskboard.models.batches import BatchClosed
from tests import callback_tasks as tasks

pytestmark = pytest.mark.django_db(transaction=True)

RUN_DONE = f"{tasks.HERE}.run_done"
ON_DEAD_LETTER = f"{tasks.HERE}.batch_done_as_hook"
BATCH_DONE = f"{tasks.HERE}.batch_done"


def hook_runs(task: str = RUN_DONE, **kwargs: Any) -> list[TaskRun]:
    return list(TaskRun.objects.filter(task=task, **kwargs))


def claimed(run_id: str) -> TaskRun:
    run = TaskRun.objects.claim(run_id, "host:1", 30)
    assert run is not None
    return run


def success(run: TaskRun) -> TaskAttempt:
    now = timezone.now()
    return TaskAttempt(run=run, task=run.task, number=run.attempts, outcome=Outcome.SUCCEEDED,
                       started_at=now, finished_at=now, worker=run.worker)


def failure(run: TaskRun, outcome: Outcome = Outcome.PERMANENT) -> TaskAttempt:
    now = timezone.now()
    return TaskAttempt(run=run, task=run.task, number=run.attempts, outcome=outcome, exception="x.Error",
                       message="boom", started_at=now, finished_at=now, worker=run.worker)


# --- hooks -------------------------------------------------------------------------------------

def test_success_enqueues_on_success_with_the_run_id_and_its_correlation() -> None:
    result = tasks.hooked.enqueue()
    execute(result.id)
    [hook] = hook_runs()
    assert (hook.kwargs, hook.status, hook.correlation_id) == ({"run_id": result.id}, Status.QUEUED, result.id)
    assert hook.hooks is None  # a callback sets off no hooks of its own


def test_a_duplicate_success_sets_off_nothing() -> None:
    run = claimed(tasks.hooked.enqueue().id)
    attempt = success(run)
    assert run.succeed(attempt, "ok")
    stale = TaskRun.objects.get(pk=run.pk)
    stale.status, stale.attempts = Status.RUNNING, attempt.number
    assert not stale.succeed(success(stale), "ok")  # the conditional UPDATE matches nothing
    assert len(hook_runs()) == 1


def test_a_dead_letter_enqueues_on_failure_and_on_dead_letter_once() -> None:
    result = tasks.hooked.enqueue(fail=True)
    execute(result.id)
    assert [h.kwargs for h in hook_runs()] == [{"run_id": result.id}]
    assert [h.kwargs for h in hook_runs(ON_DEAD_LETTER)] == [{"run_id": result.id}]
    run = TaskRun.objects.get(pk=result.id)
    run.status = Status.RUNNING
    assert not run.fail_to_dead_letter(failure(run))  # stale: already failed
    assert len(hook_runs()) == 1 and len(hook_runs(ON_DEAD_LETTER)) == 1


def test_a_retry_sets_off_nothing_and_a_cancel_only_on_failure() -> None:
    run = claimed(tasks.hooked.enqueue().id)
    run.max_attempts = 3
    assert run.schedule_retry(failure(run, Outcome.RETRYABLE))
    assert hook_runs() == []
    assert run.cancel_waiting("ops")
    assert [h.kwargs for h in hook_runs()] == [{"run_id": str(run.pk)}]
    assert hook_runs(ON_DEAD_LETTER) == []


def test_a_lost_last_attempt_sets_off_the_failure_hooks() -> None:
    run = claimed(tasks.hooked.enqueue().id)
    TaskRun.objects.filter(pk=run.pk).update(max_attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1))
    run.refresh_from_db()
    assert run.declare_lost(timezone.now())
    assert run.status == Status.FAILED
    assert len(hook_runs()) == 1 and len(hook_runs(ON_DEAD_LETTER)) == 1


def test_an_outcome_rolled_back_takes_its_hooks_with_it() -> None:
    run = claimed(tasks.hooked.enqueue().id)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run.succeed(success(run), "ok")
        assert len(hook_runs()) == 1
        raise RuntimeError("crash before the commit")
    assert hook_runs() == []
    assert TaskRun.objects.get(pk=run.pk).status == Status.RUNNING


def test_a_callback_that_cannot_be_enqueued_is_a_failed_run_and_the_outcome_stands() -> None:
    run = claimed(tasks.hooked.enqueue().id)
    TaskRun.objects.filter(pk=run.pk).update(hooks={"on_success": "tests.callback_tasks.gone"})
    run.refresh_from_db()
    assert run.succeed(success(run), "ok")
    [orphan] = hook_runs("tests.callback_tasks.gone")
    assert orphan.status == Status.FAILED
    assert "on_success of run" in DeadLetter.objects.get(run=orphan).reason
    assert TaskRun.objects.get(pk=run.pk).status == Status.SUCCEEDED


def test_hooks_are_checked_when_decorated_and_when_first_enqueued() -> None:
    from dataclasses import replace

    from django.tasks.exceptions import InvalidTask

    run_done: Any = tasks.run_done  # a TaskboardTask: replace() takes its options
    with pytest.raises(InvalidTask, match="on_success must be the dotted path"):
        replace(run_done, on_success="notdotted")
    orphaned = replace(run_done, on_failure="tests.callback_tasks.nothing_here")
    with pytest.raises(InvalidTask, match="on_failure"):
        orphaned.enqueue(run_id="x")
    misfit = replace(run_done, on_failure=f"{tasks.HERE}.child")  # child takes n, not run_id
    with pytest.raises(InvalidTask, match="must accept run_id"):
        misfit.enqueue(run_id="x")
    assert not TaskRun.objects.exists()


# --- batches -----------------------------------------------------------------------------------

def make_batch(n: int, **callbacks: str) -> Batch:
    done = enqueue_many(tasks.child, [call(n=i) for i in range(n)], batch={"name": "t", **callbacks})
    assert done.batch is not None
    return done.batch


def test_the_last_child_completes_the_batch_and_enqueues_each_callback_once() -> None:
    batch = make_batch(3, on_complete=BATCH_DONE, on_success=BATCH_DONE)
    runs = list(TaskRun.objects.filter(batch=batch))
    for run in runs[:2]:
        execute(str(run.pk))
    batch.refresh_from_db()
    assert (batch.open, batch.succeeded, batch.finished_at) == (1, 2, None)
    assert hook_runs(BATCH_DONE) == []
    execute(str(runs[2].pk))
    batch.refresh_from_db()
    assert (batch.open, batch.succeeded, batch.progress) == (0, 3, 100) and batch.is_finished
    callbacks = hook_runs(BATCH_DONE)
    assert [c.kwargs for c in callbacks] == [{"batch_id": str(batch.pk)}] * 2
    assert {c.pk for c in callbacks} == {batch.on_complete_run, batch.on_success_run}
    assert {c.correlation_id for c in callbacks} == {str(batch.pk)}


def test_last_children_finishing_at_once_complete_the_batch_once() -> None:
    """Threads with their own connections finish the last children at the same moment; on
    PostgreSQL the batch row's lock orders them, on SQLite the write lock does."""
    batch = make_batch(6, on_complete=BATCH_DONE)
    runs = [claimed(str(run.pk)) for run in TaskRun.objects.filter(batch=batch)]
    barrier = threading.Barrier(len(runs))
    errors: list[BaseException] = []

    def finish(run: TaskRun) -> None:
        try:
            barrier.wait()
            assert run.succeed(success(run), None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    batch.refresh_from_db()
    assert (batch.open, batch.succeeded) == (0, 6) and batch.is_finished
    assert len(hook_runs(BATCH_DONE)) == 1


def test_a_failed_child_fires_on_complete_and_replay_then_fires_on_success() -> None:
    done = enqueue_many(tasks.child, [call(n=0), call(n=1, fail=True)],
                        batch={"on_complete": BATCH_DONE, "on_success": BATCH_DONE})
    batch = done.batch
    assert batch is not None
    for run_id in done.ids:
        execute(run_id)
    batch.refresh_from_db()
    assert (batch.succeeded, batch.failed, batch.on_success_run) == (1, 1, None) and batch.is_finished
    new = operations.replay(done.ids[1])
    batch.refresh_from_db()
    assert (new.batch_id, batch.open, batch.failed, batch.finished_at) == (batch.pk, 1, 0, None)
    again = operations.replay(done.ids[1])  # a second replay of the same child runs outside
    assert again.batch_id is None
    execute(str(new.pk))
    batch.refresh_from_db()
    assert (batch.total, batch.succeeded, batch.failed) == (2, 2, 0) and batch.is_finished
    assert len(hook_runs(BATCH_DONE)) == 2 and batch.on_success_run is not None


def test_children_join_only_an_open_batch() -> None:
    batch = make_batch(1)
    enqueue_many(tasks.child, [call(n=5)], batch=batch.pk)
    batch.refresh_from_db()
    assert (batch.total, batch.open) == (2, 2)
    for run in TaskRun.objects.filter(batch=batch):
        execute(str(run.pk))
    with pytest.raises(OperationError):
        enqueue_many(tasks.child, [call(n=6)], batch=batch)
    with pytest.raises(BatchClosed):
        Batch.objects.add_children(batch.pk, 1)
    assert TaskRun.objects.filter(batch=batch).count() == 2


def test_a_running_child_adds_children_to_its_own_batch() -> None:
    done = enqueue_many(tasks.spawner, [call(n=3)], batch={"on_complete": BATCH_DONE})
    batch = done.batch
    assert batch is not None
    execute(done.ids[0])
    batch.refresh_from_db()
    assert (batch.total, batch.open, batch.succeeded) == (4, 3, 1)
    for run in TaskRun.objects.filter(batch=batch, status=Status.QUEUED):
        execute(str(run.pk))
    batch.refresh_from_db()
    assert batch.is_finished and len(hook_runs(BATCH_DONE)) == 1


def test_cancel_batch_cancels_waiting_children_and_asks_running_ones() -> None:
    batch = make_batch(4, on_complete=BATCH_DONE)
    runs = list(TaskRun.objects.filter(batch=batch).order_by("kwargs__n"))
    execute(str(runs[0].pk))
    running = claimed(str(runs[1].pk))
    operations.cancel_batch(batch.pk)
    statuses = {run.pk: run.status for run in TaskRun.objects.filter(batch=batch)}
    assert statuses == {runs[0].pk: Status.SUCCEEDED, runs[1].pk: Status.RUNNING,
                        runs[2].pk: Status.CANCELLED, runs[3].pk: Status.CANCELLED}
    assert TaskRun.objects.get(pk=running.pk).cancel_requested
    batch.refresh_from_db()
    assert (batch.open, batch.cancelled, batch.is_finished) == (1, 2, False)
    with pytest.raises(OperationError):
        enqueue_many(tasks.child, [call(n=9)], batch=batch)
    # The running child stops (its worker records the cancelled attempt): the batch completes.
    attempt = failure(running, Outcome.CANCELLED)
    assert running.settle_failure(attempt)
    batch.refresh_from_db()
    assert (batch.open, batch.cancelled) == (0, 3) and batch.is_finished
    assert len(hook_runs(BATCH_DONE)) == 1


def test_enqueue_many_rolled_back_writes_and_pushes_nothing() -> None:
    from taskboard.transport import cluster, push

    push.broker_for("default").purge_queue()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_many(tasks.child, [call(n=i) for i in range(1200)], batch={"name": "gone"})
        raise RuntimeError("rollback")
    assert not TaskRun.objects.exists() and not Batch.objects.exists()
    assert cluster.queue_depth("default") == 0
    enqueue_many(tasks.child, [call(n=i) for i in range(1200)])
    assert cluster.queue_depth("default") == 1200


# --- correlation -------------------------------------------------------------------------------

def test_a_run_passes_its_id_or_its_correlation_to_what_it_enqueues() -> None:
    parent = tasks.enqueue_add.enqueue()
    execute(parent.id)
    child_id = str(TaskRun.objects.get(pk=parent.id).result)
    assert TaskRun.objects.get(pk=child_id).correlation_id == parent.id
    execute(child_id)  # the grandchild level: add enqueues nothing, but its logs carry it

    from taskboard import correlation

    with correlation("order-1042"):
        parent = tasks.enqueue_add.enqueue()
    execute(parent.id)
    child_id = str(TaskRun.objects.get(pk=parent.id).result)
    assert TaskRun.objects.get(pk=child_id).correlation_id == "order-1042"


def test_explicit_batch_and_replay_correlation() -> None:
    done = enqueue_many(tasks.child, [call(n=1, fail=True)], batch={}, correlation_id="imp-9")
    assert done.batch is not None and done.batch.correlation_id == "imp-9"
    execute(done.ids[0])
    assert operations.replay(done.ids[0]).correlation_id == "imp-9"
    assert enqueue_many(tasks.child, [call(n=1)]).runs()[0].correlation_id == ""
