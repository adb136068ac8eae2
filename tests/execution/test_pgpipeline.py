"""PostgreSQL: the hot path's statements go prepared, in one pipeline (models.pgpipeline)."""

import re
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from taskboard.models import Outcome, Status, TaskAttempt, TaskRun
from taskboard.models import sql as rowsql
from taskboard.models.run_queries import pause_table
from tests import sample_tasks

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's"),
]


def _claim_and_succeed(run_id: str) -> TaskRun:
    run, _ = TaskRun.objects.claim_with(run_id, "w", 15.0)
    assert run is not None
    attempt = TaskAttempt(run=run, task=run.task, number=run.attempts, outcome=Outcome.SUCCEEDED,
                          started_at=run.claimed_at or timezone.now(), finished_at=timezone.now(), worker="w")
    assert run.commit_success(attempt, 7, run.success_statements(attempt, 7))[-1] == 1
    return run


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_an_enqueue_a_claim_and_its_outcome_are_prepared_once_per_connection_and_reused():
    ids = [sample_tasks.add.enqueue(1, 2).id for _ in range(3)]
    for run_id in ids:
        _claim_and_succeed(run_id)
    statements = _prepared_statements()
    assert any(s.startswith('INSERT INTO "taskboard_taskrun"') for s in statements)
    assert any(s.startswith('UPDATE "taskboard_taskrun"') for s in statements)
    assert any(s.startswith("WITH done AS") for s in statements)
    assert len(statements) == 3, "three runs reuse the same three prepared statements"
    assert TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED, result=7).count() == 3
    assert TaskAttempt.objects.filter(run_id__in=ids, outcome=Outcome.SUCCEEDED).count() == 3


def test_turned_off_nothing_is_prepared():
    with override_settings(TASKBOARD={"PG_PREPARED_STATEMENTS": False}):
        connection.close()
        _claim_and_succeed(sample_tasks.add.enqueue(1, 2).id)
        assert _prepared_statements() == []


def test_the_statements_of_one_pipeline_commit_together_or_not_at_all():
    run_id = sample_tasks.add.enqueue(1, 2).id
    claim = rowsql.update_statement(TaskRun, run_id, {"worker": "first"}, {"status": Status.QUEUED})
    # The second statement fails (a duplicate primary key): the first must not stay applied.
    table = TaskRun._meta.db_table
    duplicate = (f"INSERT INTO {table} SELECT * FROM {table} WHERE id = %s", [uuid.UUID(run_id)])
    with pytest.raises(IntegrityError):
        rowsql.run([claim, duplicate])
    assert TaskRun.objects.get(pk=run_id).worker == ""
    # The connection is usable afterwards, and the prepared claim still works.
    assert _claim_and_succeed(run_id).worker == "w"


def test_a_single_statement_goes_without_a_pipeline_and_fails_alone(monkeypatch: pytest.MonkeyPatch):
    import psycopg

    entered: list[int] = []
    real = psycopg.Connection.pipeline

    def counting(self: psycopg.Connection) -> Any:
        entered.append(1)
        return real(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", counting)
    run_id = sample_tasks.add.enqueue(1, 2).id
    table = TaskRun._meta.db_table
    duplicate = (f"INSERT INTO {table} SELECT * FROM {table} WHERE id = %s", [uuid.UUID(run_id)])
    with pytest.raises(IntegrityError):
        rowsql.run([duplicate])
    assert TaskRun.objects.filter(pk=run_id).count() == 1
    # The connection is usable afterwards; one statement alone, then two in one pipeline.
    ((count, rows),) = rowsql.run([rowsql.update_statement(TaskRun, run_id, {"worker": "alone"},
                                                           {"status": Status.QUEUED})])
    assert (count, rows, entered) == (1, [], [])
    assert TaskRun.objects.get(pk=run_id).worker == "alone"
    assert _claim_and_succeed(run_id).worker == "w"  # a claim alone, an outcome: one statement each
    assert entered == []
    two = [rowsql.update_statement(TaskRun, run_id, {"progress_message": text}, {}) for text in ("a", "b")]
    assert [count for count, _ in rowsql.run(two)] == [1, 1] and entered == [1]


def test_statements_are_counted_like_any_other_query():
    run_id = sample_tasks.add.enqueue(1, 2).id
    with CaptureQueriesContext(connection) as queries:
        TaskRun.objects.claim_with(run_id, "w", 15.0)
    assert any(q["sql"].startswith('UPDATE "taskboard_taskrun"') for q in queries.captured_queries)


def test_the_claims_generic_plan_finds_the_run_by_primary_key_on_a_table_without_statistics():
    """A generic plan made before the table has statistics must not look the run up through an
    index on status (its cost grows with every run of that status): see ``sql.guard``."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TaskRun._meta.db_table} CASCADE")
    sql = rowsql.plain_claim_sql(TaskRun, pause_table(), 0, jump=False)
    counter = iter(range(1, 100))
    numbered = re.sub("%s", lambda _: f"${next(counter)}", sql)
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"PREPARE probe AS {numbered}")
            cursor.execute("EXPLAIN EXECUTE probe('running', now(), now(), now(), now(), 'w', "
                           "'00000000-0000-0000-0000-000000000000', 'queued')")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            # A fresh connection for what follows: psycopg's own cache of prepared statements
            # is not told about a DEALLOCATE sent through Django's cursor.
            connection.close()
    assert "taskboard_taskrun_pkey" in plan, plan
    assert "run_status_list" not in plan, plan
