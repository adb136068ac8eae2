"""``notify.reads.fetch``: several reads in one round trip on PostgreSQL, each row as the ORM
gives it; ``Fixed`` reads are built and compiled once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taskboard.models import DeadLetter, Status, TaskRun, WorkerNode
from taskboard.notify import reads
from tests.factories import make_failed, make_run, make_worker

pytestmark = pytest.mark.django_db


def sample_reads() -> dict[str, reads.Read]:
    return {
        "runs": TaskRun.objects.filter(status=Status.QUEUED).values_list("id", "enqueued_at", "kwargs"),
        "workers": WorkerNode.objects.alive(timezone.now()).values_list("queues"),  # JSON
        "letters": DeadLetter.objects.order_by().values_list("task").annotate(n=Count("*")),
        "none": TaskRun.objects.filter(pk__in=[]).values_list("id"),  # matches nothing: not sent
    }


def test_rows_are_the_orms_and_travel_together_on_postgresql():
    make_run(Status.QUEUED, ago=60, kwargs={"value": 7})
    make_worker()
    make_failed("declined")
    expected = {name: list(qs) for name, qs in sample_reads().items()}
    with CaptureQueriesContext(connection) as queries:
        found = reads.fetch(sample_reads())
    assert found == expected
    assert found["workers"] == [(["default"],)] and found["runs"][0][2] == {"value": 7}
    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)


def test_plain_rows_skip_the_converters_and_hold_the_same_values():
    for i in range(3):
        make_failed(f"declined {i}", exception=f"app.Error{i}")
    qs = DeadLetter.objects.order_by("fingerprint").values_list("task", "fingerprint", "run__attempts")
    assert reads.fetch({"plain": qs}, plain={"plain"})["plain"] == [tuple(row) for row in qs]


def test_a_fixed_read_is_built_once_and_reads_the_rows_of_now():
    built = []

    def queued():
        built.append(1)
        return TaskRun.objects.filter(status=Status.QUEUED).order_by("enqueued_at").values_list("id")

    fixed = reads.Fixed(queued)
    first = make_run(Status.QUEUED, ago=60)
    assert reads.fetch({"q": fixed}) == {"q": [(first.pk,)]}
    second = make_run(Status.QUEUED, ago=30)
    assert reads.fetch({"q": fixed, "other": TaskRun.objects.none().values_list("id")}) == {
        "q": [(first.pk,), (second.pk,)], "other": []}
    assert len(built) == 1


def test_nothing_to_read_reads_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert reads.fetch({}) == {}
        assert reads.fetch({"none": TaskRun.objects.filter(pk__in=[]).values_list("id")}) == {"none": []}


def test_datetimes_come_back_aware():
    run = make_run(Status.QUEUED, enqueued_at=timezone.now() - timedelta(minutes=3))
    [(enqueued,)] = reads.fetch({"r": TaskRun.objects.filter(pk=run.pk).values_list("enqueued_at")})["r"]
    assert enqueued == run.enqueued_at and enqueued.tzinfo is not None
