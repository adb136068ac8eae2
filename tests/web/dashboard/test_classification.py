"""Why a failed attempt was classified as it was, on the run page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.backend.policy import RetryPolicy
from taskboard.exceptions import PermanentError
from taskboard.models import Outcome, Status
from taskboard.web.dashboard.classification import explain, loaded_exception, permanent_rule
from tests import sample_tasks
from tests.sample_tasks import Unrecoverable

FAIL_UNTIL = "tests.sample_tasks.fail_until"


class CardDeclined(PermanentError):
    pass


def page(client, run):
    return client.get(f"/dashboard/runs/{run.pk}/").content.decode()


def test_a_retried_attempt_says_why_and_when_it_runs_again(viewer_client, make_run, make_attempt):
    run = make_run(Status.RETRYING, task=FAIL_UNTIL, attempts=3, max_attempts=5, kwargs={"succeed_on": 9})
    attempt = make_attempt(run, number=3, outcome=Outcome.RETRYABLE, exception="builtins.ConnectionError",
                           message="reset")
    attempt.retry_at = timezone.now().replace(hour=14, minute=2, second=11, microsecond=0)
    attempt.save()
    content = page(viewer_client, run)
    assert ("retryable: ConnectionError is not a PermanentError; attempt 3 of 5; next at "
            f"{timezone.localtime(attempt.retry_at):%H:%M:%S}") in content


def test_a_permanent_error_names_the_rule(viewer_client, make_failed):
    content = page(viewer_client, make_failed(task="tests.sample_tasks.raise_permanent"))
    assert "permanent: a PermanentError is never retried; attempt 1 of 3; not retried" in content


def test_the_last_attempt_says_it_was_the_last(viewer_client, make_run, make_attempt):
    run = make_run(Status.FAILED, task=FAIL_UNTIL, attempts=4, max_attempts=4, kwargs={"succeed_on": 9})
    make_attempt(run, number=4, outcome=Outcome.RETRYABLE, exception="builtins.ConnectionError", message="x")
    assert "attempt 4 of 4, the last one" in page(viewer_client, run)


# --- the rules --------------------------------------------------------------------------------


def policy_of(name):
    return getattr(sample_tasks, name).policy


def test_give_up_on():
    assert permanent_rule(Unrecoverable, policy_of("raise_unrecoverable")) == "Unrecoverable is in give_up_on"


def test_not_in_retry_on():
    assert permanent_rule(ValueError, policy_of("raise_value_error")) == (
        "ValueError is not in retry_on (ConnectionError)")


def test_a_subclass_of_permanent_error():
    assert permanent_rule(CardDeclined, RetryPolicy()) == (
        "CardDeclined is a PermanentError; a PermanentError is never retried")


def test_a_subclass_in_give_up_on():
    assert permanent_rule(ConnectionResetError, RetryPolicy(give_up_on=(ConnectionError,))) == (
        "ConnectionResetError is a ConnectionError, which is in give_up_on")


@pytest.mark.parametrize("kind", [ValueError, ConnectionError, ConnectionResetError, Unrecoverable, CardDeclined,
                                  PermanentError, KeyError])
@pytest.mark.parametrize("policy", [RetryPolicy(), RetryPolicy(retry_on=(ConnectionError,)),
                                    RetryPolicy(give_up_on=(Unrecoverable, KeyError)),
                                    RetryPolicy(retry_on=(OSError,), give_up_on=(ConnectionResetError,))])
def test_the_explanation_agrees_with_the_policy(kind, policy):
    retryable = policy.classify(kind("x")) == Outcome.RETRYABLE
    assert (permanent_rule(kind, policy) is None) == retryable


def test_an_exception_is_looked_up_only_among_imported_modules():
    assert loaded_exception("builtins.ConnectionError") is ConnectionError
    assert loaded_exception("tests.sample_tasks.Unrecoverable") is Unrecoverable
    assert loaded_exception("no_such_module_anywhere.Boom") is None
    assert loaded_exception("builtins.len") is None


def test_an_unknown_exception_keeps_the_recorded_verdict(make_run, make_attempt):
    run = make_run(Status.FAILED, attempts=1)
    attempt = make_attempt(run, exception="gone.module.Boom", message="x")
    assert explain(attempt, run, RetryPolicy()) == (
        "permanent: the worker recorded Boom as permanent (a PermanentError, in give_up_on or not in retry_on); "
        "attempt 1 of 3; not retried")


def test_a_timeout_names_the_limit(make_run, make_attempt):
    run = make_run(Status.RETRYING, attempts=1, timeout=30)
    attempt = make_attempt(run, outcome=Outcome.TIMEOUT, exception="taskboard.exceptions.TaskTimedOut", message="")
    attempt.retry_at = timezone.now() + timedelta(days=2)
    text = explain(attempt, run, RetryPolicy())
    assert text.startswith("timeout: the attempt ran past its 30 s timeout; a timeout is retried; attempt 1 of 3; "
                           "next at ")
    assert f"{timezone.localtime(attempt.retry_at):%Y-%m-%d}" in text
