"""Django's own django.tasks contract (django/tasks/base.py and its tests), held by taskboard."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.tasks import TaskResultStatus, task, task_backends
from django.tasks.base import Task
from django.tasks.signals import task_finished
from django.test import override_settings
from django.utils import timezone

from taskboard import operations
from taskboard.exceptions import InvalidTaskArguments, TaskTimedOut
from taskboard.execution import monitor as monitor_module
from taskboard.execution.interrupt import AttemptControl
from taskboard.execution.recording import send_finished_for
from taskboard.execution.runner import execute
from taskboard.models import Outcome, Status, TaskRun
from taskboard.service import clock
from taskboard.transport import guard
from tests import sample_tasks
from tests.backend import conformance_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TASKBOARD = "taskboard.backends.TaskboardBackend"


def with_queues(*queues: str, **aliases: dict[str, Any]) -> override_settings:
    return override_settings(TASKS={"default": {"BACKEND": TASKBOARD, "QUEUES": list(queues)}, **aliases})


@pytest.fixture
def finished() -> Iterator[list[Any]]:
    results: list[Any] = []

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        results.append(task_result)

    task_finished.connect(receiver, dispatch_uid="test-conformance")
    yield results
    task_finished.disconnect(dispatch_uid="test-conformance")


# --- get_result ---------------------------------------------------------------------------


def test_get_result_equals_the_enqueued_result():
    result = sample_tasks.add.enqueue(1, 2)
    assert sample_tasks.add.get_result(result.id) == result


def test_get_result_keeps_priority_and_queue():
    with with_queues("default", "high"):
        result = sample_tasks.add.using(priority=7, queue_name="high").enqueue(1, 2)
        fetched = sample_tasks.add.get_result(result.id)
    assert fetched == result
    assert (fetched.task.priority, fetched.task.queue_name) == (7, "high")


def test_get_result_after_the_queue_was_removed():
    with with_queues("default", "high"):
        result = sample_tasks.add.using(queue_name="high").enqueue(1, 2)
    # "high" is gone from QUEUES now: reading the run must not re-validate it.
    fetched = task_backends["default"].get_result(result.id)
    assert fetched.task.queue_name == "high"
    assert fetched == result


def test_get_result_keeps_the_backend_alias():
    with override_settings(TASKS={**settings.TASKS, "other": {"BACKEND": TASKBOARD, "QUEUES": ["default"]}}):
        routed = sample_tasks.add.using(backend="other")
        result = routed.enqueue(1, 2)
        assert TaskRun.objects.get(pk=result.id).backend == "other"
        fetched = routed.get_result(result.id)
        assert fetched == result
        assert (fetched.backend, fetched.task.backend) == ("other", "other")
        assert task_backends["default"].get_result(result.id).backend == "other"


# --- arguments that are not JSON ------------------------------------------------------------


def test_non_json_argument_raises_djangos_type_error():
    with pytest.raises(TypeError, match="Unsupported type"):
        sample_tasks.echo.enqueue(datetime.now())  # noqa: DTZ005
    assert not TaskRun.objects.exists()


@pytest.mark.parametrize("value", [float("nan"), "nul \x00 byte"])
def test_unstorable_argument_raises_value_error(value):
    with pytest.raises(ValueError) as caught:
        sample_tasks.echo.enqueue(value)
    assert not isinstance(caught.value, InvalidTaskArguments)
    assert not TaskRun.objects.exists()


def test_operators_still_get_invalid_task_arguments():
    # The API, CLI and dashboard answer this with a 400 naming the problem.
    with pytest.raises(InvalidTaskArguments, match="arguments must be JSON values: Unsupported type"):
        operations.enqueue("tests.sample_tasks.echo", [object()])


# --- what a failure records and signals ------------------------------------------------------


def test_non_json_return_value_is_the_real_type_error_and_permanent():
    result = conformance_tasks.return_set.enqueue()
    execute(result.id)
    run = TaskRun.objects.get(pk=result.id)
    attempt = run.attempt_set.get()
    assert (run.status, attempt.outcome, attempt.exception) == (Status.FAILED, Outcome.PERMANENT, "builtins.TypeError")
    result.refresh()
    assert result.errors[0].exception_class is TypeError


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_failed_log_line_carries_the_traceback():
    handler = Records()
    logger = logging.getLogger("django.tasks")
    logger.addHandler(handler)
    try:
        result = conformance_tasks.divide.enqueue(1, 0)
        execute(result.id)
    finally:
        logger.removeHandler(handler)
    [failed] = [r for r in handler.records if r.levelno == logging.ERROR]
    assert failed.exc_info is not None and failed.exc_info[0] is ZeroDivisionError


def test_task_finished_when_lease_recovery_fails_the_run(finished):
    result = sample_tasks.add.enqueue(1, 2)
    TaskRun.objects.filter(pk=result.id).update(max_attempts=1)
    TaskRun.objects.claim(result.id, "host:1", 30)
    TaskRun.objects.filter(pk=result.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert clock.recover_lost() == 1
    assert [(r.id, r.status) for r in finished] == [(result.id, TaskResultStatus.FAILED)]
    assert finished[0].errors[0].exception_class_path == "taskboard.exceptions.WorkerLost"


def test_no_task_finished_when_lease_recovery_retries(finished):
    result = sample_tasks.add.enqueue(1, 2)
    TaskRun.objects.claim(result.id, "host:1", 30)
    TaskRun.objects.filter(pk=result.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert clock.recover_lost() == 1
    assert TaskRun.objects.get(pk=result.id).status == Status.RETRYING
    assert finished == []


def test_task_finished_when_a_dead_workers_run_fails(finished):
    result = sample_tasks.add.enqueue(1, 2)
    TaskRun.objects.filter(pk=result.id).update(max_attempts=1)
    run = TaskRun.objects.claim(result.id, "placeholder", 30)
    assert run is not None
    TaskRun.objects.filter(pk=run.pk).update(worker=guard.process_identity(424242))
    assert guard.settle_dead_worker(424242, "killed", on_settled=send_finished_for) == 1
    assert [(r.id, r.status) for r in finished] == [(result.id, TaskResultStatus.FAILED)]


def test_task_finished_when_the_monitor_gives_up(finished, monkeypatch):
    result = sample_tasks.add.enqueue(1, 2)
    TaskRun.objects.filter(pk=result.id).update(max_attempts=1)
    run = TaskRun.objects.claim(result.id, "host:1", 30)
    assert run is not None
    control = AttemptControl(run=run, number=1, deadline=None)
    control.request_interrupt(TaskTimedOut("attempt 1 exceeded its timeout"))

    class Exited(Exception):
        pass

    def fake_exit(status: int) -> None:
        raise Exited(status)

    monkeypatch.setattr(monitor_module.os, "_exit", fake_exit)
    with pytest.raises(Exited):
        monitor_module.Monitor()._give_up(control)
    assert [(r.id, r.status) for r in finished] == [(result.id, TaskResultStatus.FAILED)]
    assert TaskRun.objects.get(pk=result.id).attempt_set.get().outcome == Outcome.TIMEOUT


# --- a plain django.tasks Task routed to taskboard -----------------------------------------


def test_plain_task_routed_with_using_backend_is_accepted(monkeypatch):
    aliases = {**settings.TASKS, "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=aliases):
        plain = task(backend="immediate")(conformance_tasks.double)
        assert type(plain) is Task
        # As an app would declare it: the module attribute is the Task.
        monkeypatch.setattr(conformance_tasks, "double", plain)
        routed = plain.using(backend="default")
        result = routed.enqueue(21)
        run = TaskRun.objects.get(pk=result.id)
        assert (run.backend, run.max_attempts) == ("default", 3)  # the backend's default options
        execute(result.id)
        fetched = routed.get_result(result.id)
        assert (fetched.status, fetched.return_value) == (TaskResultStatus.SUCCESSFUL, 42)
        assert type(fetched.task) is Task and fetched.task == routed


def test_task_finished_when_an_operator_cancels_a_waiting_run(finished):
    result = sample_tasks.add.enqueue(1, 2)
    operations.cancel(result.id)
    assert [(r.id, r.status) for r in finished] == [(result.id, TaskResultStatus.FAILED)]
