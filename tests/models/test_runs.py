from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.utils import timezone

from taskboard.models import (
    DeadLetter,
    Outcome,
    Resolution,
    Status,
    TaskAttempt,
    TaskRun,
    fingerprint,
    normalise_message,
)
from tests import factories

pytestmark = pytest.mark.django_db


# No jitter: the retry delays are exact (10 s, 20 s, … up to 100 s).
BACKOFF = {"base": 10, "factor": 2, "max_delay": 100, "jitter": 0}


def make_run(**fields: Any) -> TaskRun:
    return factories.make_run(**{"task": "tests.sample_tasks.add", "backoff": BACKOFF, **fields})


def failed_attempt(run: TaskRun, outcome: str = Outcome.RETRYABLE, number: int | None = None) -> TaskAttempt:
    """An unsaved failed attempt, as the runner hands it to the run's transitions."""
    now = timezone.now()
    return TaskAttempt(run=run, task=run.task, number=number or run.attempts, outcome=outcome,
                       exception="builtins.ValueError", message="boom", started_at=now, finished_at=now)


def test_normalise_message_strips_numbers_ids_and_quotes():
    assert normalise_message("order 1042 for 'alice' id 3f2b1c9e-0000-4000-8000-00000000abcd") == \
        "order # for ? id #"


def test_fingerprint_groups_messages_that_differ_only_in_values():
    a = fingerprint("t", "builtins.KeyError", "missing key 'x' in row 17")
    b = fingerprint("t", "builtins.KeyError", "missing key 'y' in row 912")
    c = fingerprint("t", "builtins.KeyError", "another problem")
    assert a == b != c


def test_claim_moves_queued_to_running_once():
    run = make_run()
    claimed = TaskRun.objects.claim(run.pk, "host:1", 10)
    assert claimed is not None and claimed.status == Status.RUNNING and claimed.attempts == 1
    assert TaskRun.objects.claim(run.pk, "host:2", 10) is None


def test_claim_ignores_waiting_and_finished_runs():
    for status in (Status.SCHEDULED, Status.RETRYING, Status.SUCCEEDED, Status.CANCELLED):
        assert TaskRun.objects.claim(make_run(status=status).pk, "h:1", 10) is None


def test_retryable_failure_schedules_backoff():
    run = TaskRun.objects.claim(make_run().pk, "h:1", 10)
    before = timezone.now()
    assert run.settle_failure(failed_attempt(run))
    run.refresh_from_db()
    assert run.status == Status.RETRYING
    assert timedelta(seconds=9.9) <= run.run_after - before <= timedelta(seconds=10.5)
    assert run.last_error == "ValueError: boom"
    assert not DeadLetter.objects.exists()


def test_exhausted_attempts_fail_with_dead_letter():
    run = TaskRun.objects.claim(make_run(max_attempts=1).pk, "h:1", 10)
    assert run.settle_failure(failed_attempt(run))
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.finished_at is not None
    assert "gave up after 1 of 1 attempts" in run.dead_letter.reason


def test_permanent_failure_dead_letters_at_once():
    run = TaskRun.objects.claim(make_run(max_attempts=5).pk, "h:1", 10)
    run.settle_failure(failed_attempt(run, Outcome.PERMANENT))
    assert TaskRun.objects.get(pk=run.pk).status == Status.FAILED
    assert DeadLetter.objects.get(run=run).reason.startswith("permanent error")


def test_cancelled_attempt_ends_cancelled_without_dead_letter():
    run = TaskRun.objects.claim(make_run().pk, "h:1", 10)
    run.settle_failure(failed_attempt(run, Outcome.CANCELLED))
    assert TaskRun.objects.get(pk=run.pk).status == Status.CANCELLED
    assert not DeadLetter.objects.exists()


def test_stale_outcome_is_refused():
    run = TaskRun.objects.claim(make_run().pk, "h:1", 10)
    stale = failed_attempt(run, number=run.attempts)
    TaskRun.objects.filter(pk=run.pk).update(attempts=2)  # someone else moved on
    assert not run.settle_failure(stale)
    assert not TaskAttempt.objects.exists()


def test_declare_lost_records_attempt_and_retries():
    run = TaskRun.objects.claim(make_run().pk, "h:1", 10)
    TaskRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    run.refresh_from_db()
    assert run.declare_lost(timezone.now())
    attempt = TaskAttempt.objects.get(run=run)
    assert attempt.outcome == Outcome.LOST and attempt.exception == "taskboard.exceptions.WorkerLost"
    assert TaskRun.objects.get(pk=run.pk).status == Status.RETRYING


def test_live_lease_is_not_declared_lost():
    run = TaskRun.objects.claim(make_run().pk, "h:1", 30)
    assert not run.declare_lost(timezone.now())


def test_idempotency_key_is_unique_per_task():
    make_run(idempotency_key="k1")
    make_run(idempotency_key="k1", task="tests.sample_tasks.echo")
    with pytest.raises(IntegrityError):
        make_run(idempotency_key="k1")


def test_runs_without_key_do_not_collide():
    make_run()
    make_run()
    assert TaskRun.objects.count() == 2


def test_dead_letter_resolves_once():
    run = make_run(status=Status.FAILED)
    letter = factories.make_dead_letter(run, reason="x")
    assert letter.resolve(Resolution.DISCARDED, "alice")
    assert not DeadLetter.objects.get(pk=letter.pk).resolve(Resolution.REPLAYED, "bob")
    assert DeadLetter.objects.get(pk=letter.pk).resolved_by_name == "alice"


def test_queue_wait_and_run_time_are_derived():
    now = timezone.now()
    run = make_run(enqueued_at=now - timedelta(seconds=10), started_at=now - timedelta(seconds=4),
                   finished_at=now)
    assert run.queue_wait == timedelta(seconds=6)
    assert run.run_time == timedelta(seconds=4)
