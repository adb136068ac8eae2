"""``operations.enqueue``'s plain case (no idempotency key, no rejecting limit): validated before
anything is locked or written, then the run, its message where the broker is a table of the same
database (the ORM broker), its audit event and the event's run link in one transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.tasks.exceptions import InvalidTask
from django.test.utils import CaptureQueriesContext

from taskboard import operations
from taskboard.exceptions import InvalidTaskArguments
from taskboard.models import AuditEvent, AuditRun, TaskRun, sqlitelock
from taskboard.operations import audit
from taskboard.transport import cluster, push
from tests.factories import NOOP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    push.broker_for("default").purge_queue()
    yield
    push.broker_for("default").purge_queue()


def counts() -> tuple[int, int, int, int]:
    return (TaskRun.objects.count(), AuditEvent.objects.count(), AuditRun.objects.count(),
            cluster.queue_depth("default"))


def test_the_run_its_message_its_event_and_the_link(operator: User) -> None:
    run, created = operations.enqueue(NOOP, user=operator)
    assert created
    stored = TaskRun.objects.get(pk=run.pk)
    # The instance returned (built without a read) is the row as stored.
    for field in TaskRun._meta.concrete_fields:
        assert getattr(run, field.attname) == getattr(stored, field.attname), field.attname
    event = AuditEvent.objects.get()
    assert (event.verb, event.actor, event.targets, event.count, event.filter, event.reason) == (
        "run.enqueue", "operator", [str(run.pk)], 1, None, "")
    assert list(AuditRun.objects.values_list("event_id", "run_id")) == [(event.pk, run.pk)]
    assert cluster.queue_depth("default") == 1


def test_instances_share_no_mutable_value(operator: User) -> None:
    first, _ = operations.enqueue(NOOP, user=operator)
    first.backoff["base"] = -1
    first.kwargs["changed"] = True
    second, _ = operations.enqueue(NOOP, user=operator)
    assert second.backoff == TaskRun.objects.get(pk=second.pk).backoff and second.kwargs == {}


def test_one_transaction_of_inserts(operator: User) -> None:
    operations.enqueue(NOOP, user=operator)  # warm: the task's plan
    with CaptureQueriesContext(connection) as queries:
        operations.enqueue(NOOP, user=operator)
    verbs = [q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # One statement (the run and the event as data-modifying CTEs): atomic by itself, one
        # round trip, no BEGIN/COMMIT.
        assert verbs == ["WITH"]
    else:
        assert [v for v in verbs if v not in ("BEGIN", "COMMIT")] == ["INSERT"] * 4  # run, message, event, link
        assert verbs.count("BEGIN") <= 1


def failing_after(real: Callable[..., Any]) -> Callable[..., Any]:
    def statements_then_fail(*args: Any, **kwargs: Any) -> Any:
        # The event's statements, then one that fails before the transaction commits.
        return [*real(*args, **kwargs), ("INSERT INTO no_such_table VALUES (%s)", [1])]
    return statements_then_fail


def test_a_failure_after_the_event_leaves_no_run_no_event_no_message(operator: User,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    operations.enqueue(NOOP, user=operator)
    before = counts()
    monkeypatch.setattr(audit, "run_statements", failing_after(audit.run_statements))
    with pytest.raises(DatabaseError):
        operations.enqueue(NOOP, user=operator)
    assert counts() == before
    monkeypatch.undo()
    operations.enqueue(NOOP, user=operator)  # the connection is usable: no transaction left open
    assert counts()[0] == before[0] + 1


def test_a_failure_inside_the_callers_transaction_leaves_that_transaction_usable(
        operator: User, monkeypatch: pytest.MonkeyPatch) -> None:
    before = counts()
    monkeypatch.setattr(audit, "run_statements", failing_after(audit.run_statements))
    with transaction.atomic():
        with pytest.raises(DatabaseError):
            operations.enqueue(NOOP, user=operator)
        assert TaskRun.objects.count() == before[0]  # a savepoint: the caller goes on
    assert counts() == before


def test_invalid_arguments_take_no_lock_and_write_nothing(operator: User, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[object] = []
    real = sqlitelock.write_turn

    def counting(conn: Any) -> AbstractContextManager[None]:
        taken.append(conn)
        return real(conn)

    monkeypatch.setattr(sqlitelock, "write_turn", counting)
    before = counts()
    with pytest.raises(InvalidTaskArguments):
        operations.enqueue(NOOP, kwargs={"unexpected": 1}, user=operator)
    with pytest.raises(InvalidTask):
        operations.enqueue(NOOP, queue="no-such-queue", user=operator)
    assert taken == [] and counts() == before
    operations.enqueue(NOOP, user=operator)
    assert len(taken) == (1 if connection.vendor == "sqlite" else 0) and counts()[0] == before[0] + 1


def test_rolled_back_with_the_callers_transaction(operator: User) -> None:
    before = counts()
    with pytest.raises(RuntimeError), transaction.atomic():
        operations.enqueue(NOOP, user=operator)
        raise RuntimeError("the caller's transaction fails")
    assert counts() == before
    with transaction.atomic():
        run, _ = operations.enqueue(NOOP, user=operator)
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    assert AuditRun.objects.get().run_id == run.pk


# --- SQLite: group commit between the threads of a process ------------------------------------

ORMQ = "INSERT INTO django_q_ormq (key, payload, lock) VALUES (%s, %s, %s)"


def message(key: str) -> tuple[str, list[Any]]:
    return ORMQ, [key, "payload", "2000-01-01 00:00:00"]


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_waiting_threads_commit_together_and_a_failing_list_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connections
    from django_q.models import OrmQ

    from taskboard.backend import together

    transactions: list[int] = []
    real = together._transaction

    def counting(db: Any, statements: Any) -> None:
        transactions.append(len(statements))
        real(db, statements)

    monkeypatch.setattr(together, "_transaction", counting)
    lists = {f"t{i}": [message(f"t{i}-a"), message(f"t{i}-b")] for i in range(5)}
    lists["bad"] = [message("bad-a"), ("INSERT INTO no_such_table VALUES (%s)", [1])]
    errors: dict[str, BaseException] = {}

    def write(name: str) -> None:
        try:
            together.run_together(lists[name])
        except BaseException as exc:
            errors[name] = exc
        finally:
            connections.close_all()

    group = together._group_of(connection)
    threads = {name: threading.Thread(target=write, args=(name,)) for name in lists}
    # Hold the write lock: the first thread to write waits for it with its own list, and every
    # other one queues its list behind it.
    with sqlitelock.write_turn(connection):
        first, *rest = threads.values()
        first.start()
        while not group.writing:
            time.sleep(0.001)
        for thread in rest:
            thread.start()
        while len(group.waiting) < len(rest):
            time.sleep(0.001)
    for thread in threads.values():
        thread.join()
    assert set(errors) == {"bad"} and isinstance(errors["bad"], DatabaseError)
    keys = set(OrmQ.objects.values_list("key", flat=True))
    assert keys == {f"{name}-{part}" for name in lists if name != "bad" for part in "ab"}
    # The first list alone, then the five others together (failing), then each on its own.
    assert transactions[:2] == [2, 10] and sorted(transactions[2:]) == [2] * 5
