"""The hot path's statements on PostgreSQL as prepared statements, in one pipeline.

Django's PostgreSQL cursors bind parameters on the client and never prepare: every claim and
outcome was parsed and planned again. Planning the claim cost about as much server time as
executing it (0.5 ms each, ``EXPLAIN ANALYZE`` on a 5,000-run queue), and a worker sends one
of each per run. Here the few statement shapes of the hot path are prepared once per
connection (psycopg's server-side binding, ``prepare=True``) and sent together in pipeline
mode: one network round trip, one Sync.

Atomicity is the same as the simple-query batch it replaces: in the extended protocol
everything before a Sync runs as one implicit transaction (or inside the caller's
``atomic()`` block), and an error rolls all of it back. Only this module's cursors prepare:
the connection's automatic threshold is set out of reach, and Django's own cursors bind on
the client and never prepare.

Connection poolers in transaction mode that do not track protocol-level prepared statements
(PgBouncer before 1.21) break this: ``TASKBOARD["PG_PREPARED_STATEMENTS"] = False`` turns it
off and the batch goes as one simple query again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection

# Automatic preparation (psycopg's prepare_threshold) stays out of reach: only ``run`` asks
# for it, per statement. psycopg keeps at most ``prepared_max`` (100) statements per
# connection and deallocates the oldest beyond that; the hot path has fewer than 20 shapes.
_MANUAL_ONLY = 2**31 - 1


def prepare_on_request(pg: Any) -> None:
    """Let ``pg`` (a psycopg connection) prepare the statements executed with
    ``prepare=True``, and only those (Django's own cursors never ask)."""
    if pg.prepare_threshold is None or pg.prepare_threshold < _MANUAL_ONLY:
        pg.prepare_threshold = _MANUAL_ONLY


def returned_rows(cursor: Any) -> bool:
    """Whether ``cursor``'s current result has rows to fetch: ``cursor.description is not
    None`` without building its ``Column`` objects (psycopg makes a list of them on every
    access: a claim returns the run's 42 columns, and that list cost the worker more CPU than
    reading the row)."""
    import psycopg

    res = cursor.pgresult
    return bool(res is not None and (res.nfields or res.status == psycopg.pq.ExecStatus.TUPLES_OK))


def run(statements: Sequence[tuple[str, list[Any]]]) -> list[tuple[int, list[tuple[Any, ...]]]]:
    """Execute ``statements`` in one pipeline; ``(rowcount, rows)`` of each, in order."""
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors:
        pg = connection.connection
        prepare_on_request(pg)
        cursors = [psycopg.Cursor(pg) for _ in statements]
        if len(statements) == 1:
            # One statement is one round trip and atomic by itself: pipeline mode would only
            # add its own work (~0.04 ms of the worker's CPU per call: a claim with no
            # outcome riding on it, an outcome committed at once).
            cursors[0].execute(statements[0][0], statements[0][1], prepare=True)
        else:
            with pg.pipeline():
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params, prepare=True)
        results = []
        for cursor in cursors:
            rows = cursor.fetchall() if returned_rows(cursor) else []
            results.append((cursor.rowcount, rows))
            cursor.close()
    if connection.queries_logged:
        # Query counting (tests, DEBUG) sees these like any other statement.
        duration = time.monotonic() - started
        for sql, params in statements:
            connection.queries_log.append({"sql": f"{sql} -- params {params!r}",
                                           "time": f"{duration / len(statements):.3f}"})
    return results
