"""The runner in-process: claim, classification, interruption, recording."""

import threading
import time

import pytest

from taskboard import operations
from taskboard.execution.runner import execute
from taskboard.models import DeadLetter, Outcome, Status, TaskAttempt, TaskRun
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def run_of(result):
    return TaskRun.objects.get(pk=result.id)


def test_success_records_one_attempt_and_result():
    result = sample_tasks.add.enqueue(20, 22)
    execute(result.id)
    run = run_of(result)
    assert (run.status, run.result, run.progress) == (Status.SUCCEEDED, 42, 100)
    assert list(run.attempt_set.values_list("outcome", flat=True)) == [Outcome.SUCCEEDED]


def test_second_delivery_of_the_same_message_is_dropped():
    result = sample_tasks.add.enqueue(1, 2)
    execute(result.id)
    execute(result.id)
    assert run_of(result).attempts == 1
    assert TaskAttempt.objects.count() == 1


def test_unknown_run_id_is_ignored():
    execute("00000000-0000-4000-8000-000000000000")
    assert TaskAttempt.objects.count() == 0


def test_retryable_error_is_classified_and_retried():
    result = sample_tasks.fail_until.enqueue(succeed_on=2)
    execute(result.id)
    run = run_of(result)
    attempt = run.attempt_set.get()
    assert run.status == Status.RETRYING
    assert (attempt.outcome, attempt.exception) == (Outcome.RETRYABLE, "builtins.ConnectionError")
    assert "ConnectionError: attempt 1 failed" in attempt.traceback


def test_give_up_on_is_permanent():
    result = sample_tasks.raise_unrecoverable.enqueue()
    execute(result.id)
    run = run_of(result)
    assert run.status == Status.FAILED
    assert run.attempt_set.get().outcome == Outcome.PERMANENT
    assert DeadLetter.objects.filter(run=run).exists()


def test_exception_outside_retry_on_is_permanent():
    result = sample_tasks.raise_value_error.enqueue()
    execute(result.id)
    assert run_of(result).attempt_set.get().outcome == Outcome.PERMANENT


def test_permanent_error_subclass_dead_letters_on_first_attempt():
    result = sample_tasks.raise_permanent.enqueue()
    execute(result.id)
    run = run_of(result)
    assert (run.status, run.attempts) == (Status.FAILED, 1)


def test_non_json_return_value_is_a_permanent_failure():
    result = sample_tasks.return_not_json.enqueue()
    execute(result.id)
    attempt = run_of(result).attempt_set.get()
    assert attempt.outcome == Outcome.PERMANENT
    assert "not JSON" in attempt.message


def test_timeout_interrupts_a_blocking_sleep():
    result = sample_tasks.sleep_past_timeout.enqueue(seconds=30)
    execute(result.id)  # returns long before the 30 s sleep ends (bench.interrupts times it)
    run = run_of(result)
    attempt = run.attempt_set.get()
    assert (attempt.outcome, attempt.exception) == (Outcome.TIMEOUT, "taskboard.exceptions.TaskTimedOut")
    assert run.status == Status.RETRYING  # timeouts retry per policy (max_attempts=2)


def test_cancel_from_another_thread_interrupts_a_blocking_sleep():
    result = sample_tasks.sleep_past_timeout.enqueue(seconds=0.9)  # timeout 1 s, so keep it short
    run_id = result.id
    TaskRun.objects.filter(pk=run_id).update(timeout=None)

    def cancel_soon():
        time.sleep(0.3)
        operations.cancel(run_id)

    canceller = threading.Thread(target=cancel_soon)
    TaskRun.objects.filter(pk=run_id).update(kwargs={"seconds": 20})
    canceller.start()
    execute(run_id)
    canceller.join()
    run = run_of(result)
    assert run.status == Status.CANCELLED
    assert run.attempt_set.get().outcome == Outcome.CANCELLED


def test_progress_and_checkpoint_are_saved():
    result = sample_tasks.report.enqueue(n=50)
    execute(result.id)
    run = run_of(result)
    assert run.checkpoint == {"done": 50}
    assert run.result == {"attempt": 1, "checkpoint": {"done": 50}}
    assert (run.progress, run.progress_message) == (100, "item 50")


def test_progress_writes_are_coalesced(django_assert_max_num_queries):
    result = sample_tasks.report.enqueue(n=2000)
    # claim, attempt bookkeeping and one checkpoint; 2000 progress calls must not add 2000
    with django_assert_max_num_queries(30):
        execute(result.id)
    assert run_of(result).progress_message == "item 2000"


def test_missing_task_function_is_dead_lettered():
    run = TaskRun.objects.create(task="tests.sample_tasks.does_not_exist", max_attempts=3)
    execute(str(run.pk))
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "cannot be imported" in run.attempt_set.get().message


def test_cancelled_queued_run_is_never_executed():
    result = sample_tasks.add.enqueue(1, 1)
    operations.cancel(result.id)
    execute(result.id)
    assert run_of(result).status == Status.CANCELLED
    assert TaskAttempt.objects.count() == 0


def test_task_module_failing_at_import_fails_the_run_at_once(tmp_path, monkeypatch):
    module = tmp_path / "tb_broken_at_import.py"
    module.write_text("raise RuntimeError('the config file is missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = TaskRun.objects.create(task="tb_broken_at_import.job", max_attempts=3)
    execute(str(run.pk))  # must not raise
    run.refresh_from_db()
    attempt = run.attempt_set.get()
    assert (run.status, run.attempts) == (Status.FAILED, 1)
    assert attempt.outcome == Outcome.PERMANENT
    assert "RuntimeError: the config file is missing" in attempt.message
    assert "tb_broken_at_import.py" in attempt.traceback
    assert "RuntimeError: the config file is missing" in attempt.traceback
    assert DeadLetter.objects.filter(run=run).exists()
