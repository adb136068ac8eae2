import random

import pytest

from taskboard.backend.policy import RetryPolicy
from taskboard.exceptions import PermanentError
from taskboard.models import Backoff, Outcome, should_retry


class Flaky(Exception):
    pass


class Fatal(Flaky):
    pass


def test_ceiling_grows_exponentially_and_caps():
    backoff = Backoff(base=1, factor=2, max_delay=10, jitter=0)
    assert [backoff.ceiling(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_huge_attempt_numbers_do_not_overflow():
    assert Backoff(base=1, factor=10, max_delay=60).ceiling(10_000) == 60


def test_no_jitter_is_deterministic():
    assert Backoff(base=2, factor=3, max_delay=100, jitter=0).delay(3) == 18


def test_full_jitter_stays_within_zero_and_ceiling():
    backoff = Backoff(base=4, factor=2, max_delay=100, jitter=1)
    rng = random.Random(7)
    delays = [backoff.delay(2, rng) for _ in range(500)]
    assert min(delays) >= 0 and max(delays) <= 8
    assert max(delays) - min(delays) > 4  # actually spread out


def test_partial_jitter_keeps_a_floor():
    backoff = Backoff(base=10, factor=1, max_delay=10, jitter=0.25)
    rng = random.Random(1)
    assert all(7.5 <= backoff.delay(1, rng) <= 10 for _ in range(200))


@pytest.mark.parametrize("kwargs", [{"base": -1}, {"factor": 0.5}, {"jitter": 1.5},
                                    {"base": 5, "max_delay": 1}])
def test_invalid_backoff_is_rejected(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_backoff_round_trips_through_dict():
    backoff = Backoff(base=0.5, factor=3, max_delay=30, jitter=0.1)
    assert Backoff.from_dict(backoff.as_dict()) == backoff


def test_default_classification_is_retryable():
    assert RetryPolicy().classify(ConnectionError()) == Outcome.RETRYABLE


def test_permanent_error_is_never_retried():
    assert RetryPolicy(retry_on=(PermanentError,)).classify(PermanentError()) == Outcome.PERMANENT


def test_give_up_on_wins_over_retry_on():
    policy = RetryPolicy(retry_on=(Flaky,), give_up_on=(Fatal,))
    assert policy.classify(Fatal()) == Outcome.PERMANENT
    assert policy.classify(Flaky()) == Outcome.RETRYABLE


def test_retry_on_makes_everything_else_permanent():
    assert RetryPolicy(retry_on=(Flaky,)).classify(KeyError()) == Outcome.PERMANENT


def test_max_attempts_must_be_positive():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(("kind", "attempt", "expected"), [
    (Outcome.RETRYABLE, 1, True),
    (Outcome.RETRYABLE, 3, False),
    (Outcome.TIMEOUT, 2, True),
    (Outcome.LOST, 2, True),
    (Outcome.PERMANENT, 1, False),
    (Outcome.CANCELLED, 1, False),
])
def test_should_retry(kind, attempt, expected):
    assert should_retry(kind, attempt, max_attempts=3) is expected
