"""Group commit: in a cluster worker a success commits with the next claim, or after
OUTCOME_BATCH_SECONDS from the worker's monitor thread."""

import time

import pytest
from django.tasks.signals import task_finished

from taskboard.execution import outbox, runner
from taskboard.models import Outcome, Status, TaskAttempt, TaskRun
from taskboard.transport import cluster as transport_cluster
from taskboard.transport import push as transport_push
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(run_id: str) -> None:
    """What django-q2's worker does: pre_execute for the message, then execute()."""
    transport_cluster._on_pre_execute(sender="django_q", func=transport_push.EXECUTE,
                             task={"func": transport_push.EXECUTE, "args": (str(run_id),)})
    runner.execute(str(run_id))


@pytest.fixture(autouse=True)
def fresh_outbox():
    outbox.get_outbox().take()
    yield
    outbox.get_outbox().take()


@pytest.fixture
def finished():
    seen: list[str] = []

    def receiver(sender, task_result, **kwargs):
        seen.append(task_result.id)

    task_finished.connect(receiver)
    yield seen
    task_finished.disconnect(receiver)


def status(result) -> str:
    return TaskRun.objects.get(pk=result.id).status


def test_a_delivered_success_waits_for_the_next_claim(settings, finished):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 60.0}
    first, second = sample_tasks.add.enqueue(1, 2), sample_tasks.add.enqueue(3, 4)
    deliver(first.id)
    assert status(first) == Status.RUNNING
    assert finished == [] and not TaskAttempt.objects.exists()

    deliver(second.id)  # commits the first's outcome with its own claim
    run = TaskRun.objects.get(pk=first.id)
    assert (run.status, run.result) == (Status.SUCCEEDED, 3)
    assert run.attempt_set.get().outcome == Outcome.SUCCEEDED
    assert finished == [first.id]
    assert status(second) == Status.RUNNING


def test_the_monitor_commits_a_waiting_success_when_no_message_follows(settings, finished):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 0.05}
    result = sample_tasks.add.enqueue(2, 2)
    deliver(result.id)
    deadline = time.monotonic() + 5
    while status(result) != Status.SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.02)
    assert status(result) == Status.SUCCEEDED
    assert finished == [result.id]


def test_a_dropped_message_still_carries_the_waiting_success(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 60.0}
    result = sample_tasks.add.enqueue(5, 5)
    deliver(result.id)
    deliver(result.id)  # a duplicate: not claimable, but its transaction commits the outcome
    run = TaskRun.objects.get(pk=result.id)
    assert (run.status, run.attempts, run.result) == (Status.SUCCEEDED, 1, 10)


def test_a_success_whose_run_was_taken_over_is_discarded(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 60.0}
    result = sample_tasks.add.enqueue(1, 1)
    deliver(result.id)
    TaskRun.objects.filter(pk=result.id).update(status=Status.QUEUED)  # e.g. declared lost
    outbox.get_outbox().flush()
    assert status(result) == Status.QUEUED
    assert not TaskAttempt.objects.exists()


def test_failures_and_direct_calls_commit_at_once(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 60.0}
    failing = sample_tasks.fail_until.enqueue(succeed_on=5)
    deliver(failing.id)
    assert status(failing) == Status.RETRYING
    direct = sample_tasks.add.enqueue(1, 2)
    runner.execute(direct.id)  # not delivered by a cluster: nothing waits
    assert status(direct) == Status.SUCCEEDED


def test_zero_turns_group_commit_off(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 0}
    result = sample_tasks.add.enqueue(1, 2)
    deliver(result.id)
    assert status(result) == Status.SUCCEEDED


def test_outbox_flush_at_process_exit_commits_what_waits(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 60.0}
    result = sample_tasks.add.enqueue(1, 2)
    deliver(result.id)
    outbox.flush_at_exit(outbox.get_outbox())
    assert status(result) == Status.SUCCEEDED
