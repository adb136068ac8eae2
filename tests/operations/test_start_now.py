"""Retry now (a retrying run) and Run now (a scheduled one): queued at once, pushed once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard import operations
from taskboard.exceptions import NotAllowed, OperationError
from taskboard.models import Status, TaskRun
from taskboard.transport import push
from tests.factories import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(push, "push", lambda run_id, queue: sent.append((str(run_id), queue)))
    return sent


def later():
    return timezone.now() + timedelta(hours=1)


def test_retry_now_queues_a_retrying_run_and_pushes_it(operator, pushed, django_capture_on_commit_callbacks):
    run = make_run(Status.RETRYING, run_after=later())
    with django_capture_on_commit_callbacks(execute=True):
        done = operations.retry_now(run.pk, user=operator)
    stored = TaskRun.objects.get(pk=run.pk)
    assert done.status == stored.status == Status.QUEUED
    assert stored.attempts == 1  # the next attempt is the one the backoff waited for
    assert stored.run_after <= timezone.now() and stored.dispatched_at is not None
    assert pushed == [(str(run.pk), run.queue)]


def test_run_now_queues_a_scheduled_run_and_pushes_it(operator, pushed, django_capture_on_commit_callbacks):
    run = make_run(Status.SCHEDULED, run_after=later())
    with django_capture_on_commit_callbacks(execute=True):
        done = operations.run_now(run.pk, user=operator)
    assert done.status == TaskRun.objects.get(pk=run.pk).status == Status.QUEUED
    assert pushed == [(str(run.pk), run.queue)]


@pytest.mark.parametrize(("verb", "status"), [
    *[(operations.retry_now, s) for s in (Status.QUEUED, Status.SCHEDULED, Status.RUNNING, Status.FAILED)],
    *[(operations.run_now, s) for s in (Status.QUEUED, Status.RETRYING, Status.RUNNING, Status.SUCCEEDED)],
])
def test_a_run_in_another_state_is_refused_and_not_pushed(verb, status, pushed, django_capture_on_commit_callbacks):
    run = make_run(status, run_after=later())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OperationError, match=f"is {status}"):
        verb(run.pk)
    assert TaskRun.objects.get(pk=run.pk).status == status
    assert pushed == []


def test_retry_now_and_run_now_need_permission(viewer):
    retrying, scheduled = make_run(Status.RETRYING, run_after=later()), make_run(Status.SCHEDULED, run_after=later())
    with pytest.raises(NotAllowed):
        operations.retry_now(retrying.pk, user=viewer)
    with pytest.raises(NotAllowed):
        operations.run_now(scheduled.pk, user=viewer)
    assert TaskRun.objects.get(pk=retrying.pk).status == Status.RETRYING
    assert TaskRun.objects.get(pk=scheduled.pk).status == Status.SCHEDULED


def test_unknown_run_is_does_not_exist():
    with pytest.raises(TaskRun.DoesNotExist):
        operations.run_now("not-a-uuid")


def test_bulk_forms_skip_runs_in_other_states(pushed):
    ready, other = make_run(Status.RETRYING, run_after=later()), make_run(Status.QUEUED)
    outcome = operations.retry_now_many([ready.pk, other.pk])
    assert [r.pk for r in outcome.done] == [ready.pk]
    assert [pk for pk, _ in outcome.skipped] == [str(other.pk)]
