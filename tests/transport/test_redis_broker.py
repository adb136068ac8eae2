"""taskboard's Redis broker against a real Redis: several messages per dequeue, in order; and
pushes whose replies are read lazily."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from django_q.conf import Conf

from taskboard.transport import push
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


def test_a_push_is_sent_at_once_and_its_reply_read_by_the_next(broker: RedisBroker) -> None:
    push._rpush(broker, "broker-test", ["a"])
    line = push._local.redis[(os.getpid(), "broker-test")]
    assert line.unread == ["a"]  # sent, reply not read yet
    push._rpush(broker, "broker-test", ["b", "c"])
    assert line.unread == ["b", "c"]
    assert push._settle(line) == [] and line.unread == []
    assert broker.connection.lrange(broker.list_key, 0, -1) == [b"a", b"b", b"c"]


def test_a_push_the_server_refused_is_sent_again_with_the_next(broker: RedisBroker) -> None:
    broker.connection.set(broker.list_key, "not a list")  # RPUSH answers WRONGTYPE
    push._rpush(broker, "broker-test", ["a"])  # the error waits in its unread reply
    broker.connection.delete(broker.list_key)
    push._rpush(broker, "broker-test", ["b"])  # reads it: "a" again, with "b", through the client
    assert push._local.redis[(os.getpid(), "broker-test")].unread == []
    assert broker.connection.lrange(broker.list_key, 0, -1) == [b"a", b"b"]


def test_a_push_lost_with_its_connection_is_sent_again(broker: RedisBroker) -> None:
    push._rpush(broker, "broker-test", ["a"])
    line = push._local.redis[(os.getpid(), "broker-test")]
    push._settle(line)
    line.connection.send_command("CLIENT", "ID")
    broker.connection.execute_command("CLIENT", "KILL", "ID", line.connection.read_response())
    push._rpush(broker, "broker-test", ["b"])  # into the killed connection, or at once again
    push._rpush(broker, "broker-test", ["c"])
    assert push._settle(line) == []
    assert broker.connection.lrange(broker.list_key, 0, -1) == [b"a", b"b", b"c"]
