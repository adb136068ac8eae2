"""One task's figures (the task page): runs finished per bucket, failure rate, percentiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Status
from taskboard.readmodels import tasks
from taskboard.readmodels.tasks import TaskBucket, percentile, ready_at

TASK = "tests.sample_tasks.echo"


@pytest.fixture
def finished(make_run):
    """A run of TASK that finished ``ago`` seconds ago after ``wait`` s in the queue and
    ``took`` s running."""
    def make(status=Status.SUCCEEDED, *, ago=60.0, wait=1.0, took=2.0, task=TASK, **fields):
        end = timezone.now() - timedelta(seconds=ago)
        start = end - timedelta(seconds=took)
        return make_run(status, task=task, enqueued_at=start - timedelta(seconds=wait), started_at=start,
                        claimed_at=start, finished_at=end, **fields)
    return make


def test_counts_runs_not_attempts(finished):
    finished(Status.SUCCEEDED, attempts=4)  # retried three times, finished once
    finished(Status.FAILED)
    finished(Status.CANCELLED)
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    total = stats.total
    assert (total.finished, total.succeeded, total.failed, total.cancelled) == (3, 1, 1, 1)


def test_a_cancel_is_not_a_failure(finished):
    finished(Status.SUCCEEDED)
    finished(Status.CANCELLED)
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    assert stats.total.failure_rate == 0.0


def test_only_this_task_and_this_window(finished):
    finished(ago=60)
    finished(ago=2 * 3600)
    finished(task="taskboard.demo.noop")
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    assert stats.total.finished == 1


def test_runs_land_in_their_bucket(finished):
    runs = [finished(ago=30), finished(ago=30 * 60)]
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    step = tasks.WINDOWS["1h"].step
    assert len(stats.buckets) == 12
    for run in runs:
        [bucket] = [b for b in stats.buckets if b.start <= run.finished_at < b.start + step]
        assert bucket.finished == 1
    assert sum(b.finished for b in stats.buckets) == 2


@pytest.mark.parametrize("key", list(tasks.WINDOWS))
def test_every_window_covers_its_span(key):
    window = tasks.WINDOWS[key]
    now = timezone.now()
    starts = tasks._bucket_starts(window, now)
    assert starts[0] <= now - window.span + window.step and starts[-1] <= now < starts[-1] + window.step


def test_run_time_and_queue_wait_percentiles(finished):
    for took in (1, 2, 3, 4, 100):
        finished(took=took, wait=took / 10)
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    assert stats.percentiles()[0] == (50, pytest.approx(3.0), pytest.approx(0.3))
    assert stats.percentiles()[1][1] == pytest.approx(100.0)


def test_the_percentiles_come_from_a_bounded_sample(finished, monkeypatch):
    monkeypatch.setattr(tasks, "SAMPLE_LIMIT", 2)
    for ago in (10, 20, 30):
        finished(ago=ago)
    stats = tasks._task_stats(TASK, tasks.WINDOWS["1h"], timezone.now())
    assert (stats.sampled, len(stats.run_times), stats.total.finished) == (True, 2, 3)


def test_percentile_is_nearest_rank():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 50) is None


def test_ready_is_the_run_after_of_a_deferred_run_not_a_retry_backoff():
    now = timezone.now()
    assert ready_at(now, now + timedelta(seconds=5), now + timedelta(seconds=6)) == now + timedelta(seconds=5)
    assert ready_at(now, now + timedelta(seconds=9), now + timedelta(seconds=6)) == now


def test_an_empty_bucket_has_no_failures():
    assert (TaskBucket(timezone.now()).finished, TaskBucket(timezone.now()).failure_rate) == (0, 0.0)


def test_stats_are_cached(finished, django_assert_num_queries):
    finished()
    tasks.task_stats(TASK, "24h")
    with django_assert_num_queries(1):  # one cache read
        tasks.task_stats(TASK, "24h")
