"""The reads of a slot hand-off, as hand-built statements.

A run with a concurrency key goes through admission, and the run whose outcome freed its slot
releases the next one: about ten queries between one run's end and the next run's start. As
ORM querysets they cost ~1 ms of CPU each to build (the query compiler), several times what
the database spends on them, and that sat directly in the slot's idle time (a
``concurrency_limit=2`` task of 0.1 s runs reached 76–82 % of its ideal rate). These are the
same queries, built once per shape and vendor (``models.sql.text``), like the claim itself.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from taskboard.models import HoldReason, Pause, Status, TaskRun
from taskboard.models import sql as rowsql


def _table(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _pk(pk: Any) -> Any:
    return TaskRun._meta.pk.get_db_prep_value(pk, connection)


def queued_run(pk: Any) -> TaskRun | None:
    """The run ``pk`` if it is queued, whole (``TaskRun.objects.filter(pk=, status=queued)``)."""
    sql = rowsql.text("flow-queued-run", lambda: (
        f"SELECT {rowsql.returning_columns(TaskRun)} FROM {_table(TaskRun)} "
        f"WHERE \"id\" = %s AND \"status\" = %s"))
    row = _one(sql, [_pk(pk), Status.QUEUED.value])
    return rowsql.from_row(TaskRun, row) if row else None


def pause_key(queue: str, task: str) -> str | None:
    """``queue:<name>`` or ``task:<name>`` when the run's queue or task is paused (queue first)."""
    sql = rowsql.text("flow-pause", lambda: (
        f"SELECT \"scope\", \"name\" FROM {_table(Pause)} WHERE (\"scope\" = 'queue' AND \"name\" = %s) "
        f"OR (\"scope\" = 'task' AND \"name\" = %s) ORDER BY \"scope\" LIMIT 1"))
    row = _one(sql, [queue, task])
    return f"{row[0]}:{row[1]}" if row else None


def key_count(key: str, statuses: tuple[str, ...]) -> int:
    """Runs of concurrency key ``key`` in ``statuses`` (through the ``run_concurrency`` index)."""
    sql = rowsql.text(("flow-key-count", len(statuses)), lambda: (
        f"SELECT COUNT(*) FROM {_table(TaskRun)} WHERE \"concurrency_key\" = %s "
        f"AND \"status\" IN ({', '.join(['%s'] * len(statuses))})"))
    row = _one(sql, [key, *statuses])
    return int(row[0]) if row else 0


def held_keys(limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` distinct ``(hold_reason, hold_key)`` of held runs, in that order.

    The clock asks every tick. ``DISTINCT`` read every entry of ``run_held`` (10,000 held runs
    cost ~10 ms a tick on SQLite, most of an idle cluster's CPU); this walks the index from
    one key to the next instead (a loose index scan as a recursive CTE, one seek per key, for
    each of the few hold reasons), so the cost follows the number of keys, not of held runs.
    """
    def build() -> str:
        table = f"{_table(TaskRun)} t"
        if connection.vendor == "sqlite":
            # Without ANALYZE statistics SQLite prefers run_status_list and sorts its
            # entries; the partial index run_held serves the seek and the order.
            table += " INDEXED BY run_held"
        held = f"FROM {table} WHERE t.\"status\" = 'held' AND t.\"hold_reason\" = %s"
        return (f"WITH RECURSIVE k(hkey) AS ("
                f"SELECT (SELECT t.\"hold_key\" {held} ORDER BY t.\"hold_key\" LIMIT 1) "
                f"UNION ALL SELECT (SELECT t.\"hold_key\" {held} AND t.\"hold_key\" > k.hkey "
                f"ORDER BY t.\"hold_key\" LIMIT 1) FROM k WHERE k.hkey IS NOT NULL) "
                f"SELECT hkey FROM k WHERE hkey IS NOT NULL LIMIT %s")

    sql = rowsql.text("flow-held-keys", build)
    keys: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for reason in sorted(HoldReason.values):
            if not reason or len(keys) >= limit:
                continue
            cursor.execute(sql, [reason, reason, limit - len(keys)])
            keys.extend((reason, key) for (key,) in cursor.fetchall())
    return keys
