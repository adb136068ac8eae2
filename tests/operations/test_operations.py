from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard import operations
from taskboard.exceptions import InvalidTaskArguments, NotAllowed, OperationError, UnknownTask
from taskboard.execution.runner import execute
from taskboard.models import DeadLetter, Resolution, Status, TaskAttempt, TaskRun
from tests import sample_tasks
from tests.factories import failed_run

pytestmark = pytest.mark.django_db


def test_cancel_waiting_run_is_immediate():
    run = operations.cancel(sample_tasks.add.enqueue(1, 2).id)
    assert run.status == Status.CANCELLED and run.finished_at is not None
    assert run.cancel_requested_by == "system"


def test_cancel_running_run_requests_stop(operator):
    run = TaskRun.objects.claim(sample_tasks.add.enqueue(1, 2).id, "h:1", 30)
    run = operations.cancel(run.pk, user=operator)
    assert (run.status, run.cancel_requested, run.cancel_requested_by) == (Status.RUNNING, True, "operator")


def test_cancel_finished_run_conflicts():
    run = failed_run()
    with pytest.raises(OperationError, match="already failed"):
        operations.cancel(run.pk)


def test_cancel_needs_permission(viewer):
    with pytest.raises(NotAllowed):
        operations.cancel(sample_tasks.add.enqueue(1, 2).id, user=viewer)


def test_replay_creates_linked_run_and_resolves_dead_letter(operator):
    run = failed_run()
    new = operations.replay(run.pk, user=operator)
    letter = DeadLetter.objects.get(run=run)
    assert new.replay_of_id == run.pk and new.status == Status.QUEUED
    assert new.kwargs == run.kwargs
    assert (letter.resolution, letter.resolved_by, letter.replay_run_id) == (Resolution.REPLAYED, operator, new.pk)
    assert TaskRun.objects.get(pk=run.pk).status == Status.FAILED  # history untouched


def test_replay_with_edited_kwargs():
    new = operations.replay(failed_run().pk, kwargs={"message": "edited"})
    assert new.kwargs == {"message": "edited"}


def test_replay_with_invalid_kwargs_writes_nothing():
    run = failed_run()
    with pytest.raises(InvalidTaskArguments):
        operations.replay(run.pk, kwargs={"message": 5})
    assert TaskRun.objects.count() == 1
    assert DeadLetter.objects.get(run=run).is_open


def test_replay_of_unfinished_run_conflicts():
    with pytest.raises(OperationError):
        operations.replay(sample_tasks.add.enqueue(1, 2).id)


def test_replay_needs_permission(viewer):
    with pytest.raises(NotAllowed):
        operations.replay(failed_run().pk, user=viewer)


def test_non_staff_user_is_refused_even_with_permission(outsider):
    with pytest.raises(NotAllowed):
        operations.replay(failed_run().pk, user=outsider)


def test_bulk_replay_by_task_skips_resolved():
    first, second = failed_run("a"), failed_run("b")
    operations.discard_dead_letters(operations.open_dead_letters(ids=[first.dead_letter.pk]))
    outcome = operations.replay_dead_letters(operations.open_dead_letters(task="taskboard.demo.fail"))
    assert [r.replay_of_id for r in outcome.done] == [second.pk]


def test_discard_resolves_without_new_run(operator):
    run = failed_run()
    assert operations.discard_dead_letters(operations.open_dead_letters(), user=operator) == 1
    assert DeadLetter.objects.get(run=run).resolution == Resolution.DISCARDED
    assert TaskRun.objects.count() == 1


def test_enqueue_by_unknown_name_is_refused():
    with pytest.raises(UnknownTask):
        operations.enqueue("os.system", ["echo"])


def test_enqueue_with_idempotency_key_returns_existing():
    first, created = operations.enqueue("tests.sample_tasks.add", [1, 2], idempotency_key="k")
    second, created_again = operations.enqueue("tests.sample_tasks.add", [1, 2], idempotency_key="k")
    assert created and not created_again and first.pk == second.pk


def test_prune_deletes_old_finished_runs_but_keeps_open_dead_letters():
    old = timezone.now() - timedelta(days=40)
    kept_letter = failed_run()
    resolved = failed_run()
    operations.discard_dead_letters(operations.open_dead_letters(ids=[resolved.dead_letter.pk]))
    done = sample_tasks.add.enqueue(1, 1)
    execute(done.id)
    recent = sample_tasks.add.enqueue(2, 2)
    execute(recent.id)
    TaskRun.objects.exclude(pk=recent.id).update(finished_at=old)
    assert operations.prune(30, dry_run=True) == 2
    assert operations.prune(30) == 2
    assert set(TaskRun.objects.values_list("pk", flat=True)) == {kept_letter.pk, TaskRun.objects.get(pk=recent.id).pk}
    assert TaskAttempt.objects.filter(run_id=done.id).count() == 0
