"""taskboard's Redis broker against a real Redis: several messages per dequeue, in order."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from django_q.conf import Conf

from taskboard.transport.broker import RedisBroker

# A database of its own (CI's PostgreSQL run uses 15, the benchmarks 7-14).
URL = os.environ.get("TASKBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisBroker]:
    monkeypatch.setattr(Conf, "REDIS", URL)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    broker = RedisBroker(list_key="broker-test")
    try:
        broker.connection.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {URL}")
    broker.delete_queue()
    yield broker
    broker.delete_queue()


def test_a_dequeue_takes_up_to_bulk_waiting_messages_in_order(broker: RedisBroker,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "BULK", 10)
    for i in range(23):
        broker.enqueue(f"m{i}")
    taken = []
    while (batch := broker.dequeue()) is not None:
        taken.append([message.decode() for _, message in batch])
        if len(taken) == 3:
            break
    assert [len(batch) for batch in taken] == [10, 10, 3]
    assert [m for batch in taken for m in batch] == [f"m{i}" for i in range(23)]
    assert broker.queue_size() == 0


def test_an_empty_queue_answers_nothing_after_waiting(broker: RedisBroker) -> None:
    assert broker.dequeue() is None


def test_without_blmpop_it_takes_one_message_per_dequeue(broker: RedisBroker,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "BULK", 10)
    monkeypatch.setattr(broker, "_multi_pop", False)  # as on a Redis before 7.0
    for i in range(3):
        broker.enqueue(f"m{i}")
    assert [[m.decode() for _, m in broker.dequeue() or []] for _ in range(3)] == [["m0"], ["m1"], ["m2"]]


def test_the_server_is_asked_once_whether_it_has_blmpop(broker: RedisBroker) -> None:
    version = broker.connection.info("server")["redis_version"]
    expected = tuple(int(part) for part in version.split(".")[:2]) >= (7, 0)
    assert broker._has_multi_pop() is expected
    assert broker._multi_pop is expected
