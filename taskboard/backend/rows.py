"""A new run's row, written without a model instance or the query compiler.

``RunInsert`` is the INSERT of one run of a task, its task-wide columns adapted once (kept per
task by ``backend.plans``); ``execute`` runs it with the least overhead Django allows. The
bulk writer (``bulk_rows``) reuses its statement.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from taskboard.models import TaskRun, pgpipeline
from taskboard.models import sql as rowsql

# Statement shapes kept per RunInsert (the own columns differ with the kind of enqueue).
SHAPES_MAX = 64


class RunInsert:
    """The INSERT of one new run of a task, its task-wide columns adapted once.

    Of a run's ~45 columns a single enqueue sets a handful (id, arguments, status, times,
    correlation id, flow keys …); the rest are the task's (name, queue, policy) or constants.
    Those are adapted once here, and the constants (NULL, 0, '', false) are written into the
    statement as literals, so only the run's own columns and the task's text columns are
    parameters: psycopg adapts each parameter in Python (~2 µs each) and Django's SQLite
    wrapper rewrites each placeholder. JSON columns are passed as their text (PostgreSQL
    types an untyped literal by its column), not as ``Jsonb`` wrappers dumped at each execute.
    """

    def __init__(self, shared: dict[str, Any]) -> None:
        probe = TaskRun(**shared)
        self.vendor = connection.vendor
        self.fields = {field.attname: field for field in rowsql.insert_fields(TaskRun)}
        self.shared = {name: _prep(field, field.pre_save(probe, add=True)) for name, field in self.fields.items()}
        self._shapes: dict[tuple[str, ...], tuple[str, str, list[Any]]] = {}
        self._scalars: dict[tuple[str, type, Any], Any] = {}

    def insert(self, own: dict[str, Any], texts: dict[str, str]) -> None:
        """INSERT a run: ``own`` columns (attribute names, Python values; ``texts`` holds the
        JSON text of any of them already encoded), the task's for every other column."""
        sql, qmark, tail = self.statement(tuple(own))
        execute(sql, qmark, self.params(own, texts) + tail)

    def statement_with(self, own: dict[str, Any], texts: dict[str, Any]) -> tuple[str, list[Any]]:
        """``insert``'s statement as ``(sql with %s placeholders, params)``."""
        sql, _, tail = self.statement(tuple(own))
        return sql, self.params(own, texts) + tail

    def statement(self, names: tuple[str, ...]) -> tuple[str, str, list[Any]]:
        """The INSERT whose first parameters are the columns ``names``: its text with ``%s``
        placeholders, the same with ``?``, and the parameters that follow the run's own."""
        return self._shapes.get(names) or self._shape(names)

    def params(self, own: dict[str, Any], texts: dict[str, Any]) -> list[Any]:
        """The adapted values of ``own`` (see ``insert``; ``texts`` may also hold other values
        already adapted, e.g. a time adapted once for several columns)."""
        params: list[Any] = []
        last: Any = None
        last_prepared: Any = None
        for name, value in own.items():
            if name in texts:
                params.append(texts[name])
            elif value is last and value is not None:  # enqueued_at and dispatched_at: one datetime
                params.append(last_prepared)
            elif isinstance(value, _SCALARS):
                params.append(self.scalar(name, value))
            else:
                last, last_prepared = value, _prep(self.fields[name], value)
                params.append(last_prepared)
        return params

    def scalar(self, name: str, value: Any) -> Any:
        """``value`` of column ``name`` adapted, once per value: most own values are a few
        strings ("queued", "", a flow key) and numbers."""
        key = (name, type(value), value)
        prepared = self._scalars.get(key, _MISSING)
        if prepared is _MISSING:
            if len(self._scalars) >= PREPARED_MAX:  # unique strings must not pile up
                self._scalars.clear()
            prepared = self._scalars[key] = _prep(self.fields[name], value)
        return prepared

    def _shape(self, names: tuple[str, ...]) -> tuple[str, str, list[Any]]:
        q = connection.ops.quote_name
        columns = [q(self.fields[name].column) for name in names]  # type: ignore[arg-type]
        values = ["%s"] * len(names)
        tail = []
        for name, field in self.fields.items():
            if name in names:
                continue
            columns.append(q(field.column))  # type: ignore[arg-type]
            literal = _literal(self.shared[name], self.vendor)
            if literal is None:
                values.append("%s")
                tail.append(self.shared[name])
            else:
                values.append(literal)
        sql = f"INSERT INTO {q(TaskRun._meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(values)})"
        if len(self._shapes) >= SHAPES_MAX:
            self._shapes.clear()
        # No other % in the text: names are quoted identifiers and literals hold no %.
        shape = self._shapes[names] = (sql, sql.replace("%s", "?"), tail)
        return shape


_MISSING = object()
_SCALARS = (str, int, float, bool, type(None))
# Adapted scalar values kept per RunInsert.
PREPARED_MAX = 10_000


def _prep(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        # What the field's adapt_json_value encodes (SQLite stores this text; PostgreSQL
        # casts it), without psycopg's Jsonb wrapper.
        return json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def _literal(value: Any, vendor: str) -> str | None:
    """The SQL literal of an adapted constant worth inlining, else None (a parameter)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if vendor == "postgresql" else str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value):
        # Names, statuses, the policy's JSON: quoted as is, both databases read them alike.
        return f"'{value}'"
    return None


# Text that needs no escaping in a single-quoted literal and holds no placeholder: printable
# ASCII without quote, backslash or percent sign.
_SAFE_TEXT = re.compile(r"[ !\"#$&(-\[\]-~]*")


def execute(sql: str, qmark: str, params: list[Any]) -> None:
    """Run one statement (``sql`` with ``%s`` placeholders, ``qmark`` the same with ``?``).

    Through Django's cursor when statements are logged or wrapped (``DEBUG``,
    ``CaptureQueriesContext``, ``connection.execute_wrapper``); otherwise straight on the
    driver's cursor, with the checks and error translation Django's cursor makes. The wrapper
    cost as much as SQLite's own work on a single enqueue's INSERT (its placeholders rewritten
    by regular expression, a cursor and a wrapper per statement: 180 µs against 100 µs raw).
    Tools that instrument Django's cursor class (APM agents) do not see these statements.

    On PostgreSQL the INSERT is a prepared statement (unless ``PG_PREPARED_STATEMENTS`` is
    off), like the worker's: the server parsed and planned the ~45-column INSERT again on
    every enqueue, about a third of its CPU per enqueue.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
        return
    if db.vendor == "postgresql" and rowsql.prepared_statements():
        execute_prepared(db, sql, params)
        return
    driver_ready(db)
    with db.wrap_database_errors:
        cursor = db.connection.cursor()
        try:
            cursor.execute(qmark if db.vendor == "sqlite" else sql, params)
        finally:
            cursor.close()


def execute_prepared(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> None:
    """One statement on PostgreSQL, prepared on the server once per connection (a run's
    INSERT names ~45 columns: parsing and planning it cost more server time than executing
    it), one round trip. Django's cursors bind on the client (ClientCursor) and cannot
    prepare. Logged like Django's own statements where they are (tests, DEBUG)."""
    import psycopg

    driver_ready(db)
    started = time.monotonic()
    with db.wrap_database_errors:
        pg = db.connection
        pgpipeline.prepare_on_request(pg)
        with psycopg.Cursor(pg) as cursor:
            cursor.execute(sql, params, prepare=True)
    if db.queries_logged:
        db.queries_log.append({"sql": f"{sql} -- params {params!r}", "time": f"{time.monotonic() - started:.3f}"})


def driver_ready(db: BaseDatabaseWrapper) -> None:
    """The checks Django's cursor makes before a statement, for statements executed straight
    on the driver (here and in ``backend.together``)."""
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
