"""Every page and fragment does a fixed number of queries, however many rows it shows.

The seed puts dozens of rows behind every panel (runs in each status, attempts, dead letters,
workers); an N+1 anywhere would blow the budget. Budgets are for an operator (permission
checks included) on a cold dashboard cache (the aggregates are computed and stored).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import DeadLetter, Status, WorkerNode
from taskboard.transport import cluster as transport_cluster

# Measured with an empty cache: the charts write their closed minute and hour buckets to the
# (database) cache on the first request of each minute/hour, which costs a few queries.
# Every full page also counts its firing alerts for the nav badge (fragments do not).
NAV_BADGE = 1
BUDGETS = {
    "/dashboard/": 36 + NAV_BADGE,  # one bounded count per status (held is one more)
    "/dashboard/panels/stats/": 13,
    "/dashboard/flow/": 14 + NAV_BADGE,
    "/dashboard/panels/queues/": 8,
    "/dashboard/panels/charts/": 19,
    "/dashboard/panels/workers/": 6,
    "/dashboard/panels/failures/": 5,
    "/dashboard/runs/": 7 + NAV_BADGE,
    "/dashboard/runs/?status=failed&q=card": 8 + NAV_BADGE,
    "/dashboard/runs/{failed}/": 8 + NAV_BADGE,  # + the audit events on its timeline
    "/dashboard/runs/{running}/progress/": 8,
    "/dashboard/runs/{running}/row/": 5,
    "/dashboard/failures/": 21 + NAV_BADGE,
    "/dashboard/failures/?from={since}&sort=frequent": 13 + NAV_BADGE,
    "/dashboard/failures/{fingerprint}/": 15 + NAV_BADGE,
    "/dashboard/dead-letters/": 6 + NAV_BADGE,
    "/dashboard/dead-letters/?state=resolved": 6 + NAV_BADGE,
    "/dashboard/workers/": 7 + NAV_BADGE,
}


@pytest.fixture
def seeded(make_run, make_failed, make_attempt):
    for i in range(60):
        make_failed(f"card declined for order {i}", ago=60 * i, exception=f"app.Error{i % 3}")
        make_run(Status.SUCCEEDED, ago=i)
        make_run(Status.RUNNING, progress=i, progress_message=f"item {i}", worker=f"host-a:{100 + i % 4}")
        make_run(Status.QUEUED, dispatched_at=None)
    DeadLetter.objects.filter(pk__in=DeadLetter.objects.values("pk")[:30]).update(resolution="discarded")
    for n in range(3):
        WorkerNode.objects.create(id=uuid.uuid4().hex, hostname=f"host-{n}", pid=n + 1, queues=["default"],
                                  cluster_pids={"default": [100, 101, 102, 103]})
    failed = make_failed("boom 7")
    since = timezone.localtime(timezone.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    return {"failed": failed.pk, "running": make_run(Status.RUNNING).pk,
            "fingerprint": failed.attempt_set.get().fingerprint, "since": since}


@pytest.mark.parametrize(("url", "budget"), BUDGETS.items())
def test_page_stays_within_its_query_budget(operator_client, seeded, django_assert_max_num_queries, url, budget):
    with django_assert_max_num_queries(budget):
        response = operator_client.get(url.format(**seeded))
    assert response.status_code in (200, 286)


def test_budget_holds_for_htmx_fragments_too(operator_client, seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(BUDGETS["/dashboard/runs/"]):
        response = operator_client.get("/dashboard/runs/", HTTP_HX_REQUEST="true")
    assert response.content.lstrip().startswith(b'<section id="results"')


def test_warm_failures_page_reads_only_the_cache(operator_client, seeded, django_assert_max_num_queries):
    operator_client.get("/dashboard/failures/")
    # session, user, two permission lookups, one cache read, the nav's firing alerts
    with django_assert_max_num_queries(5 + NAV_BADGE):
        operator_client.get("/dashboard/failures/")


@pytest.mark.parametrize("url", ["/dashboard/panels/workers/", "/dashboard/workers/"])
def test_cluster_activity_keeps_the_budget(operator_client, seeded, django_assert_max_num_queries, monkeypatch, url):
    # A reporting cluster's activity comes from the running runs: one bounded query on the
    # panel, none more on the workers page (it has read them already).
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [
        {"queue": "default", "status": "Idle", "workers": [100, 101], "cluster_id": "c", "host": "host-a",
         "pid": 3, "sentinel": 4, "reincarnations": 0, "uptime": 1.0, "task_q_size": 0}])
    with django_assert_max_num_queries(BUDGETS[url]):
        content = operator_client.get(url).content.decode()
    assert "working" in content
