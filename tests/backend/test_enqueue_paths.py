"""The enqueue's fast paths write what the ORM would and keep its guarantees: a single run's
INSERT through a task's prepared statement (``rows.RunInsert``), a bulk call's rows (``COPY``
on PostgreSQL, ``executemany`` on SQLite), their broker messages, argument validation
without ``inspect``'s bind, and the per-task plan (``plans``)."""

from __future__ import annotations

import inspect
import itertools
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.dispatch import receiver
from django.tasks import task_backends
from django.tasks.signals import task_enqueued
from django.test import override_settings
from django.utils import timezone
from django_q.signing import SignedPackage

from taskboard.backend.arguments import _simple_bind
from taskboard.backend.backend import TaskboardBackend
from taskboard.backend.rows import RunInsert
from taskboard.bulk import enqueue_many
from taskboard.models import TaskRun
from taskboard.transport import cluster, push
from tests import callback_tasks, sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)

# Columns set per run, not per task or call.
PER_RUN = {"id", "enqueued_at", "dispatched_at"}


@pytest.fixture(autouse=True)
def empty_broker() -> None:
    push.broker_for("default").purge_queue()


def columns(run_id: Any) -> dict[str, Any]:
    row = TaskRun.objects.filter(pk=run_id).values().get()
    return {name: value for name, value in row.items() if name not in PER_RUN}


# Arguments whose JSON text needs escaping in COPY's text format (backslash, tab, newline),
# non-ASCII text and nesting.
AWKWARD = ["back\\slash", "tab\there", "line\nbreak", "café ☕", {"nested": [1, 2.5, None, True]}]


@pytest.mark.parametrize(("task", "args", "kwargs"), [
    (sample_tasks.echo, [AWKWARD], {"label": "x'y\"z%s"}),
    (sample_tasks.one_per_account, [7], {"path": "p"}),  # flow-control columns from a key template
    (sample_tasks.two_per_hour, ["api\\1"], {}),
    (callback_tasks.hooked, [], {"fail": False}),  # the hooks column
])
def test_a_bulk_row_and_a_single_row_are_the_rows_the_orm_writes(task: Any, args: list[Any],
                                                                  kwargs: dict[str, Any]) -> None:
    single = task.enqueue(*args, **kwargs)
    bulk = enqueue_many(task, [{"args": args, "kwargs": kwargs}] * 3)
    backend = task_backends["default"]
    assert isinstance(backend, TaskboardBackend)
    orm, _ = backend.create_run(task, args, kwargs)  # and what create_run returns is the row
    expected = columns(single.id)
    assert expected["args"] == args and expected["kwargs"] == kwargs
    for run_id in (*bulk.ids, orm.pk):
        assert columns(run_id) == expected
    stored = TaskRun.objects.get(pk=orm.pk)
    assert {f.attname: getattr(orm, f.attname) for f in TaskRun._meta.concrete_fields} == \
           {f.attname: getattr(stored, f.attname) for f in TaskRun._meta.concrete_fields}


def test_every_bulk_message_is_what_django_q2_reads_and_names_its_run() -> None:
    done = enqueue_many(sample_tasks.add, [{"args": [n, n]} for n in range(push.TEMPLATE_MIN * 3)])
    broker = push.broker_for("default")
    messages = []
    while (taken := broker.dequeue()) is not None:
        messages += [SignedPackage.loads(package) for _, package in taken]
        if len(messages) >= len(done):
            break
    assert sorted(m["args"][0] for m in messages) == sorted(done.ids)
    assert {(m["func"], m["cluster"], m["name"] == f"run-{m['args'][0]}") for m in messages} == \
           {(push.EXECUTE, "default", True)}
    assert len({m["id"] for m in messages}) == len(messages)


def test_a_new_run_id_is_a_random_uuid() -> None:
    done = enqueue_many(sample_tasks.add, [{"args": [1, 2]}] * 50)
    parsed = [uuid.UUID(run_id) for run_id in done.ids]
    assert [str(u) for u in parsed] == done.ids and len(set(parsed)) == 50
    assert {(u.version, u.variant) for u in parsed} == {(4, uuid.RFC_4122)}


def test_the_direct_insert_raises_djangos_integrity_error() -> None:
    # The INSERT bypasses Django's cursor when nothing logs statements; a duplicate must still
    # be django.db's IntegrityError (an idempotency race is caught as one).
    run = sample_tasks.add.using(priority=3).enqueue(1, 2)
    statement = RunInsert({"task": "tests.sample_tasks.add", "enqueued_at": timezone.now()})
    assert not connection.queries_logged
    with pytest.raises(IntegrityError):
        statement.insert({"id": uuid.UUID(run.id), "args": [1, 2]}, {})


def test_a_run_enqueued_in_a_rolled_back_block_leaves_nothing() -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        sample_tasks.add.enqueue(1, 2)
        enqueue_many(sample_tasks.add, [{"args": [1, 2]}] * 20)
        raise RuntimeError("rollback")
    assert TaskRun.objects.count() == 0
    assert cluster.queue_depth("default") == 0


def test_a_copy_made_with_using_gets_its_own_columns() -> None:
    plain = sample_tasks.add.enqueue(1, 2)
    urgent = sample_tasks.add.using(priority=50, queue_name="default").enqueue(1, 2)
    rows = {row["id"]: row for row in TaskRun.objects.values("id", "priority")}
    assert (rows[uuid.UUID(plain.id)]["priority"], rows[uuid.UUID(urgent.id)]["priority"]) == (0, 50)


def test_changed_backend_options_apply_to_the_next_enqueue(settings: Any) -> None:
    before = TaskRun.objects.get(pk=sample_tasks.add.enqueue(1, 2).id)
    tasks = {"default": {**settings.TASKS["default"], "OPTIONS": {"max_attempts": 9}}}
    with override_settings(TASKS=tasks):  # Django builds a new backend, with no plans yet
        after = TaskRun.objects.get(pk=sample_tasks.add.enqueue(1, 2).id)
    assert (before.max_attempts, after.max_attempts) == (3, 9)


def test_enqueue_many_sends_task_enqueued_per_run_to_a_receiver() -> None:
    seen: list[str] = []

    @receiver(task_enqueued)
    def note(sender: Any, task_result: Any, **kwargs: Any) -> None:
        seen.append(task_result.id)

    try:
        done = enqueue_many(sample_tasks.add, [{"args": [1, n]} for n in range(5)])
    finally:
        task_enqueued.disconnect(note)
    assert seen == done.ids


def f0() -> None: ...
def f1(a: int) -> None: ...
def f2(a: int, b: int = 1) -> None: ...
def f3(a: int, b: int, c: int = 2, d: int = 3) -> None: ...
def f4(*args: int) -> None: ...
def f5(a: int, *, b: int) -> None: ...


@pytest.mark.parametrize("func", [f0, f1, f2, f3, f4, f5])
def test_the_quick_bind_agrees_with_inspect(func: Any) -> None:
    # Either it binds exactly as inspect does, or it leaves the call to inspect (and its error).
    names = [*inspect.signature(func).parameters, "unknown"]
    for positional, keywords, leading in itertools.product(
            range(5), itertools.chain.from_iterable(itertools.combinations(names, k) for k in range(4)),
            ([], [None])):
        args, kwargs = list(range(positional)), {name: name for name in keywords}
        try:
            expected = dict(inspect.signature(func).bind(*leading, *args, **kwargs).arguments)
        except TypeError:
            expected = None
        quick = _simple_bind(func, leading, args, kwargs)
        assert quick is None or list(quick.items()) == list((expected or {}).items())
        if expected is not None and func not in (f4, f5):
            assert quick is not None


def test_a_push_survives_its_redis_connection_being_dropped() -> None:
    if cluster.broker_info() != "redis":
        pytest.skip("the Redis broker's own connection")
    import os

    sample_tasks.add.enqueue(1, 2)
    push.settle_pushes()  # its reply read: the connection answers the next command
    own = push._local.redis[(os.getpid(), "default")].connection
    own.send_command("CLIENT", "ID")
    push.broker_for("default").connection.execute_command("CLIENT", "KILL", "ID", own.read_response())
    # The dead connection: this push fails at once, or is found lost when the next one reads
    # its reply; either way it is sent again through the client.
    sample_tasks.add.enqueue(1, 2)
    sample_tasks.add.enqueue(1, 2)
    assert cluster.queue_depth("default") == 3
