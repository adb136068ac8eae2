"""The django.tasks contract of TaskboardBackend."""

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist, TaskResultMismatch
from django.utils import timezone
from django_q.models import OrmQ

from taskboard.exceptions import InvalidTaskArguments
from taskboard.execution.runner import execute
from taskboard.models import Status, TaskRun
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def broker_messages() -> int:
    from taskboard.transport import cluster as transport_cluster

    if transport_cluster.broker_info() == "orm":
        return OrmQ.objects.count()
    return transport_cluster.queue_depth("default")


@pytest.fixture(autouse=True)
def empty_broker():
    from taskboard.transport import push as transport_push

    transport_push.broker_for("default").purge_queue()
    yield


def test_enqueue_returns_ready_result_with_run_id():
    result = sample_tasks.add.enqueue(2, 3)
    run = TaskRun.objects.get(pk=result.id)
    assert result.status == TaskResultStatus.READY
    assert (run.task, run.args, run.status) == ("tests.sample_tasks.add", [2, 3], Status.QUEUED)


def test_enqueue_pushes_one_message_after_commit():
    sample_tasks.add.enqueue(1, 1)
    assert broker_messages() == 1


def test_rolled_back_enqueue_leaves_no_run_and_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        sample_tasks.add.enqueue(1, 1)
        raise RuntimeError("rollback")
    assert TaskRun.objects.count() == 0
    assert broker_messages() == 0


def test_message_waits_for_the_outer_commit():
    with transaction.atomic():
        sample_tasks.add.enqueue(1, 1)
        assert broker_messages() == 0
    assert broker_messages() == 1


def test_get_result_reflects_the_live_row():
    result = sample_tasks.add.enqueue(2, 3)
    execute(result.id)
    fresh = sample_tasks.add.get_result(result.id)
    assert fresh.status == TaskResultStatus.SUCCESSFUL
    assert fresh.return_value == 5
    assert fresh.attempts == 1
    result.refresh()
    assert result.return_value == 5


def test_get_result_of_unknown_or_malformed_id():
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result("00000000-0000-4000-8000-000000000000")
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result("not-a-uuid")


def test_get_result_through_another_task_is_a_mismatch():
    result = sample_tasks.add.enqueue(2, 3)
    with pytest.raises(TaskResultMismatch):
        sample_tasks.echo.get_result(result.id)


def test_failed_run_maps_to_failed_with_one_error_per_attempt():
    result = sample_tasks.fail_until.enqueue(succeed_on=99)
    for _ in range(4):
        execute(result.id)
        TaskRun.objects.filter(pk=result.id, status=Status.RETRYING).update(status=Status.QUEUED)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in result.errors] == ["builtins.ConnectionError"] * 4
    assert result.errors[0].exception_class is ConnectionError


def test_context_attempt_counts_attempts():
    result = sample_tasks.fail_until.enqueue(succeed_on=2)
    execute(result.id)
    TaskRun.objects.filter(pk=result.id).update(status=Status.QUEUED)
    execute(result.id)
    result.refresh()
    assert result.return_value == {"attempt": 2}
    assert result.attempts == 2


def test_run_after_in_future_is_scheduled_without_message():
    later = timezone.now() + timedelta(minutes=5)
    result = sample_tasks.add.using(run_after=later).enqueue(1, 2)
    run = TaskRun.objects.get(pk=result.id)
    assert run.status == Status.SCHEDULED and run.run_after == later
    assert broker_messages() == 0


def test_naive_run_after_is_rejected():
    with pytest.raises(InvalidTask):
        sample_tasks.add.using(run_after=datetime(2030, 1, 1)).enqueue(1, 2)  # noqa: DTZ001


def test_unknown_queue_is_rejected():
    with pytest.raises(InvalidTask):
        sample_tasks.add.using(queue_name="nope").enqueue(1, 2)


@pytest.mark.parametrize(("args", "kwargs"), [
    ((1,), {}),                      # missing argument
    ((1, 2, 3), {}),                 # too many
    ((), {"a": 1, "c": 2}),          # unknown keyword
    (("1", 2), {}),                  # wrong type for an int
    ((True, 2), {}),                 # bool is not an int in JSON
])
def test_bad_arguments_are_rejected_and_nothing_is_written(args, kwargs):
    with pytest.raises(InvalidTaskArguments):
        sample_tasks.add.enqueue(*args, **kwargs)
    assert TaskRun.objects.count() == 0


@pytest.mark.parametrize(("args", "error"), [
    ((object(), 2), TypeError),      # not JSON: Django's normalize_json refuses it
    ((float("nan"), 2), ValueError),  # NaN is not JSON
])
def test_non_json_arguments_raise_what_django_raises_and_nothing_is_written(args, error):
    with pytest.raises(error):
        sample_tasks.add.enqueue(*args)
    assert TaskRun.objects.count() == 0


def test_tuples_are_normalised_to_lists():
    result = sample_tasks.echo.enqueue((1, (2, 3)))
    assert TaskRun.objects.get(pk=result.id).args == [[1, [2, 3]]]


def test_task_options_reach_the_run():
    run = TaskRun.objects.get(pk=sample_tasks.sleep_past_timeout.enqueue(seconds=0).id)
    assert (run.max_attempts, run.timeout) == (2, 1.0)
    assert run.backoff["base"] == 0.0


def test_invalid_task_options_fail_at_decoration():
    from django.tasks import task

    def bad(x: int) -> None: ...

    bad.__module__ = "tests.sample_tasks"
    bad.__qualname__ = "bad"
    with pytest.raises(InvalidTask):
        task(max_attempts=0)(bad)
    with pytest.raises(InvalidTask):
        task(timeout=-1)(bad)


def test_async_task_runs():
    result = sample_tasks.async_add.enqueue(2, 2)
    execute(result.id)
    result.refresh()
    assert result.return_value == 4


def test_priority_is_stored():
    result = sample_tasks.add.using(priority=50).enqueue(1, 1)
    assert TaskRun.objects.get(pk=result.id).priority == 50


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", ["nul \x00 byte", "lone \ud800 surrogate", nested(100)])
def test_values_the_database_cannot_store_are_rejected(value):
    with pytest.raises(ValueError, match="arguments"):
        sample_tasks.echo.enqueue(value)
    assert TaskRun.objects.count() == 0
