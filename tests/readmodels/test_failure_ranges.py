"""Failure groups of a From/To range: counted in the range only, at most seven days long, in a
fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Outcome, Status
from taskboard.readmodels import failures

pytestmark = pytest.mark.django_db


def attempts_aged(make_run, make_attempt, *ages, message="flaky upstream", task=None):
    now = timezone.now()
    run = make_run(Status.FAILED, **({"task": task} if task else {}))
    for number, age in enumerate(ages, start=1):
        make_attempt(run, number=number, outcome=Outcome.RETRYABLE, message=message, finished_at=now - age)
    return now


def test_only_attempts_inside_the_range_count(make_run, make_attempt):
    now = attempts_aged(make_run, make_attempt, timedelta(hours=1), timedelta(hours=5), timedelta(hours=6),
                        timedelta(days=3))
    [group] = failures.failure_groups(since=now - timedelta(hours=7), until=now - timedelta(hours=2))
    assert (group.count_range, group.first_seen, group.last_seen) == (
        2, now - timedelta(hours=6), now - timedelta(hours=5))
    assert (group.message, sum(group.spark), len(group.spark)) == ("flaky upstream", 2, failures.SPARK_BUCKETS)


def test_the_range_end_is_exclusive_and_the_start_inclusive(make_run, make_attempt):
    now = attempts_aged(make_run, make_attempt, timedelta(hours=2), timedelta(hours=4))
    [group] = failures.failure_groups(since=now - timedelta(hours=4), until=now - timedelta(hours=2))
    assert group.count_range == 1 and group.last_seen == now - timedelta(hours=4)


def test_from_alone_runs_until_now_and_to_alone_reaches_back_seven_days(make_run, make_attempt):
    now = attempts_aged(make_run, make_attempt, timedelta(minutes=5), timedelta(days=2), timedelta(days=9))
    [recent] = failures.failure_groups(since=now - timedelta(days=1))
    assert recent.count_range == 1
    [week] = failures.failure_groups(until=now - timedelta(days=1))
    assert week.count_range == 1  # the attempt 2 days old; 9 days is outside the week before To


def test_a_range_is_never_longer_than_the_window(make_run, make_attempt):
    now = attempts_aged(make_run, make_attempt, timedelta(days=1), timedelta(days=10))
    [group] = failures.failure_groups(since=now - timedelta(days=30), until=now)
    assert group.count_range == 1


def test_an_empty_or_reversed_range_has_no_groups(make_run, make_attempt):
    now = attempts_aged(make_run, make_attempt, timedelta(hours=1))
    assert failures.failure_groups(since=now, until=now - timedelta(hours=2)) == []
    assert failures.failure_groups(since=now - timedelta(days=2), until=now - timedelta(days=1)) == []


def test_task_and_frequent_order_apply_in_a_range(make_run, make_attempt):
    attempts_aged(make_run, make_attempt, timedelta(hours=3), message="rare", task="taskboard.demo.flaky")
    now = attempts_aged(make_run, make_attempt, timedelta(hours=4), timedelta(hours=5), message="common",
                        task="taskboard.demo.flaky")
    attempts_aged(make_run, make_attempt, timedelta(hours=3), message="other task", task="taskboard.demo.fail")
    since = now - timedelta(hours=6)
    rows = failures.failure_groups("taskboard.demo.flaky", "frequent", since=since)
    assert [(group.message, group.count_range) for group in rows] == [("common", 2), ("rare", 1)]
    recent = failures.failure_groups("taskboard.demo.flaky", "recent", since=since)
    assert [group.message for group in recent] == ["rare", "common"]


def test_recovery_counts_the_runs_of_the_ranges_last_day(make_run, make_attempt):
    now = timezone.now()
    for status in (Status.SUCCEEDED, Status.FAILED):
        make_attempt(make_run(status), outcome=Outcome.RETRYABLE, message="flaky",
                     finished_at=now - timedelta(days=3))
    make_attempt(make_run(Status.SUCCEEDED), outcome=Outcome.RETRYABLE, message="flaky",
                 finished_at=now - timedelta(minutes=5))  # after the range
    [group] = failures.failure_groups(since=now - timedelta(days=4), until=now - timedelta(days=2))
    assert (group.count_range, group.recovered, group.runs) == (2, 1, 2)


def test_a_range_costs_a_fixed_number_of_queries(make_run, make_attempt, django_assert_num_queries):
    for i in range(20):
        attempts_aged(make_run, make_attempt, timedelta(hours=i + 1), message=f"error kind {'abcdefghij'[i % 10]}")
    now = timezone.now()
    with django_assert_num_queries(3):  # the range's rows, the groups' samples, the recovery sample
        groups = failures._range_groups(None, "recent", now - timedelta(days=2), None, now)
    assert len(groups) == 10
