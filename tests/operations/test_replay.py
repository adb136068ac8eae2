"""Replay once: a first replay checks for an earlier one under a lock on the run's row, so two
simultaneous replays of one run make one new run (unless the operator confirmed another)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from taskboard import operations
from taskboard.exceptions import AlreadyReplayed
from taskboard.models import DeadLetter, Resolution, TaskRun
from taskboard.operations.lookups import lock_run
from tests.factories import failed_run

pytestmark = pytest.mark.django_db


def test_a_first_replay_is_refused_once_the_run_was_replayed(operator):
    run = failed_run()
    earlier = operations.replay(run.pk, again=False, user=operator)
    with pytest.raises(AlreadyReplayed, match=f"already replayed as {str(earlier.pk)[:8]}") as refused:
        operations.replay(run.pk, again=False, user=operator)
    assert refused.value.earlier.pk == earlier.pk
    assert TaskRun.objects.filter(replay_of=run).count() == 1


def test_a_confirmed_replay_makes_another_run(operator):
    run = failed_run()
    operations.replay(run.pk, again=False, user=operator)
    operations.replay(run.pk, user=operator)  # again=True: the operator confirmed it
    assert TaskRun.objects.filter(replay_of=run).count() == 2


def test_bulk_replay_skips_runs_replayed_before():
    replayed, fresh = failed_run("a"), failed_run("b")
    operations.replay(replayed.pk)
    outcome = operations.replay_many([replayed.pk, fresh.pk])
    assert [r.replay_of_id for r in outcome.done] == [fresh.pk]
    assert outcome.skipped == [(str(replayed.pk), f"run {str(replayed.pk)[:8]} was already replayed as "
                                                  f"{str(TaskRun.objects.get(replay_of=replayed).pk)[:8]}")]


def test_a_dead_letter_resolved_after_it_was_listed_is_skipped(operator):
    run = failed_run()
    listed = DeadLetter.objects.filter(run=run)  # as a caller saw it, before another replay
    operations.replay(run.pk, user=operator)
    outcome = operations.replay_dead_letters(listed, user=operator)
    assert (outcome.done, outcome.skipped) == ([], [(str(run.pk), f"the dead letter of run {str(run.pk)[:8]} "
                                                                  "is no longer open")])
    assert TaskRun.objects.filter(replay_of=run).count() == 1


def test_a_discarded_dead_letter_is_not_replayed_by_the_dead_letter_verb():
    run = failed_run()
    listed = DeadLetter.objects.filter(run=run)
    operations.discard_dead_letters(operations.open_dead_letters())
    assert operations.replay_dead_letters(listed).done == []
    assert DeadLetter.objects.get(run=run).resolution == Resolution.DISCARDED


def test_the_dead_letter_links_the_new_run():
    run = failed_run()
    [new] = operations.replay_dead_letters(operations.open_dead_letters()).done
    letter = DeadLetter.objects.get(run=run)
    assert (letter.resolution, letter.replay_run_id) == (Resolution.REPLAYED, new.pk)


# --- the lock comes first ------------------------------------------------------------------------

def _statements(action: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def _lock(statements: list[str]) -> int:
    """Where the run's row is locked: FOR UPDATE (PostgreSQL), or SQLite's write lock taken by
    a no-op UPDATE of the run."""
    if connection.features.has_select_for_update:
        return next(i for i, sql in enumerate(statements) if sql.endswith("FOR UPDATE"))
    return next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "taskboard_taskrun"'))


def test_replay_locks_the_run_before_it_reads_anything():
    run = failed_run()
    statements = _statements(lambda: operations.replay(run.pk, again=False))
    check = next(i for i, sql in enumerate(statements) if sql.startswith("SELECT") and '"replay_of_id" =' in sql)
    insert = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "taskboard_taskrun"'))
    assert _lock(statements) == 0 < check < insert


def test_the_dead_letter_verb_locks_the_run_before_it_reads_the_letter():
    run = failed_run()
    statements = _statements(lambda: operations.replay_dead_letters(DeadLetter.objects.filter(run=run)))
    assert 'FROM "taskboard_deadletter"' in statements[0]  # the listing, outside the lock
    letter = next(i for i, sql in enumerate(statements[1:], 1) if 'FROM "taskboard_deadletter"' in sql)
    assert _lock(statements) == 1 < letter
    assert TaskRun.objects.filter(replay_of=run).count() == 1


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_lock_run_needs_a_transaction():
    run = failed_run()
    with pytest.raises(transaction.TransactionManagementError):
        lock_run(run.pk)
    with transaction.atomic():
        assert lock_run(run.pk).pk == run.pk


def test_lock_run_of_an_unknown_or_malformed_id():
    with transaction.atomic(), pytest.raises(TaskRun.DoesNotExist):
        lock_run("not-a-uuid")


# --- two replays at once (PostgreSQL: row locks are observable) ----------------------------------

def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return bool(cursor.fetchone()[0])


def _first_replay(run: TaskRun) -> bool:
    """A first replay from a run's page; False when refused."""
    try:
        operations.replay(run.pk, again=False)
    except AlreadyReplayed:
        return False
    return True


def _dead_letter_replay(run: TaskRun) -> bool:
    """A dead letter replay (as listed before the other replay); False when skipped."""
    return bool(operations.replay_dead_letters(DeadLetter.objects.filter(run=run)).done)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_replay", [_first_replay, _dead_letter_replay])
def test_two_simultaneous_first_replays_make_one_run(second_replay: Callable[[TaskRun], bool]):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers (see the lock order tests)")
    run = failed_run()
    first_done, release = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = operations.replay(run.pk, again=False)
                first_done.set()
                release.wait(timeout=60)  # hold the lock until the second replay waits on it
        finally:
            connection.close()

    def second() -> None:
        try:
            outcomes["second"] = second_replay(run)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_done.wait(timeout=60)
    threads[1].start()
    waited = False
    for _ in range(6000):  # until the second replay waits for the first one's lock (or ends)
        waited = _waiting_for_a_lock()
        if waited or not threads[1].is_alive():
            break
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert (waited, outcomes.get("second")) == (True, False)
    assert list(TaskRun.objects.filter(replay_of=run).values_list("pk", flat=True)) == [outcomes["first"].pk]
    assert DeadLetter.objects.get(run=run).replay_run_id == outcomes["first"].pk


def test_a_replay_keeps_the_runs_priority() -> None:
    from taskboard import operations
    from tests.factories import failed_run

    run = failed_run()
    type(run).objects.filter(pk=run.pk).update(priority=7)
    assert operations.replay(run.pk).priority == 7
