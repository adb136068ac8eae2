"""New run rows for a bulk INSERT, without a model instance or the query compiler per row.

The runs of one ``enqueue_many`` call share every column but their id, arguments and
flow-control keys. ``RunRows`` adapts the shared columns once (from one template instance,
through each field's ``get_db_prep_save``, as the ORM would) and each row's own columns per
row, then writes them with one ``COPY`` (PostgreSQL) or ``CHUNK`` rows per multi-row ``INSERT``
(SQLite). Building 1,000 ``TaskRun`` instances
and compiling ``bulk_create``'s statement cost several times the SQL itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from taskboard.models import TaskRun, priority_mix
from taskboard.models import sql as rowsql

# Rows per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
CHUNK = 500


class RunRows:
    """Rows of runs alike but for ``VARYING`` columns; ``row()`` one, ``insert()`` them all."""

    VARYING = ("id", "args", "kwargs", "concurrency_key", "concurrency_limit", "rate_key", "rate_limit",
               "breaker", "batch")

    def __init__(self, template: dict[str, Any]) -> None:
        probe = TaskRun(**template)
        priority_mix.note((probe.priority,))  # this process's claims must see it at once
        self.fields: list[models.Field[Any, Any]] = rowsql.insert_fields(TaskRun)
        self.shared = [field.get_db_prep_save(field.pre_save(probe, add=True), connection) for field in self.fields]
        self.position = {field.name: index for index, field in enumerate(self.fields)}
        self.rows: list[list[Any]] = []

    def prep(self, name: str, value: Any) -> Any:
        return self.fields[self.position[name]].get_db_prep_save(value, connection)

    def add(self, args: list[Any], kwargs: dict[str, Any], columns: dict[str, Any]) -> uuid.UUID:
        """A row with these arguments and (flow) ``columns``; its new run id."""
        run_id = uuid.uuid4()
        row = list(self.shared)
        row[self.position["id"]] = self.prep("id", run_id)
        row[self.position["args"]] = self.prep("args", args)
        row[self.position["kwargs"]] = self.prep("kwargs", kwargs)
        for name, value in columns.items():
            row[self.position[name]] = self.prep(name, value)
        self.rows.append(row)
        return run_id

    def set_shared(self, name: str, value: Any) -> None:
        """Change a column of every row (e.g. the batch, known once its row exists)."""
        prepared = self.prep(name, value)
        index = self.position[name]
        self.shared[index] = prepared
        for row in self.rows:
            row[index] = prepared

    def insert(self) -> None:
        # In primary-key order: random UUIDs inserted in order touch neighbouring index pages
        # (measured: a fifth less time for 1,000 rows on SQLite).
        position = self.position["id"]
        rows = sorted(self.rows, key=lambda row: row[position])
        chunk = len(rows) if connection.vendor == "postgresql" else CHUNK
        for start in range(0, len(rows), max(1, chunk)):
            _insert(self.fields, rows[start:start + chunk])


def _insert(fields: Sequence[models.Field[Any, Any]], rows: list[list[Any]]) -> None:
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # COPY: the rows stream to the server with no statement to build or parse (a client-
        # side-bound INSERT of 500 rows makes psycopg scan a 20,000-placeholder query).
        columns = ", ".join(q(field.column) for field in fields)  # type: ignore[arg-type]
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {q(TaskRun._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return

    def build() -> str:
        columns = ", ".join(q(field.column) for field in fields)  # type: ignore[arg-type]
        one = f"({', '.join(['%s'] * len(fields))})"
        return f"INSERT INTO {q(TaskRun._meta.db_table)} ({columns}) VALUES {', '.join([one] * len(rows))}"

    sql = rowsql.text(("insert-runs", len(fields), len(rows)), build)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


# Prepared values of immutable scalars, per field: most columns of a new run hold the same few
# values ("queued", "default", 0, "", None), and preparing each through its field costs more
# than the INSERT's own work in Python.
_prepared: dict[tuple[str, str, type, Any], Any] = {}
_SCALARS = (str, int, float, bool, type(None))
PREPARED_MAX = 10_000


def insert_one(run: TaskRun) -> None:
    """INSERT one new run (``models.sql.insert`` with memoised scalar values)."""
    priority_mix.note((run.priority,))  # this process's claims must see it at once
    fields = rowsql.insert_fields(TaskRun)
    values = []
    vendor = connection.vendor
    for field in fields:
        value = field.pre_save(run, add=True)
        if isinstance(value, _SCALARS):
            key = (vendor, field.attname, type(value), value)
            if key not in _prepared:
                if len(_prepared) >= PREPARED_MAX:  # unique strings (idempotency keys…) must not pile up
                    _prepared.clear()
                _prepared[key] = field.get_db_prep_save(value, connection)
            values.append(_prepared[key])
        else:
            values.append(field.get_db_prep_save(value, connection))
    q = connection.ops.quote_name

    def build() -> str:
        columns = ", ".join(q(field.column) for field in fields)  # type: ignore[arg-type]
        return f"INSERT INTO {q(TaskRun._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"

    with connection.cursor() as cursor:
        cursor.execute(rowsql.text(("insert-run", len(fields)), build), values)
