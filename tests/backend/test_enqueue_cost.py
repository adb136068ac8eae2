"""What an enqueue costs in database statements: one INSERT per run (and, with the ORM broker,
one for its message), no transaction around it; a bulk enqueue a fixed number per chunk."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taskboard.bulk import enqueue_many
from taskboard.transport import cluster, push
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split(None, 2)[0].upper() + " " + query["sql"].split(None, 3)[2].strip('"')
            for query in queries.captured_queries]


def test_a_single_enqueue_is_one_insert_and_its_push() -> None:
    push.broker_for("default").purge_queue()
    sample_tasks.add.enqueue(1, 2)  # warm: the task's hooks and policy checked once
    with CaptureQueriesContext(connection) as queries:
        sample_tasks.add.enqueue(1, 2)
    expected = ["INSERT taskboard_taskrun"]
    if cluster.broker_info() == "orm":
        expected.append("INSERT django_q_ormq")
    assert statements(queries) == expected  # no BEGIN/COMMIT, no SAVEPOINT, no read
    assert cluster.queue_depth("default") == 2


def test_enqueue_many_statements_do_not_grow_with_the_items() -> None:
    push.broker_for("default").purge_queue()
    with CaptureQueriesContext(connection) as few:
        enqueue_many(sample_tasks.add, [{"args": [1, 2]}] * 10, batch={"name": "few"})
    with CaptureQueriesContext(connection) as many:
        enqueue_many(sample_tasks.add, [{"args": [1, 2]}] * 400, batch={"name": "many"})
    assert len(many) == len(few) <= 6  # BEGIN, the batch row, the runs, COMMIT, the push
    assert cluster.queue_depth("default") == 410
