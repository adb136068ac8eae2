"""Query budgets of the pages issue 12 added or changed: searches, time ranges, a run with a
long timeline, the New run form and the task pages. Fixed, however many rows they show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Outcome, Status
from tests import sample_tasks  # noqa: F401 - registers tests.sample_tasks.*
from tests.factories import ECHO

NAV_BADGE = 1  # a full page counts its firing alerts for the nav badge
BUDGETS = {
    "/dashboard/runs/?q={short}": 8,
    "/dashboard/runs/?q=task:echo queue:default status:failed kwargs.value:1 worker:host card": 8,
    "/dashboard/runs/?from=2020-01-01T00:00&to=2100-01-01T00:00": 7,
    "/dashboard/runs/?status=bogus": 5,
    "/dashboard/runs/{retried}/": 8 + NAV_BADGE,
    "/dashboard/dead-letters/?q={short}": 7,
    "/dashboard/runs/new/": 4 + NAV_BADGE,
    "/dashboard/runs/new/?task=tests.sample_tasks.echo": 4 + NAV_BADGE,
    "/dashboard/tasks/": 4 + NAV_BADGE,
    # two reads for the figures, five to store them in the (database) cache on a cold start
    "/dashboard/tasks/tests.sample_tasks.echo/": 12 + NAV_BADGE,
    "/dashboard/tasks/tests.sample_tasks.echo/?window=30d": 12 + NAV_BADGE,
}


@pytest.fixture
def seeded(make_run, make_failed, make_attempt):
    now = timezone.now()
    for i in range(40):
        make_failed(f"card declined for order {i}", ago=60 * i, task=ECHO, worker=f"host-{i % 3}:1")
        make_run(Status.SUCCEEDED, ago=i, finished_at=now - timedelta(minutes=i))
        make_run(Status.RETRYING, run_after=now + timedelta(minutes=1))
        make_run(Status.SCHEDULED, run_after=now + timedelta(hours=1))
    retried = make_run(Status.FAILED, attempts=30, max_attempts=30)
    for n in range(1, 31):
        make_attempt(retried, number=n, outcome=Outcome.RETRYABLE, exception="builtins.ConnectionError",
                     message=f"reset {n}")
    return {"retried": retried.pk, "short": str(retried.pk)[:8]}


@pytest.mark.parametrize(("url", "budget"), BUDGETS.items())
def test_page_stays_within_its_query_budget(operator_client, seeded, django_assert_max_num_queries, url, budget):
    with django_assert_max_num_queries(budget):
        response = operator_client.get(url.format(**seeded))
    assert response.status_code in (200, 400)
