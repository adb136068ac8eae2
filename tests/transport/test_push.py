"""Pushing run ids: what the cluster reads back, and one round trip per batch."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.signing import SignedPackage

from taskboard.transport import cluster, push

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_is_what_django_q2_unpacks_and_names_the_run() -> None:
    run_id = str(uuid.uuid4())
    message = SignedPackage.loads(push._package(run_id, "default"))
    assert (message["func"], message["args"], message["cluster"]) == (push.EXECUTE, (run_id,), "default")


def test_push_many_is_one_round_trip_per_batch() -> None:
    push.broker_for("default").purge_queue()
    ids = [uuid.uuid4() for _ in range(1200)]
    with CaptureQueriesContext(connection) as queries:
        push.push_many(ids, "default")
    assert cluster.queue_depth("default") == 1200
    if cluster.broker_info() == "orm":
        assert len(queries) == 2  # ORM_ROWS messages per INSERT
    else:
        assert len(queries) == 0  # one RPUSH on Redis, no database


def test_a_message_is_signed_exactly_as_django_q2_signs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from django.utils import timezone

    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)  # the signature's timestamp
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))  # the message id
    now = timezone.now()
    packed = push._package("run-1", "default", now)
    message = SignedPackage.loads(packed)
    assert packed == SignedPackage.dumps(message)
