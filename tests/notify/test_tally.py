"""The failure-rate window: counts like one query over the window would, but reads each closed
stretch of the runs table once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taskboard.models import Status
from taskboard.notify import tally
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def finished(status: str, seconds_ago: float, task: str = "t") -> None:
    make_run(status, task=task, finished_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_counts_succeeded_and_failed_in_the_window_only() -> None:
    for ago in (5, 100, 500):
        finished(Status.SUCCEEDED, ago)
    finished(Status.FAILED, 30)
    finished(Status.CANCELLED, 30)
    finished(Status.FAILED, 700)  # before the window
    assert tally.finished_runs(timezone.now(), 600) == {"t": (3, 1)}


def test_later_evaluations_read_only_what_closed_since_and_the_open_tail() -> None:
    now = timezone.now()
    finished(Status.SUCCEEDED, 20)  # nothing at the far end of the window: no refill for that
    tally.finished_runs(now, 600)
    for step in range(1, 6):
        later = now + timedelta(seconds=5 * step)  # an evaluation every 5 s; a run ends just before each
        make_run(Status.FAILED, task="t", finished_at=later - timedelta(seconds=1))
        with CaptureQueriesContext(connection) as queries:
            counts = tally.finished_runs(later, 600)
        assert len(queries) <= 2
        assert counts == {"t": (1, step)}


def test_a_wider_window_is_read_again() -> None:
    finished(Status.FAILED, 1000)
    now = timezone.now()
    assert tally.finished_runs(now, 600) == {}
    assert tally.finished_runs(now, 1800) == {"t": (0, 1)}


def test_what_reads_names_is_what_finished_runs_needs(django_assert_num_queries) -> None:
    from taskboard.notify import reads

    finished(Status.SUCCEEDED, 100)
    finished(Status.FAILED, 30)
    now = timezone.now()
    for later in (now, now + timedelta(seconds=20)):  # the window's first read, then a closed stretch and the tail
        rows = reads.fetch(tally.reads(later, 600))
        with django_assert_num_queries(0):
            assert tally.finished_runs(later, 600, rows) == {"t": (1, 1)}
    assert tally.finished_runs(now + timedelta(seconds=25), 600, {}) == {"t": (1, 1)}  # not handed over: read here
